// Runs the real lab_load binary ($LAB_BIN/lab_load) as a subprocess: exit statuses, messages
// on stderr, the JSON file, and `lab_load merge`.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include "latency_histogram.h"
#include "process.h"
#include "test_http_server.h"

namespace lab::load {
namespace {

namespace fs = std::filesystem;
using testing::test_http_server;

struct run_outcome {
  int exit_code = -1;  // -1: did not exit normally in time
  std::string out, err;
  double seconds = 0;
};

class lab_load_cli : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("LAB_BIN");
    ASSERT_NE(bin, nullptr) << "LAB_BIN must point at the build's bin folder";
    binary_ = fs::path(bin) / "lab_load";
    ASSERT_TRUE(fs::exists(binary_)) << binary_;
    dir_ = fs::temp_directory_path() /
           ("lab_load_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  run_outcome run(std::vector<std::string> args, std::chrono::seconds limit = std::chrono::seconds(10)) {
    args.insert(args.begin(), binary_.string());
    lab::spawn_options so;
    so.stdout_path = dir_ / "stdout";
    so.stderr_path = dir_ / "stderr";
    const auto start = std::chrono::steady_clock::now();
    auto child = lab::child_process::spawn(args, so);
    run_outcome r;
    if (auto status = child.wait_for(limit); status && WIFEXITED(*status))
      r.exit_code = WEXITSTATUS(*status);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.out = read(dir_ / "stdout");
    r.err = read(dir_ / "stderr");
    return r;
  }

  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path binary_, dir_;
};

TEST_F(lab_load_cli, bad_input_exits_2_naming_the_cause) {
  const std::string url = "http://127.0.0.1:9/";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--url", url, "--rate", "0", "--duration", "1"}, "--rate"},
      {{"--url", url, "--rate", "-10", "--duration", "1"}, "--rate"},
      {{"--url", url, "--rate", "100", "--duration", "0"}, "--duration"},
      {{"--url", url, "--rate", "100"}, "--duration"},
      {{"--url", url, "--connections", "0", "--duration", "1"}, "--connections"},
      {{"--url", url, "--rate", "100", "--duration", "1", "--arrivals", "bursty"}, "--arrivals"},
      {{"--url", "ftp://127.0.0.1:21/", "--rate", "100", "--duration", "1"}, "malformed URL"},
      {{"--url", "http://127.0.0.1:80:80/", "--rate", "100", "--duration", "1"}, "malformed URL"},
      {{"--url", "http://10.1.2.3:80/", "--rate", "100", "--duration", "1"}, "non-loopback"},
      {{"--url", "http://example.com:80/", "--rate", "100", "--duration", "1"}, "non-loopback"},
      {{"--rate", "100", "--duration", "1"}, "--url"},
      {{"--url", url, "--rate", "abc", "--duration", "1"}, "--rate"},
      {{"--url", url, "--rate", "100", "--duration", "1", "--pipeline", "8"}, "--pipeline"},
      {{"--url", url, "--duration", "1"}, "--rate"},
  };
  for (const auto& [args, cause] : cases) {
    const auto r = run(args);
    EXPECT_EQ(r.exit_code, 2) << cause << ": " << r.err;
    EXPECT_NE(r.err.find(cause), std::string::npos) << "stderr: " << r.err;
  }
}

TEST_F(lab_load_cli, refused_connection_exits_1_on_time) {
  int port;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  const auto r = run({"--url", "http://127.0.0.1:" + std::to_string(port) + "/", "--rate", "200",
                      "--duration", "0.5", "--json", (dir_ / "r.json").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("no responses: connection refused"), std::string::npos) << r.err;
  EXPECT_LT(r.seconds, 0.5 + 2.0);
  const auto j = nlohmann::json::parse(read(dir_ / "r.json"));
  EXPECT_GT(j["errors"]["connect"].get<int>(), 0);
  EXPECT_EQ(j["responses"], 0);
}

TEST_F(lab_load_cli, json_output_and_merge) {
  test_http_server server;
  const auto a = run({"--url", server.url("/x?y=1"), "--rate", "400", "--duration", "0.5",
                      "--json", (dir_ / "a.json").string()});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_NE(a.out.find("achieved"), std::string::npos);
  const auto b = run({"--url", server.url("/x?y=1"), "--rate", "600", "--duration", "0.5",
                      "--arrivals", "exp", "--seed", "3", "--json", (dir_ / "b.json").string()});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const auto m = run({"merge", (dir_ / "a.json").string(), (dir_ / "b.json").string(), "--json",
                      (dir_ / "m.json").string()});
  ASSERT_EQ(m.exit_code, 0) << m.err;

  const auto ja = nlohmann::json::parse(read(dir_ / "a.json"));
  const auto jb = nlohmann::json::parse(read(dir_ / "b.json"));
  const auto jm = nlohmann::json::parse(read(dir_ / "m.json"));
  for (const char* field :
       {"tool", "version", "mode", "url", "offered_rate", "achieved_rate", "duration_s",
        "connections_cap", "connections_opened", "threads", "arrivals", "requests", "responses",
        "errors", "send_lag_us", "latency_us", "histogram", "client_cpu_s", "wall_s"})
    EXPECT_TRUE(ja.contains(field)) << field;
  EXPECT_EQ(ja["tool"], "lab_load");
  EXPECT_EQ(ja["mode"], "open");
  EXPECT_EQ(ja["requests"], 200);
  EXPECT_GT(ja["responses"].get<int>(), 0);

  auto expected = latency_histogram::from_json(ja["histogram"]);
  expected.merge(latency_histogram::from_json(jb["histogram"]));
  const auto merged = latency_histogram::from_json(jm["histogram"]);
  EXPECT_EQ(merged, expected);
  EXPECT_EQ(jm["responses"], ja["responses"].get<int>() + jb["responses"].get<int>());
  EXPECT_EQ(jm["requests"], ja["requests"].get<int>() + jb["requests"].get<int>());
  EXPECT_DOUBLE_EQ(jm["offered_rate"].get<double>(), 1000);
  EXPECT_DOUBLE_EQ(jm["latency_us"]["p99"].get<double>(), expected.percentile(99) / 1000.0);
  EXPECT_EQ(jm["parts"], 2);
  EXPECT_EQ(jm["arrivals"], "mixed");
  EXPECT_TRUE(jm.contains("send_lag_note"));
  EXPECT_EQ(jm["send_lag_histogram"]["count"],
            ja["send_lag_histogram"]["count"].get<int>() + jb["send_lag_histogram"]["count"].get<int>());
}

TEST_F(lab_load_cli, merge_refuses_bad_input) {
  std::ofstream(dir_ / "bad.json") << "{\"tool\": \"wrk\"}";
  auto r = run({"merge", (dir_ / "bad.json").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
  r = run({"merge", (dir_ / "missing.json").string()});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(lab_load_cli, closed_loop_run) {
  test_http_server server;
  const auto r = run({"--url", server.url(), "--connections", "2", "--duration", "0.5", "--json",
                      (dir_ / "c.json").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(read(dir_ / "c.json"));
  EXPECT_EQ(j["mode"], "closed");
  EXPECT_TRUE(j["offered_rate"].is_null());
  EXPECT_GT(j["responses"].get<int>(), 50);
  EXPECT_EQ(j["connections_cap"], 2);
}

TEST_F(lab_load_cli, help_exits_0) {
  const auto r = run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--rate"), std::string::npos);
}

}  // namespace
}  // namespace lab::load
