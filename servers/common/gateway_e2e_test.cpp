// /gateway end to end: each C++ model, started from its server.json, against a real
// {bin}/downstream over loopback. Timing bounds keep wide margins (the machine is busy): a
// parallel fan-out of 4 x 100 ms must finish well under the 400 ms a sequential one needs.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <thread>

#include "http_client.h"
#include "process.h"
#include "registry.h"
#include "server_process.h"

namespace lab {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

fs::path root() {
  const char* r = std::getenv("LAB_ROOT");
  return r && *r ? fs::path(r) : fs::current_path();
}

server_start_options start_options(const std::string& name, const std::string& downstream = "") {
  server_start_options o;
  o.values.bin = default_bin_dir(root());
  o.values.root = root();
  o.values.tmp = fs::temp_directory_path();
  if (!downstream.empty()) o.values.downstream = downstream;
  const fs::path logs =
      fs::temp_directory_path() / ("lab-gateway-e2e-" + std::to_string(::getpid()));
  fs::create_directories(logs);
  o.stdout_path = logs / (name + ".out");
  o.stderr_path = logs / (name + ".err");
  return o;
}

server_process start_downstream() {
  server_spec spec;
  spec.name = "downstream";
  spec.start = {"{bin}/downstream", "--host", "{host}", "--port", "{port}", "--threads", "1"};
  return server_process::start(spec, start_options("downstream"));
}

server_spec model_spec(const std::string& model) {
  for (const server_spec& spec : load_registry(root()))
    if (spec.name == model) return spec;
  throw std::runtime_error("no server.json for " + model);
}

std::uint64_t stat_of(int port, const std::string& name) {
  const http_response r = http_get("127.0.0.1", port, "/stats");
  std::smatch m;
  const std::regex field("\"" + name + "\":([0-9]+)");
  if (!std::regex_search(r.body, m, field))
    throw std::runtime_error("no " + name + " in " + r.body);
  return std::stoull(m[1]);
}

int thread_count(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return -1;
}

std::string get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

std::string expected_body(int fanout, int ms, const std::string& mode) {
  std::string body =
      "{\"fanout\":" + std::to_string(fanout) + ",\"mode\":\"" + mode + "\",\"calls\":[";
  for (int i = 0; i < fanout; ++i)
    body += (i ? "," : "") + std::string("{\"i\":") + std::to_string(i) +
            ",\"ms\":" + std::to_string(ms) + "}";
  return body + "]}";
}

class gateway : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    downstream_ = std::make_unique<server_process>(start_downstream());
  }
  static void TearDownTestSuite() {
    EXPECT_TRUE(downstream_->stop().clean());
    downstream_.reset();
  }
  void SetUp() override {
    server_ = server_process::start(
        model_spec(GetParam()),
        start_options(GetParam(), "127.0.0.1:" + std::to_string(downstream_->port())));
  }
  void TearDown() override {
    const server_exit exit = server_.stop();
    EXPECT_TRUE(exit.clean()) << exit.describe();
  }
  http_connection connect() { return http_connection("127.0.0.1", server_.port()); }

  static std::unique_ptr<server_process> downstream_;
  server_process server_;
};
std::unique_ptr<server_process> gateway::downstream_;

TEST_P(gateway, parallel_takes_the_slowest_call_not_the_sum) {
  http_connection c = connect();
  ASSERT_EQ(c.request(get("/gateway?fanout=4&ms=1")).status, 200);  // connections warm
  const auto start = clock_type::now();
  const http_response r = c.request(get("/gateway?fanout=4&ms=100"));
  const auto took = clock_type::now() - start;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.body, expected_body(4, 100, "parallel"));
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 250ms) << "4 x 100 ms in parallel should take about 100 ms (the sum is 400)";
}

TEST_P(gateway, sequential_takes_the_sum) {
  http_connection c = connect();
  const auto start = clock_type::now();
  const http_response r = c.request(get("/gateway?fanout=4&ms=100&mode=sequential"));
  EXPECT_GE(clock_type::now() - start, 400ms);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, expected_body(4, 100, "sequential"));
}

TEST_P(gateway, bad_queries_answer_400_and_keep_the_connection) {
  http_connection c = connect();
  for (const char* query :
       {"fanout=0&ms=1", "fanout=65&ms=1", "ms=1", "fanout=1", "fanout=1&ms=60001",
        "fanout=1&ms=1&mode=Parallel", "fanout=1&ms=1&mode",
        "fanout=1&ms=1&mode=", "fanout=1&ms=1&deadline_ms=0", "fanout=1&ms=1&deadline_ms=600001",
        "fanout=1&ms=1&deadline_ms=", "fanout=-1&ms=1"}) {
    const http_response r = c.request(get(std::string("/gateway?") + query));
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_EQ(r.body, "Bad Request") << query;
  }
  const http_response ok =
      c.request(get("/gateway?ms=0&fanout=0064&mode=%73equential&deadline_ms=600000"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, expected_body(64, 0, "sequential"));
}

TEST_P(gateway, deadline_answers_504_and_cancels_the_calls) {
  const std::uint64_t cancelled_before = stat_of(downstream_->port(), "cancelled");
  http_connection c = connect();
  const auto start = clock_type::now();
  const http_response r = c.request(get("/gateway?fanout=4&ms=1000&deadline_ms=50"));
  const auto took = clock_type::now() - start;
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.body, "Gateway Timeout");
  EXPECT_GE(took, 45ms);
  EXPECT_LT(took, 500ms);
  // The connection stays usable.
  EXPECT_EQ(c.request(get("/plaintext")).status, 200);
  // Each of the four calls' connections was closed: the downstream counts them as cancelled.
  std::uint64_t cancelled = cancelled_before;
  for (const auto until = clock_type::now() + 1s;
       clock_type::now() < until && cancelled < cancelled_before + 4;
       std::this_thread::sleep_for(10ms))
    cancelled = stat_of(downstream_->port(), "cancelled");
  EXPECT_GE(cancelled, cancelled_before + 4);
}

TEST_P(gateway, leaves_no_thread_behind_after_deadlines) {
  constexpr int connections = 4;
  std::vector<http_connection> clients;
  for (int i = 0; i < connections; ++i) clients.push_back(connect());
  // Each client sends `count` requests whose two calls outlive the 20 ms deadline.
  const auto round = [&clients](int count) {
    std::atomic<int> timeouts{0};
    std::vector<std::thread> drivers;
    for (auto& client : clients)
      drivers.emplace_back([&client, &timeouts, count] {
        for (int i = 0; i < count; ++i)
          if (client.request(get("/gateway?fanout=2&ms=1000&deadline_ms=20")).status == 504)
            ++timeouts;
      });
    for (auto& driver : drivers) driver.join();
    return timeouts.load();
  };
  // A first round lets pools that grow on demand (thread_pool's callers) reach their size.
  EXPECT_EQ(round(5), connections * 5);
  const int before = thread_count(server_.pid());
  EXPECT_EQ(round(50), connections * 50);
  std::this_thread::sleep_for(100ms);
  const int after = thread_count(server_.pid());
  // A leak would be hundreds (two calls x 200 requests); the margin covers on-demand growth.
  EXPECT_LE(after, before + 6) << "threads before " << before << ", after " << after;
}

TEST_P(gateway, refused_downstream_answers_502) {
  // A port nothing listens on (picked, then left closed).
  const int closed = pick_free_port();
  server_process lonely = server_process::start(
      model_spec(GetParam()),
      start_options(GetParam() + "-lonely", "127.0.0.1:" + std::to_string(closed)));
  http_connection c("127.0.0.1", lonely.port());
  for (const char* target :
       {"/gateway?fanout=4&ms=10", "/gateway?fanout=2&ms=10&mode=sequential"}) {
    const http_response r = c.request(get(target));
    EXPECT_EQ(r.status, 502) << target;
    EXPECT_EQ(r.body, "Bad Gateway") << target;
  }
  EXPECT_TRUE(lonely.stop().clean());
}

INSTANTIATE_TEST_SUITE_P(models, gateway,
                         ::testing::Values("thread_per_request", "thread_pool", "event_loop",
                                           "fiber", "coroutine"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace lab
