// Every registered server (servers/*/server.json, servers/reference/*/server.json, variants
// included) × every conformance check, as one parameterized test each: server/<name>__<check>.
// A server is started lazily, once per test process, on an ephemeral port with --threads 1 and
// --idle-timeout 2, and stopped when the next server is needed or the process ends. A server
// that cannot run here (not built, runtime missing, disabled) is skipped with the reason —
// unless LAB_REQUIRE_ALL=1, then it fails.
#include <algorithm>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>

#include <gtest/gtest.h>

#include "conformance.h"
#include "process.h"
#include "registry.h"

namespace lab {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path lab_root() {
  if (const char* root = std::getenv("LAB_ROOT"); root && *root) return root;
  return LAB_SOURCE_ROOT;  // compiled in: test discovery runs without LAB_ROOT
}

struct registry_state {
  std::vector<server_spec> servers;
  std::string error;  // registry_error message, if the registry is broken
};

const registry_state& registry() {
  static const registry_state state = [] {
    registry_state s;
    try {
      s.servers = expand_variants(load_registry(lab_root()));
    } catch (const std::exception& e) {
      s.error = e.what();
    }
    return s;
  }();
  return state;
}

struct test_case {
  std::string server, check;
};

// gtest prints parameters in test lists and failures: "event_loop/keep_alive".
void PrintTo(const test_case& c, std::ostream* os) { *os << c.server << "/" << c.check; }

std::vector<test_case> all_cases() {
  const auto& reg = registry();
  if (!reg.error.empty()) return {{"registry", "valid"}};
  if (reg.servers.empty()) return {{"registry", "has_servers"}};
  std::vector<test_case> cases;
  for (const auto& spec : reg.servers)
    for (const auto& check : conformance_check_names())
      // Byte-exact responses are a promise of the shared C++ core only; other languages
      // would just skip these, so they are not instantiated for them.
      if (spec.language == "cpp" || check.rfind("exact_", 0) != 0) cases.push_back({spec.name, check});
  return cases;
}

std::string param_name(const testing::TestParamInfo<test_case>& info) {
  std::string name = info.param.server + "__" + info.param.check;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

// One started server.
struct live_server {
  const server_spec* spec = nullptr;
  std::optional<std::string> unavailable;  // why it cannot run here
  std::string start_error;                 // set if it did not come up
  fs::path dir;                            // {tmp}, with stdout.txt / stderr.txt
  int port = 0;
  child_process child;

  fs::path stderr_path() const { return dir / "stderr.txt"; }
  std::string stderr_tail() const {
    std::string tail = tail_file(stderr_path(), 2000);
    return "--- " + stderr_path().string() + " (tail) ---\n" + (tail.empty() ? "(empty)\n" : tail);
  }
};

const server_spec* find_spec(const std::string& name) {
  for (const auto& spec : registry().servers)
    if (spec.name == name) return &spec;
  return nullptr;
}

void start(live_server& s) {
  s.start_error.clear();
  const fs::path root = lab_root();
  // A port picked now may be taken before the server binds: retry a few times.
  for (int attempt = 1; attempt <= 3; ++attempt) {
    placeholders values;
    values.port = pick_free_port();
    values.threads = 1;  // thread_pool's own server.json fixes its pool size
    values.idle_timeout_s = 2;
    values.bin = default_bin_dir(root);
    values.root = root;
    values.tmp = s.dir;
    if (attempt == 1) {
      s.unavailable = unavailable_reason(*s.spec, values);
      if (s.unavailable) return;
    }
    spawn_options options;
    options.cwd = root;
    options.stdout_path = s.dir / "stdout.txt";
    options.stderr_path = s.dir / "stderr.txt";
    auto argv = render_argv(*s.spec, values);
    std::string command;
    for (const auto& arg : argv) command += (command.empty() ? "" : " ") + arg;
    try {
      s.child = child_process::spawn(argv, options);
    } catch (const std::exception& e) {
      s.start_error = std::string("could not start: ") + e.what();
      return;
    }
    if (wait_until_accepting("127.0.0.1", values.port, 20s, &s.child)) {
      s.port = values.port;
      return;
    }
    if (s.child.running()) {
      s.child.stop();
      s.start_error = "`" + command + "` did not accept connections on port " +
                      std::to_string(values.port) + " within 20 s\n" + s.stderr_tail();
      return;
    }
    s.start_error = "`" + command + "` " + s.child.describe_exit() + " before accepting (attempt " +
                    std::to_string(attempt) + ")\n" + s.stderr_tail();
  }
}

// The server under test in this process; only one runs at a time.
class server_pool {
 public:
  live_server& get(const std::string& name) {
    if (current_ && current_->spec->name != name) release();
    if (!current_) {
      current_ = std::make_unique<live_server>();
      current_->spec = find_spec(name);
      char pattern[] = "/tmp/lab-conformance-XXXXXX";
      current_->dir = ::mkdtemp(pattern);
      start(*current_);
    } else if (!current_->unavailable && current_->start_error.empty() && !current_->child.running()) {
      // It died during an earlier check (which failed for it): start afresh for this one.
      start(*current_);
    }
    return *current_;
  }

  void release() {
    if (!current_) return;
    current_->child.stop();
    // Keep the folder (stdout/stderr) when something failed, for a look afterwards.
    if (!failed_) fs::remove_all(current_->dir);
    current_.reset();
    failed_ = false;
  }

  void mark_failed() { failed_ = true; }

 private:
  std::unique_ptr<live_server> current_;
  bool failed_ = false;
};

server_pool& pool() {
  static server_pool p;
  return p;
}

class stop_servers : public testing::Environment {
 public:
  void TearDown() override { pool().release(); }
};
const auto* const environment = testing::AddGlobalTestEnvironment(new stop_servers);

bool require_all() {
  const char* value = std::getenv("LAB_REQUIRE_ALL");
  return value && std::string(value) == "1";
}

class server : public testing::TestWithParam<test_case> {};

TEST_P(server, check) {
  const auto& [name, check] = GetParam();
  if (name == "registry") {
    ASSERT_TRUE(registry().error.empty()) << registry().error;
    GTEST_SKIP() << "no server.json found under " << lab_root();
  }
  install_child_cleanup_handlers();
  live_server& s = pool().get(name);
  ASSERT_NE(s.spec, nullptr);
  if (s.unavailable) {
    if (require_all()) FAIL() << name << " cannot run (LAB_REQUIRE_ALL=1): " << *s.unavailable;
    GTEST_SKIP() << name << ": " << *s.unavailable;
  }
  if (!s.start_error.empty()) {
    pool().mark_failed();
    FAIL() << name << ": " << s.start_error;
  }

  conformance_options options;
  options.port = s.port;
  options.idle_timeout_s = 2;
  options.exact_cpp_bytes = s.spec->language == "cpp";
  check_result result = run_check(check, options);
  if (result.skipped) GTEST_SKIP() << result.detail;
  bool alive = s.child.running();
  const auto& expected = s.spec->expected_failures;
  if (std::find(expected.begin(), expected.end(), check) != expected.end()) {
    // A partial reference server (nginx): the check must still fail, so the list in its
    // server.json stays the exact truth about what it does not implement.
    EXPECT_FALSE(result.passed) << name << " now passes " << check
                                << ": remove it from expected_failures in " << s.spec->source;
    EXPECT_TRUE(alive) << name << " died during " << check << ": " << s.child.describe_exit();
    return;
  }
  if (!result.passed || !alive) pool().mark_failed();
  EXPECT_TRUE(result.passed) << name << " fails " << check << ": " << result.detail << "\n"
                             << s.stderr_tail();
  EXPECT_TRUE(alive) << name << " died during " << check << ": " << s.child.describe_exit()
                     << "\n" << s.stderr_tail();
}

INSTANTIATE_TEST_SUITE_P(contract, server, testing::ValuesIn(all_cases()), param_name);

}  // namespace
}  // namespace lab
