// {bin}/downstream end to end: /delay waits at least M ms and echoes i and M, /stats counts,
// a caller that closes while its /delay waits is counted as cancelled at once, and the tail
// profile adds its extra time. Bounds are lower bounds or generous upper ones.
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>
#include <thread>

#include "http_client.h"
#include "server_process.h"

namespace lab {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

server_process start_downstream(const std::vector<std::string>& extra = {}) {
  server_spec spec;
  spec.name = "downstream";
  spec.start = {"{bin}/downstream", "--host", "{host}", "--port", "{port}", "--threads", "1"};
  spec.start.insert(spec.start.end(), extra.begin(), extra.end());
  server_start_options o;
  const char* root = std::getenv("LAB_ROOT");
  o.values.root = root && *root ? fs::path(root) : fs::current_path();
  o.values.bin = default_bin_dir(o.values.root);
  const fs::path logs =
      fs::temp_directory_path() / ("lab-downstream-test-" + std::to_string(::getpid()));
  fs::create_directories(logs);
  o.stdout_path = logs / "out";
  o.stderr_path = logs / "err";
  return server_process::start(spec, o);
}

std::uint64_t stat_of(int port, const std::string& name) {
  const http_response r = http_get("127.0.0.1", port, "/stats");
  std::smatch m;
  const std::regex field("\"" + name + "\":([0-9]+)");
  if (!std::regex_search(r.body, m, field))
    throw std::runtime_error("no " + name + " in " + r.body);
  return std::stoull(m[1]);
}

std::string get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

TEST(downstream, delay_answers_after_the_delay_and_counts_it) {
  server_process server = start_downstream();
  EXPECT_NE(server.listening_line().find("(downstream, 1 threads)"), std::string::npos)
      << server.listening_line();
  http_connection c("127.0.0.1", server.port());
  const auto start = clock_type::now();
  const http_response r = c.request(get("/delay?ms=0080&i=7"));
  EXPECT_GE(clock_type::now() - start, 80ms);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.body, R"({"i":7,"ms":80})");
  // Pipelined: answered in order on the same connection.
  c.send(get("/delay?ms=30&i=1") + get("/delay?ms=0&i=2"));
  EXPECT_EQ(c.read_response().body, R"({"i":1,"ms":30})");
  EXPECT_EQ(c.read_response().body, R"({"i":2,"ms":0})");
  EXPECT_EQ(stat_of(server.port(), "served"), 3u);
  EXPECT_EQ(stat_of(server.port(), "in_flight"), 0u);
  for (const char* bad :
       {"/delay?ms=60001&i=1", "/delay?ms=1", "/delay?i=1", "/delay?ms=1&i=1000001"})
    EXPECT_EQ(c.request(get(bad)).status, 400) << bad;
  EXPECT_EQ(c.request(get("/nothing")).status, 404);
  EXPECT_TRUE(server.stop().clean());
}

TEST(downstream, a_caller_that_closes_while_waiting_is_counted_as_cancelled) {
  server_process server = start_downstream();
  {
    http_connection c("127.0.0.1", server.port());
    c.send(get("/delay?ms=5000&i=1"));
    for (const auto until = clock_type::now() + 2s; stat_of(server.port(), "in_flight") == 0;) {
      ASSERT_LT(clock_type::now(), until);
      std::this_thread::sleep_for(5ms);
    }
  }  // closed here
  const auto closed = clock_type::now();
  while (stat_of(server.port(), "cancelled") == 0 && clock_type::now() - closed < 2s)
    std::this_thread::sleep_for(5ms);
  EXPECT_LT(clock_type::now() - closed, 200ms);
  EXPECT_EQ(stat_of(server.port(), "cancelled"), 1u);
  EXPECT_EQ(stat_of(server.port(), "in_flight"), 0u);
  EXPECT_EQ(stat_of(server.port(), "served"), 0u);
  EXPECT_TRUE(server.stop().clean());
}

TEST(downstream, tail_profile_with_probability_one_adds_the_extra_time) {
  server_process server = start_downstream({"--delay", "tail:1:150", "--seed", "7"});
  const auto start = clock_type::now();
  const http_response r = http_get("127.0.0.1", server.port(), "/delay?ms=10&i=0");
  EXPECT_GE(clock_type::now() - start, 160ms);
  EXPECT_EQ(r.body, R"({"i":0,"ms":10})");  // the body echoes the requested M
  EXPECT_TRUE(server.stop().clean());
}

TEST(downstream, rejects_an_unknown_delay_profile) {
  EXPECT_THROW(start_downstream({"--delay", "uniform"}), server_start_error);
}

}  // namespace
}  // namespace lab
