// Every registered server (variants included) under every hostile-input check, one CTest test
// each: hostile/server.check/<server>__t<threads>__<check>. Each test starts its server afresh
// on an ephemeral port with --idle-timeout 2, runs the check with the server's process group
// sampled for threads and RSS, then stops it with SIGTERM: it must still be running, exit with
// status 0 and leave no sanitizer report. A server whose model is thread_pool (a fixed pool,
// one thread held per connection) may starve during the flood and slowloris: recorded as a
// property, not a failure (docs/service-contract.md, "Hostile input"). A reference server's
// declared expected failure (server.json "expected_failures", keyed by the hostile check's
// name) must still fail, for its declared reason. Servers that cannot run here fail unless
// their server.json says why a machine may lack them (as in conformance_test).
// The flood, slowloris and deep-pipeline checks load the machine: they hold the `hostile`
// lock, so no two run at once (harness/hostile/CMakeLists.txt).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "attacks.h"
#include "hostile.h"
#include "proc_sampler.h"
#include "process.h"
#include "registry.h"
#include "server_process.h"

namespace lab {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path lab_root() {
  if (const char* root = std::getenv("LAB_ROOT"); root && *root) return root;
  return LAB_SOURCE_ROOT;  // compiled in: test discovery runs without LAB_ROOT
}

const std::vector<server_spec>& servers() {
  static const std::vector<server_spec> all = [] {
    try {
      return expand_variants(load_registry(lab_root()));
    } catch (const std::exception&) {
      return std::vector<server_spec>{};  // the conformance suite's registry test names it
    }
  }();
  return all;
}

bool is_heavy(const std::string& check) {
  return check == "hostile_idle_flood" || check == "hostile_slowloris" ||
         check == "hostile_deep_pipeline";
}

struct test_case {
  std::string server;
  int threads = 1;
  std::string check;
};

void PrintTo(const test_case& c, std::ostream* os) {
  *os << c.server << "/t" << c.threads << "/" << c.check;
}

// Each server once, at 2 threads (the multi-threaded paths of the async models; parsing and
// accepting are the same code at 1), without its variants (+tbb changes where /compute runs,
// nothing an attack reaches): the suite stays within its CI budget (~4 min for 12 servers).
std::vector<test_case> cases(bool heavy) {
  std::vector<test_case> out;
  for (const auto& spec : servers()) {
    if (spec.name.find('+') != std::string::npos) continue;
    for (const auto& check : hostile_check_names())
      if (is_heavy(check) == heavy) out.push_back({spec.name, 2, check});
  }
  return out;
}

std::string case_name(const testing::TestParamInfo<test_case>& info) {
  std::string name = info.param.server + "__t" + std::to_string(info.param.threads) + "__" +
                     info.param.check;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

bool require_all() {
  const char* value = std::getenv("LAB_REQUIRE_ALL");
  return !(value && std::string(value) == "0");
}

// A fresh folder for one server's {tmp}, stdout and stderr; kept when the test failed.
struct scratch {
  fs::path dir;
  scratch() {
    char pattern[] = "/tmp/lab-hostile-XXXXXX";
    dir = ::mkdtemp(pattern);
  }
  ~scratch() {
    if (!testing::Test::HasFailure()) fs::remove_all(dir);
    else std::fprintf(stderr, "server output kept in %s\n", dir.c_str());
  }
};

class server : public testing::TestWithParam<test_case> {};
class heavy_server : public testing::TestWithParam<test_case> {};

void run_case(const test_case& param) {
  install_child_cleanup_handlers();
  // The server inherits this limit: a flood beyond the server's descriptors would test
  // ulimit -n, not the model.
  attack::raise_fd_limit(8192);
  const server_spec* spec = nullptr;
  for (const auto& s : servers())
    if (s.name == param.server) spec = &s;
  ASSERT_NE(spec, nullptr) << "no server " << param.server;
  scratch where;
  server_start_options start;
  start.values.threads = param.threads;
  start.values.idle_timeout_s = 2;
  start.values.root = lab_root();
  start.values.bin = default_bin_dir(start.values.root);
  start.values.tmp = where.dir;
  start.stdout_path = where.dir / "stdout.txt";
  start.stderr_path = where.dir / "stderr.txt";
  start.ready_timeout = 20s;
  if (auto missing = unavailable_reason(*spec, start.values)) {
    const bool declared = !spec->not_built_hint.empty() && missing->rfind("not built", 0) == 0;
    if (declared || !require_all()) GTEST_SKIP() << "allowed: " << spec->name << ": " << *missing;
    FAIL() << spec->name << " cannot run here (set LAB_REQUIRE_ALL=0 to skip it): " << *missing;
  }
  server_process s;
  try {
    s = server_process::start(*spec, start);
  } catch (const server_start_error& e) {
    FAIL() << e.what();
  }

  hostile_options options;
  options.port = s.port();
  const pid_t pgid = s.pid();
  options.sample = [pgid] { return sample_process_group(pgid); };
  options.judge_rss = spec->language != "java";
  options.may_starve = spec->model == "thread_pool";
  const hostile_result result = run_hostile_check(param.check, options);
  if (result.probed_during)
    testing::Test::RecordProperty("answered_during", result.answered_during ? "yes" : "no");
  testing::Test::RecordProperty("detail", result.detail);

  const bool alive = s.running();
  const server_exit exit = s.stop(5s);
  if (auto declared = spec->expected_failure_reasons.find(param.check);
      declared != spec->expected_failure_reasons.end()) {
    if (!spec->intermittent_failures.count(param.check))
      EXPECT_FALSE(result.passed) << spec->name << " now passes " << param.check
                                  << ": remove it from expected_failures in " << spec->source;
    if (!result.passed)
      EXPECT_NE(result.detail.find(declared->second), std::string::npos)
          << spec->name << " fails " << param.check << " for another reason than the declared \""
          << declared->second << "\" (" << spec->source << "): " << result.detail;
  } else {
    EXPECT_TRUE(result.passed) << spec->name << " fails " << param.check << ": " << result.detail
                               << "\n" << s.stderr_tail();
  }
  EXPECT_TRUE(alive) << spec->name << " died during " << param.check << ": " << exit.describe()
                     << "\n" << s.stderr_tail();
  if (alive)
    EXPECT_TRUE(exit.clean()) << spec->name << " after " << param.check
                              << ": a stopped server must exit with status 0 and no sanitizer "
                                 "report: " << exit.describe() << "\n" << s.stderr_tail();
}

TEST_P(server, check) { run_case(GetParam()); }
TEST_P(heavy_server, check) { run_case(GetParam()); }

INSTANTIATE_TEST_SUITE_P(hostile, server, testing::ValuesIn(cases(false)), case_name);
INSTANTIATE_TEST_SUITE_P(hostile_heavy, heavy_server, testing::ValuesIn(cases(true)), case_name);

}  // namespace
}  // namespace lab
