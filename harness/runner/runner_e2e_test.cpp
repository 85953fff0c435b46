// End-to-end tests of lab_harness and of wrk through report.lua, over real sockets and real
// processes: a 1-second suite on two servers checked against the schema, an interrupted run
// that must leave a valid file and no process behind, and its --resume (of the file turned
// back into schema version 1, which --resume upgrades); a server dying under load; --dry-run;
// and, when lab_load is built, a short open-loop suite on event_loop.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "canary.h"
#include "process.h"
#include "results.h"
#include "suite.h"
#include "wrk.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path root() {
  const char* r = std::getenv("LAB_ROOT");
  return r ? fs::path(r) : fs::current_path();
}
fs::path bin() {
  const char* b = std::getenv("LAB_BIN");
  return b ? fs::path(b) : root() / "build" / "release" / "bin";
}

fs::path temp_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("runner_e2e_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A minimal keep-alive HTTP responder (one thread per connection) so wrk can be checked
// without any lab server: every "\r\n\r\n" gets one 200 response.
class tiny_server {
 public:
  tiny_server() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 64);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      while (true) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::thread([c] {
          static const std::string response =
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
          std::string buffer;
          char chunk[4096];
          while (true) {
            ssize_t n = read(c, chunk, sizeof chunk);
            if (n <= 0) break;
            buffer.append(chunk, n);
            std::string out;
            for (size_t end; (end = buffer.find("\r\n\r\n")) != std::string::npos;) {
              buffer.erase(0, end + 4);
              out += response;
            }
            if (!out.empty() && write(c, out.data(), out.size()) < 0) break;
          }
          close(c);
        }).detach();
      }
    });
  }
  ~tiny_server() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    acceptor_.join();
  }
  int port() const { return port_; }

 private:
  int fd_, port_ = 0;
  std::thread acceptor_;
};

// Live (non-zombie) direct children of this process. The test is a subreaper, so anything the
// harness left running is re-parented here when the harness exits; dead ones are reaped first.
std::vector<std::string> live_children_of_this_process() {
  std::vector<std::string> found;
  const std::string me = std::to_string(getpid());
  for (int attempt = 0; attempt < 30; ++attempt) {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    found.clear();
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const auto name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream in(entry.path() / "status");
      std::string line, state, ppid;
      while (std::getline(in, line)) {
        if (line.rfind("State:", 0) == 0) state = line.substr(6);
        if (line.rfind("PPid:", 0) == 0) {
          ppid = line.substr(5);
          ppid.erase(0, ppid.find_first_not_of(" \t"));
          break;
        }
      }
      if (ppid != me || state.find('Z') != std::string::npos) continue;
      std::ifstream cmd(entry.path() / "cmdline");
      std::string c((std::istreambuf_iterator<char>(cmd)), {});
      std::replace(c.begin(), c.end(), '\0', ' ');
      found.push_back(name + ": " + c);
    }
    if (found.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a SIGKILL may be in flight
  }
  return found;
}

// Processes whose command line mentions `needle` (e.g. the run folder, used by {tmp}).
std::vector<std::string> processes_mentioning(const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos || name == std::to_string(getpid()))
      continue;
    std::ifstream cmd(entry.path() / "cmdline");
    std::string c((std::istreambuf_iterator<char>(cmd)), {});
    std::replace(c.begin(), c.end(), '\0', ' ');
    if (c.find(needle) != std::string::npos) found.push_back(name + ": " + c);
  }
  return found;
}

bool servers_built() {
  return fs::exists(bin() / "event_loop") && fs::exists(bin() / "thread_pool");
}

lab::child_process start_harness(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<std::string> argv = {(bin() / "lab_harness").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  lab::spawn_options options;
  options.cwd = root();
  options.stdout_path = log;
  options.stderr_path = log.string() + ".err";
  return lab::child_process::spawn(argv, options);
}

fs::path only_run_folder(const fs::path& out) {
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(out))
    if (e.is_directory()) runs.push_back(e.path());
  EXPECT_EQ(runs.size(), 1u);
  return runs.empty() ? fs::path() : runs.front();
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(RunnerWrk, ReportScriptGivesConsistentPercentilesOnARealRun) {
  tiny_server server;
  auto dir = temp_dir("wrk");
  for (int pipeline : {1, 4}) {
    lab::wrk_job job;
    job.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/plaintext";
    job.connections = 4;
    job.threads = 1;
    job.pipeline = pipeline;
    job.duration_s = 1;
    job.script = root() / "harness" / "runner" / "report.lua";
    job.output = dir / ("out" + std::to_string(pipeline) + ".json");
    job.console_log = dir / "wrk.txt";
    auto run = lab::run_wrk(job);
    const auto& r = run.result;
    SCOPED_TRACE("pipeline " + std::to_string(pipeline) + ": " + read_file(job.output));
    EXPECT_GT(r.requests, 100u);
    EXPECT_NEAR(r.duration_s, 1.0, 0.3);
    EXPECT_EQ(r.errors.total(), 0u);
    // percentile() takes a percentage: p50 lies inside [min, max] and near the mean, p99 at
    // most the max (a fraction such as 0.99 would return values near the minimum).
    EXPECT_GT(r.latency.p50, 0);
    EXPECT_LE(r.latency.p50, r.latency.p75);
    EXPECT_LE(r.latency.p75, r.latency.p90);
    EXPECT_LE(r.latency.p90, r.latency.p99);
    EXPECT_LE(r.latency.p99, r.latency.p99_9);
    EXPECT_LE(r.latency.p99_9, r.latency.max);
    EXPECT_LT(r.latency.p50, 3 * r.latency.mean + 1000);
    EXPECT_GT(r.latency_reachable_fraction, 0.5);
    EXPECT_LE(r.latency_reachable_fraction, 1.0);
    EXPECT_GT(run.client_cpu_s, 0.0);
    EXPECT_LT(run.client_cpu_s, run.wall_s * 2 + 0.1);
  }
  fs::remove_all(dir);
}

// The canary against real servers: thread_pool with 2 workers bound to keep-alive connections
// and 8 wrk connections leaves 6 of them (and the canary) unserved for the whole run, while wrk
// reports no error; event_loop serves every connection.
TEST(RunnerCanary, FlagsThreadPoolStarvingConnectionsButNotEventLoop) {
  for (const char* name : {"thread_pool", "event_loop"})
    if (!fs::exists(bin() / name)) GTEST_SKIP() << name << " not built in " << bin();
  auto dir = temp_dir("canary");
  for (const std::string name : {"thread_pool", "event_loop"}) {
    SCOPED_TRACE(name);
    const int port = lab::pick_free_port();
    lab::spawn_options so;
    so.stderr_path = dir / (name + ".stderr");
    auto server = lab::child_process::spawn(
        {(bin() / name).string(), "--host", "127.0.0.1", "--port", std::to_string(port),
         "--threads", "2", "--idle-timeout", "30"},
        so);
    ASSERT_TRUE(lab::wait_until_accepting("127.0.0.1", port, std::chrono::seconds(10), &server));
    lab::wrk_generator wrk(root() / "harness" / "runner" / "report.lua");
    lab::load_request request;
    request.url = "http://127.0.0.1:" + std::to_string(port) + "/plaintext";
    request.level = lab::load_level::closed_loop(8);
    request.threads = 1;
    request.duration_s = 2;
    request.logs = dir;
    request.log_stem = name;
    auto run = lab::run_with_canary(wrk, request, "127.0.0.1", port, "/plaintext");
    const auto& c = run.canary;
    SCOPED_TRACE(c.to_json().dump());
    EXPECT_GT(run.load.responses, 100u);  // the served connections do get answers
    EXPECT_GE(c.requests_sent, 1);
    if (name == "thread_pool") {
      EXPECT_TRUE(run.starved);
      // Joined at 0.4 s and waited until wrk ended (~2 s); a worker may answer it in the few
      // milliseconds between wrk closing its connections and the probe being stopped.
      EXPECT_LE(c.responses, 1);
      EXPECT_GT(c.max_wait_ms, 1200);
      if (c.first_response_ms) {
        EXPECT_GT(*c.first_response_ms, 1200);
      }
      EXPECT_EQ(run.load.errors.total(), 0u);  // what wrk alone would have shown
    } else {
      EXPECT_FALSE(run.starved);
      ASSERT_TRUE(c.first_response_ms);
      EXPECT_LT(*c.first_response_ms, 500);
      EXPECT_GE(c.responses, 5);  // a steady probe, >= 50 ms apart over ~1.6 s
      EXPECT_LE(c.responses, 35);
      EXPECT_EQ(c.responses, c.requests_sent - (c.responses == c.requests_sent ? 0 : 1));
    }
    server.stop();
  }
  fs::remove_all(dir);
}

TEST(RunnerHarness, RejectsBadInputNamingTheValidChoices) {
  auto dir = temp_dir("bad");
  auto run = [&](const std::vector<std::string>& args, bool no_path = false) {
    std::vector<std::string> argv = {(bin() / "lab_harness").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    lab::spawn_options options;
    options.cwd = root();
    options.stdout_path = dir / "log";
    options.stderr_path = dir / "log.err";
    if (no_path) options.env = {{"PATH", "/nonexistent"}};
    auto child = lab::child_process::spawn(argv, options);
    auto status = child.wait_for(std::chrono::seconds(60));
    EXPECT_TRUE(status.has_value());
    return std::make_pair(status ? WEXITSTATUS(*status) : -1, read_file(dir / "log.err"));
  };
  auto [code, err] = run({"run", "--servers", "no_such_server", "--out", dir.string()});
  EXPECT_NE(code, 0);
  EXPECT_NE(err.find("unknown server 'no_such_server'; valid servers:"), std::string::npos) << err;
  std::tie(code, err) = run({"run", "--suite", "no_such_suite", "--out", dir.string()});
  EXPECT_NE(code, 0);
  EXPECT_NE(err.find("unknown suite 'no_such_suite'; valid suites: "), std::string::npos) << err;
  EXPECT_NE(err.find("quick"), std::string::npos) << err;
  std::tie(code, err) = run({"run", "--suite", "e2e", "--scenarios", "nope", "--out", dir.string()});
  EXPECT_NE(code, 0);
  EXPECT_NE(err.find("valid scenarios: plaintext, sleep"), std::string::npos) << err;
  std::tie(code, err) = run({"run", "--servers", "event_loop", "--out", dir.string()}, true);
  EXPECT_NE(code, 0);
  EXPECT_NE(err.find("install Debian package wrk"), std::string::npos) << err;
  std::tie(code, err) = run({"run", "--duration", "0.5", "--out", dir.string()});
  EXPECT_NE(code, 0);
  EXPECT_NE(err.find("--duration must be a whole number"), std::string::npos) << err;
  std::tie(code, err) = run({"run", "--host", "192.168.1.1", "--out", dir.string()});
  EXPECT_NE(code, 0);
  EXPECT_NE(err.find("refusing non-loopback host"), std::string::npos) << err;
  fs::remove_all(dir);
}

TEST(RunnerHarness, EndToEndOneSecondSuiteOnTwoServers) {
  if (!servers_built()) GTEST_SKIP() << "event_loop/thread_pool not built in " << bin();
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  auto out = temp_dir("run");
  auto harness = start_harness({"run", "--suite", "harness/suites/e2e.json", "--servers",
                                "event_loop,thread_pool", "--duration", "1", "--seed", "7",
                                "--fingerprint-seconds", "1", "--no-plot", "--out", out.string()},
                               out / "harness.log");
  auto status = harness.wait_for(std::chrono::seconds(180));
  ASSERT_TRUE(status.has_value()) << "harness did not finish in 180 s";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << harness.describe_exit() << "\n" << read_file(out / "harness.log.err");

  const auto folder = only_run_folder(out / "");
  ASSERT_FALSE(folder.empty());
  EXPECT_NE(folder.filename().string().find("-e2e"), std::string::npos);
  auto doc = lab::load_results(folder / "results.json");
  EXPECT_EQ(lab::validate_service_results(doc), std::vector<std::string>{});
  EXPECT_TRUE(doc["complete"].get<bool>());
  EXPECT_EQ(doc["context"]["seed"], 7);
  // issue 14: the machine fingerprint in the context (docs/numbers-that-travel.md)
  ASSERT_TRUE(doc["context"].contains("fingerprint"));
  EXPECT_TRUE(doc["context"]["fingerprint"].contains("figures")) << doc["context"]["fingerprint"].dump();
  EXPECT_EQ(doc["suite"]["name"], "e2e");
  ASSERT_EQ(doc["servers"].size(), 2u);
  for (const auto& s : doc["servers"]) EXPECT_EQ(s["status"], "ok") << s.dump();
  ASSERT_EQ(doc["measurements"].size(), 4u);  // 2 servers x (plaintext c=8, sleep c=8)
  EXPECT_EQ(doc["schema_version"], 2);
  for (const auto& s : doc["servers"]) EXPECT_EQ(s["verification"], "ok") << s.dump();
  for (const auto& m : doc["measurements"]) {
    SCOPED_TRACE(m.dump());
    EXPECT_EQ(m["status"], "ok");
    EXPECT_EQ(m["load"], "closed");
    EXPECT_EQ(m["generator"], "wrk");
    EXPECT_TRUE(m["rate"].is_null());
    EXPECT_GT(m["requests"].get<double>(), 0);
    EXPECT_GT(m["requests_per_s"].get<double>(), 0);
    EXPECT_GT(m["server_stats"]["rss_peak_kb"].get<double>(), 0);
    EXPECT_GE(m["server_stats"]["threads_max"].get<int>(), 1);
    EXPECT_GT(m["server_stats"]["cpu_us_per_request"].get<double>(), 0);
    EXPECT_GE(m["server_stats"]["rss_samples"].size(), 5u);  // 100 ms sampling over 1 s
    EXPECT_GT(m["client"]["cpu_s"].get<double>(), 0);
    // issue 14: what the machine did meanwhile, and the server's page faults (no GC: C++)
    EXPECT_GE(m["machine"]["cpu_busy_s"].get<double>(), 0);
    EXPECT_GE(m["machine"]["foreign_fraction"].get<double>(), 0);
    EXPECT_TRUE(m["server_stats"]["minor_faults"].is_number());
    EXPECT_FALSE(m["server_stats"].contains("gc"));
    EXPECT_LE(m["latency_us"]["p99"].get<double>(), m["latency_us"]["max"].get<double>());
    if (m["scenario"] == "sleep") {
      // 8 connections each waiting 10 ms: at most 800 requests/s, latency at least 10 ms.
      EXPECT_LT(m["requests_per_s"].get<double>(), 850);
      EXPECT_GE(m["latency_us"]["p50"].get<double>(), 10000);
    }
  }
  EXPECT_EQ(doc["aggregates"].size(), 4u);
  ASSERT_EQ(doc["startup"].size(), 2u);
  for (const auto& s : doc["startup"]) {
    EXPECT_EQ(s["runs"], 2);
    EXPECT_GT(s["time_to_first_response_ms"]["median"].get<double>(), 0);
    EXPECT_GT(s["idle_rss_kb"]["median"].get<double>(), 0);
  }
  EXPECT_TRUE(fs::exists(folder / "summary.md"));
  EXPECT_NE(read_file(folder / "summary.md").find("| 1 |"), std::string::npos);
  EXPECT_EQ(live_children_of_this_process(), std::vector<std::string>{});
  EXPECT_EQ(processes_mentioning(out.string()), std::vector<std::string>{});
  fs::remove_all(out);
}

TEST(RunnerHarness, InterruptedRunStaysValidAndResumes) {
  if (!servers_built()) GTEST_SKIP() << "event_loop/thread_pool not built in " << bin();
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  auto out = temp_dir("interrupt");
  auto harness = start_harness({"run", "--suite", "e2e", "--servers", "event_loop,thread_pool",
                                "--startup-runs", "0", "--no-plot", "--out", out.string()},
                               out / "harness.log");
  // Interrupt once the first measurement is on disk (and the next one is under way).
  fs::path results;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& e : fs::directory_iterator(out))
      if (e.is_directory() && fs::exists(e.path() / "results.json")) results = e.path() / "results.json";
    if (!results.empty()) {
      try {
        if (lab::load_results(results)["measurements"].size() >= 1) break;
      } catch (const lab::results_error&) {
        ADD_FAILURE() << "results.json invalid while running";
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(results.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(kill(harness.pid(), SIGINT), 0);
  auto status = harness.wait_for(std::chrono::seconds(30));
  ASSERT_TRUE(status.has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(live_children_of_this_process(), std::vector<std::string>{});
  EXPECT_EQ(processes_mentioning(out.string()), std::vector<std::string>{});

  auto doc = lab::load_results(results);
  EXPECT_EQ(lab::validate_service_results(doc), std::vector<std::string>{});
  EXPECT_FALSE(doc["complete"].get<bool>());
  const auto finished_before = lab::finished_measurements(doc);
  ASSERT_GE(finished_before.size(), 1u);
  ASSERT_LT(finished_before.size(), 4u) << "interrupted too late to test resume";
  const json first = doc["measurements"][0];
  // Turn the file back into what version 1 wrote: --resume must read it and upgrade it.
  doc["schema_version"] = 1;
  doc.erase("probes");
  doc.erase("capacity");
  for (auto& m : doc["measurements"])
    for (const char* k : {"load", "generator", "rate", "offered_rate_rps"}) m.erase(k);
  for (auto& a : doc["aggregates"])
    for (const char* k : {"load", "generator", "rate", "offered_rate_rps"}) a.erase(k);
  for (auto& sc : doc["suite"]["scenarios"])
    for (const char* k : {"load", "generator"}) sc.erase(k);
  EXPECT_EQ(lab::validate_service_results(doc), std::vector<std::string>{});
  lab::write_json_atomically(results, doc);

  auto resumed = start_harness({"run", "--resume", results.parent_path().string(), "--no-plot"},
                               out / "resume.log");
  status = resumed.wait_for(std::chrono::seconds(180));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << read_file(out / "resume.log.err");
  doc = lab::load_results(results);
  EXPECT_EQ(lab::validate_service_results(doc), std::vector<std::string>{});
  EXPECT_TRUE(doc["complete"].get<bool>());
  ASSERT_EQ(doc["measurements"].size(), 4u);
  EXPECT_EQ(lab::finished_measurements(doc).size(), 4u);
  EXPECT_EQ(doc["measurements"][0], first) << "a finished measurement was redone";
  EXPECT_NE(read_file(out / "resume.log.err").find("resuming"), std::string::npos);
  EXPECT_NE(read_file(out / "resume.log.err").find("schema version 1: upgrading"), std::string::npos);
  EXPECT_EQ(doc["schema_version"], 2);
  EXPECT_EQ(doc["upgraded_from_schema"], 1);
  EXPECT_EQ(live_children_of_this_process(), std::vector<std::string>{});
  fs::remove_all(out);
}

TEST(RunnerHarness, ServerDyingDuringAMeasurementIsRecordedAndTheRunGoesOn) {
  if (!servers_built()) GTEST_SKIP() << "event_loop not built in " << bin();
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  // A private lab root whose only server passes conformance (it is event_loop) but, when started
  // for measuring (idle timeout 30), is killed 1.2 s after start — during its first measurement.
  auto lab_root = temp_dir("crash");
  fs::create_directories(lab_root / "servers" / "crashy");
  fs::create_directories(lab_root / "harness" / "runner");
  fs::copy_file(root() / "harness" / "runner" / "report.lua", lab_root / "harness" / "runner" / "report.lua");
  std::ofstream(lab_root / "servers" / "crashy" / "crashy.sh")
      << "#!/bin/sh\n"
         "if [ \"$3\" = 2 ]; then exec \"$1/event_loop\" --port \"$2\" --idle-timeout 2; fi\n"
         "\"$1/event_loop\" --port \"$2\" --idle-timeout \"$3\" &\n"
         "sleep 1.2; echo 'crashy: killing the server' >&2; kill -9 $!; wait $!; exit 3\n";
  std::ofstream(lab_root / "servers" / "crashy" / "server.json")
      << R"({"name": "crashy", "model": "event_loop", "language": "cpp",
             "description": "event_loop that is killed while measured",
             "start": ["sh", "{root}/servers/crashy/crashy.sh", "{bin}", "{port}", "{idle_timeout}"]})";
  std::ofstream(lab_root / "suite.json")
      << R"({"name": "crash", "duration_s": 1, "warmup_s": 0.2, "primer_s": 0.2, "startup_runs": 1,
             "scenarios": [{"name": "plaintext", "path": "/plaintext", "connections": [4, 8]}]})";
  auto out = lab_root / "results";
  std::vector<std::string> argv = {(bin() / "lab_harness").string(), "run", "--suite",
                                   (lab_root / "suite.json").string(), "--no-plot", "--out", out.string()};
  lab::spawn_options options;
  options.cwd = lab_root;
  options.stdout_path = lab_root / "log";
  options.stderr_path = lab_root / "log.err";
  options.env = {{"LAB_ROOT", lab_root.string()}, {"LAB_BIN", bin().string()}};
  auto harness = lab::child_process::spawn(argv, options);
  auto status = harness.wait_for(std::chrono::seconds(120));
  ASSERT_TRUE(status.has_value());
  const std::string err = read_file(lab_root / "log.err");
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << harness.describe_exit() << "\n" << err;

  auto doc = lab::load_results(only_run_folder(out) / "results.json");
  EXPECT_EQ(lab::validate_service_results(doc), std::vector<std::string>{});
  EXPECT_TRUE(doc["complete"].get<bool>());
  EXPECT_EQ(doc["servers"][0]["status"], "ok") << doc["servers"][0].dump();
  ASSERT_EQ(doc["measurements"].size(), 2u);
  const auto& died = doc["measurements"][0];
  EXPECT_EQ(died["status"], "failed") << died.dump();
  EXPECT_EQ(died["flags"], json({"server_died"}));
  EXPECT_NE(died["reason"].get<std::string>().find("exited with 3"), std::string::npos) << died.dump();
  EXPECT_NE(died["reason"].get<std::string>().find("crashy: killing the server"), std::string::npos);
  EXPECT_TRUE(doc["aggregates"].empty());
  // The cold start (well within 1.2 s) still ran: the run went on after the failure.
  ASSERT_EQ(doc["startup"].size(), 1u);
  EXPECT_EQ(doc["startup"][0]["runs"], 1);
  EXPECT_NE(read_file(only_run_folder(out) / "summary.md").find("server_died"), std::string::npos);
  EXPECT_EQ(live_children_of_this_process(), std::vector<std::string>{});
  fs::remove_all(lab_root);
}

TEST(RunnerHarness, DryRunPrintsThePlanAndStartsNothing) {
  auto dir = temp_dir("dry");
  std::vector<std::string> argv = {(bin() / "lab_harness").string(), "run", "--suite", "latency",
                                   "--servers", "event_loop", "--dry-run", "--out", (dir / "out").string()};
  lab::spawn_options options;
  options.cwd = root();
  options.stdout_path = dir / "log";
  options.stderr_path = dir / "log.err";
  auto child = lab::child_process::spawn(argv, options);
  auto status = child.wait_for(std::chrono::seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << read_file(dir / "log.err");
  const std::string text = read_file(dir / "log");
  EXPECT_NE(text.find("lab: suite latency: 1 servers"), std::string::npos) << text;
  EXPECT_NE(text.find("open loop (lab_load"), std::string::npos) << text;
  EXPECT_NE(text.find("x a capacity probe (wrk"), std::string::npos) << text;
  EXPECT_NE(text.find("lab: estimated time: "), std::string::npos) << text;
  EXPECT_NE(text.find("nothing was started"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(dir / "out"));  // no run folder
  fs::remove_all(dir);
}

TEST(RunnerHarness, OpenLoopSuiteOnEventLoop) {
  if (!fs::exists(bin() / "event_loop")) GTEST_SKIP() << "event_loop not built in " << bin();
  if (!fs::exists(bin() / "lab_load")) GTEST_SKIP() << "lab_load not built in " << bin();
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  auto out = temp_dir("open");
  // Two 1 s open-loop points at fractions of a 1 s probe, and the capacity at a generous SLO.
  std::ofstream(out / "suite.json")
      << R"({"name": "open", "duration_s": 1, "warmup_s": 0.2, "primer_s": 0.2, "startup_runs": 0,
             "scenarios": [{"name": "plaintext_latency", "path": "/plaintext", "load": "open",
                            "rate_fractions": [0.05, 0.1], "slo_p99_ms": 1000, "connections": [64],
                            "probe": {"connections": 8, "duration_s": 1}}]})";
  auto harness = start_harness({"run", "--suite", (out / "suite.json").string(), "--servers", "event_loop",
                                "--seed", "3", "--no-plot", "--out", (out / "runs").string()},
                               out / "harness.log");
  auto status = harness.wait_for(std::chrono::seconds(120));
  ASSERT_TRUE(status.has_value()) << "harness did not finish in 120 s";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << harness.describe_exit() << "\n" << read_file(out / "harness.log.err");
  const auto folder = only_run_folder(out / "runs");
  ASSERT_FALSE(folder.empty());
  auto doc = lab::load_results(folder / "results.json");
  EXPECT_EQ(lab::validate_service_results(doc), std::vector<std::string>{});
  ASSERT_EQ(doc["probes"].size(), 1u);
  EXPECT_EQ(doc["probes"][0]["status"], "ok");
  ASSERT_EQ(doc["measurements"].size(), 2u);
  for (const auto& m : doc["measurements"]) {
    SCOPED_TRACE(m.dump());
    EXPECT_EQ(m["status"], "ok");
    EXPECT_EQ(m["generator"], "lab_load");
    EXPECT_TRUE(m.contains("send_lag_us"));
    EXPECT_TRUE(fs::exists(folder / m["histogram_file"].get<std::string>()));
  }
  ASSERT_EQ(doc["capacity"].size(), 1u);
  EXPECT_NE(doc["capacity"][0]["status"], "failed") << doc["capacity"][0].dump();
  EXPECT_NE(read_file(folder / "summary.md").find("open loop (lab_load, offered rate)"), std::string::npos);
  EXPECT_EQ(live_children_of_this_process(), std::vector<std::string>{});
  fs::remove_all(out);
}
