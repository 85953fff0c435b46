# One-line helpers so that adding a server or a test is one line in its folder.

# lab_add_server(<name> [SOURCES extra.cpp ...] [LIBS lib ...])
# Builds servers/<name>/main.cpp (+ extras) into ${bin}/<name>, linked with the shared core.
function(lab_add_server name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} main.cpp ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE lab::server_common ${ARG_LIBS})
endfunction()

# lab_add_test(<name> SOURCES a_test.cpp ... [LIBS lib ...] [LABELS l ...] [TIMEOUT s])
# A GoogleTest executable registered with CTest, one CTest test per TEST().
function(lab_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE GTest::gtest GTest::gtest_main ${ARG_LIBS})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  include(GoogleTest)
  gtest_discover_tests(${name} NO_PRETTY_VALUES
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
               ENVIRONMENT "LAB_BIN=${CMAKE_RUNTIME_OUTPUT_DIRECTORY};LAB_ROOT=${PROJECT_SOURCE_DIR}"
    DISCOVERY_TIMEOUT 60)
endfunction()
