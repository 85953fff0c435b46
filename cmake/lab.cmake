# One-line helpers so that adding a server or a test is one line in its folder.

# lab_add_server(<name> [SOURCES extra.cpp ...] [LIBS lib ...])
# Builds servers/<name>/main.cpp (+ extras) into ${bin}/<name>, linked with the shared core.
function(lab_add_server name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} main.cpp ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE lab::server_common ${ARG_LIBS})
endfunction()

# lab_add_test(<name> SOURCES a_test.cpp ... [LIBS lib ...] [LABELS l ...] [TIMEOUT s]
#              [TEST_FILTER gtest-filter] [RESOURCE_LOCK lock] [RUN_SERIAL])
# A GoogleTest executable registered with CTest, one CTest test per TEST().
# RESOURCE_LOCK: tests that measure time take the lock `timing`, so no two of them run at once
# under `ctest -j`; RUN_SERIAL: tests so heavy that nothing may run beside them.
# TEST_FILTER registers only the matching tests; lab_discover_tests registers the rest of the
# same executable with other properties.
function(lab_add_test name)
  cmake_parse_arguments(ARG "RUN_SERIAL" "TIMEOUT;TEST_FILTER;RESOURCE_LOCK" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE GTest::gtest GTest::gtest_main ${ARG_LIBS})
  set(extra)
  if(ARG_TEST_FILTER)
    list(APPEND extra TEST_FILTER ${ARG_TEST_FILTER})
  endif()
  if(ARG_RESOURCE_LOCK)
    list(APPEND extra RESOURCE_LOCK ${ARG_RESOURCE_LOCK})
  endif()
  if(ARG_RUN_SERIAL)
    list(APPEND extra RUN_SERIAL)
  endif()
  if(ARG_LABELS)
    list(APPEND extra LABELS ${ARG_LABELS})
  endif()
  if(ARG_TIMEOUT)
    list(APPEND extra TIMEOUT ${ARG_TIMEOUT})
  endif()
  lab_discover_tests(${name} ${extra})
endfunction()

# lab_discover_tests(<target> [LABELS l ...] [TIMEOUT s] [TEST_FILTER f] [RESOURCE_LOCK lock]
#                    [RUN_SERIAL])
function(lab_discover_tests target)
  cmake_parse_arguments(ARG "RUN_SERIAL" "TIMEOUT;TEST_FILTER;RESOURCE_LOCK" "LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  # One value per property: gtest_discover_tests flattens the list, so "A=1;B=2" as one
  # ENVIRONMENT value shifted every later property by one (LABELS, RESOURCE_LOCK and
  # RUN_SERIAL were silently dropped). Hence LAB_ROOT through ENVIRONMENT_MODIFICATION.
  set(properties TIMEOUT ${ARG_TIMEOUT}
      ENVIRONMENT "LAB_BIN=${CMAKE_RUNTIME_OUTPUT_DIRECTORY}"
      ENVIRONMENT_MODIFICATION "LAB_ROOT=set:${PROJECT_SOURCE_DIR}")
  if(ARG_LABELS)
    list(APPEND properties LABELS "${ARG_LABELS}")
  endif()
  if(ARG_RESOURCE_LOCK)
    # COST: ctest -j starts the costliest tests first. The tests under a lock run one at a
    # time, so they go first and the other core fills with the rest beside them; without it
    # (a fresh clone has no CTestCostData.txt) they came last in test order and ran alone.
    list(APPEND properties RESOURCE_LOCK ${ARG_RESOURCE_LOCK} COST 1000)
  endif()
  if(ARG_RUN_SERIAL)
    list(APPEND properties RUN_SERIAL TRUE)
  endif()
  set(filter)
  if(ARG_TEST_FILTER)
    set(filter TEST_FILTER ${ARG_TEST_FILTER})
  endif()
  include(GoogleTest)
  gtest_discover_tests(${target} NO_PRETTY_VALUES ${filter}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    PROPERTIES ${properties}
    DISCOVERY_TIMEOUT 60)
endfunction()
