// End-to-end tests of the engine, in process, against test_http_server on an ephemeral port.
// Margins are generous: the machine may be busy.
#include "load_engine.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>

#include "test_http_server.h"

namespace lab::load {
namespace {

using testing::test_http_server;
using testing::test_server_options;
using behavior = test_server_options::behavior;
using steady = std::chrono::steady_clock;

load_options open_loop(const std::string& url, double rate, double duration_s) {
  raw_load_options raw;
  raw.url = url;
  raw.rate = rate;
  raw.duration_s = duration_s;
  return make_load_options(raw);
}

load_options closed_loop(const std::string& url, int connections, double duration_s) {
  raw_load_options raw;
  raw.url = url;
  raw.connections = connections;
  raw.duration_s = duration_s;
  return make_load_options(raw);
}

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

// Every request ends in exactly one way.
void expect_accounted(const load_result& r) {
  EXPECT_EQ(r.requests, r.responses + r.errors.failed());
  EXPECT_EQ(r.latency.count(), r.responses);
}

// A port nothing listens on: bound, then closed.
int closed_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

TEST(load_engine, poisson_arrivals_with_two_threads) {
  test_http_server server;
  auto o = open_loop(server.url(), 2000, 1.0);
  o.arrivals = arrival_process::exponential;
  o.threads = 2;
  o.seed = 7;
  const auto r = run_load(o);
  expect_accounted(r);
  EXPECT_EQ(r.errors.failed(), 0u);
  // Poisson count over 1 s at 2000/s: sd ~45; 20 % is ~9 sd.
  EXPECT_NEAR(r.achieved_rate, 2000, 400);
  EXPECT_EQ(r.arrivals, "exp");
  EXPECT_EQ(r.threads, 2);
  EXPECT_EQ(server.requests(), r.requests);
}

TEST(load_engine, uniform_schedule_is_split_exactly_between_threads) {
  // Thread k of 3 sends slots k, k+3, ...: 0.5 s at 3000/s is 1500 intended sends in all.
  test_http_server server;
  auto o = open_loop(server.url(), 3000, 0.5);
  o.threads = 3;
  const auto r = run_load(o);
  expect_accounted(r);
  EXPECT_EQ(r.requests, 1500u);
  EXPECT_EQ(r.errors.failed(), 0u);
  EXPECT_EQ(server.requests(), 1500u);
}

TEST(load_engine, closed_loop_keeps_each_connection_busy) {
  test_http_server server;
  const auto r = run_load(closed_loop(server.url(), 3, 1.0));
  expect_accounted(r);
  EXPECT_EQ(r.mode, "closed");
  EXPECT_FALSE(r.offered_rate.has_value());
  EXPECT_EQ(r.errors.failed(), 0u);
  EXPECT_EQ(r.connections_opened, 3u);
  EXPECT_GT(r.responses, 300u);  // loopback round trips are ~tens of us; 300 is a loose floor
  EXPECT_EQ(r.send_lag.count(), 0u);
  // The per-second curve covers the 1 s window (plus at most a second of drain) and counts
  // every response once.
  ASSERT_GE(r.responses_per_second.size(), 1u);
  EXPECT_LE(r.responses_per_second.size(), 2u);
  std::uint64_t sum = 0;
  for (auto n : r.responses_per_second) sum += n;
  EXPECT_EQ(sum, r.responses);
}

TEST(load_engine, silent_server_requests_time_out_and_run_ends_in_time) {
  test_server_options so;
  so.mode = behavior::silent;
  test_http_server server(so);
  auto o = open_loop(server.url(), 200, 1.0);
  o.timeout_s = 0.5;
  const auto start = steady::now();
  const auto r = run_load(o);
  EXPECT_LT(seconds_since(start), 1.0 + 0.5 + 1.5);
  expect_accounted(r);
  EXPECT_EQ(r.responses, 0u);
  EXPECT_NEAR(static_cast<double>(r.requests), 200, 20);
  EXPECT_EQ(r.errors.timeout, r.requests);
}

TEST(load_engine, server_that_never_accepts_is_bounded_too) {
  test_server_options so;
  so.mode = behavior::never_accept;
  test_http_server server(so);
  auto o = open_loop(server.url(), 100, 0.5);
  o.timeout_s = 0.5;
  const auto start = steady::now();
  const auto r = run_load(o);
  EXPECT_LT(seconds_since(start), 0.5 + 0.5 + 1.5);
  expect_accounted(r);
  EXPECT_EQ(r.responses, 0u);
  EXPECT_GT(r.requests, 0u);
}

TEST(load_engine, closed_loop_against_silent_server_times_out) {
  test_server_options so;
  so.mode = behavior::silent;
  test_http_server server(so);
  auto o = closed_loop(server.url(), 2, 0.5);
  o.timeout_s = 0.3;
  const auto start = steady::now();
  const auto r = run_load(o);
  EXPECT_LT(seconds_since(start), 0.5 + 0.3 + 1.5);
  expect_accounted(r);
  EXPECT_EQ(r.responses, 0u);
  EXPECT_GE(r.errors.timeout, 2u);
}

TEST(load_engine, connection_refused_is_counted) {
  const int port = closed_port();
  auto o = open_loop("http://127.0.0.1:" + std::to_string(port) + "/", 500, 0.5);
  const auto start = steady::now();
  const auto r = run_load(o);
  EXPECT_LT(seconds_since(start), 0.5 + 1.5);
  expect_accounted(r);
  EXPECT_EQ(r.responses, 0u);
  EXPECT_GT(r.errors.connect, 0u);
  EXPECT_EQ(r.errors.connect, r.requests);
  EXPECT_NE(r.first_error.find("refused"), std::string::npos) << r.first_error;
}

TEST(load_engine, closed_loop_connection_refused_does_not_spin) {
  auto o = closed_loop("http://127.0.0.1:" + std::to_string(closed_port()) + "/", 2, 0.5);
  const auto start = steady::now();
  const auto r = run_load(o);
  EXPECT_LT(seconds_since(start), 0.5 + 1.5);
  expect_accounted(r);
  EXPECT_GT(r.errors.connect, 0u);
  // Retries wait for the next 10 ms sweep: at most ~2 x 50 attempts in 0.5 s.
  EXPECT_LT(r.errors.connect, 500u);
}

TEST(load_engine, non_2xx_statuses_are_counted_and_still_answers) {
  test_server_options so;
  so.response = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy";
  test_http_server server(so);
  const auto r = run_load(open_loop(server.url(), 500, 0.4));
  expect_accounted(r);
  EXPECT_GT(r.responses, 0u);
  EXPECT_EQ(r.errors.status, r.responses);
}

TEST(load_engine, connection_close_responses_reopen_connections) {
  test_server_options so;
  so.response = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
  so.close_after_response = true;
  test_http_server server(so);
  const auto r = run_load(open_loop(server.url(), 300, 0.5));
  expect_accounted(r);
  EXPECT_EQ(r.errors.failed(), 0u);
  EXPECT_EQ(r.connections_opened, r.responses);
}

TEST(load_engine, hostile_responses_are_read_errors) {
  for (const std::string& response :
       {std::string("garbage garbage\r\n\r\n"),
        "HTTP/1.1 200 OK\r\nX-Huge: " + std::string(100 * 1024, 'h') + "\r\n\r\n",
        std::string("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n"),
        std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnot-hex\r\n")}) {
    test_server_options so;
    so.response = response;
    test_http_server server(so);
    auto o = open_loop(server.url(), 200, 0.3);
    o.timeout_s = 1;
    const auto r = run_load(o);
    expect_accounted(r);
    EXPECT_EQ(r.responses, 0u) << response.substr(0, 40);
    EXPECT_EQ(r.errors.read, r.requests) << response.substr(0, 40);
  }
}

TEST(load_engine, truncated_body_then_close_is_a_read_error) {
  test_server_options so;
  so.response = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort";
  so.close_after_response = true;
  test_http_server server(so);
  const auto r = run_load(open_loop(server.url(), 200, 0.3));
  expect_accounted(r);
  EXPECT_EQ(r.responses, 0u);
  EXPECT_EQ(r.errors.read, r.requests);
}

TEST(load_engine, warmup_is_not_recorded) {
  test_http_server server;
  auto o = open_loop(server.url(), 1000, 0.5);
  o.warmup_s = 0.5;
  const auto r = run_load(o);
  expect_accounted(r);
  EXPECT_NEAR(static_cast<double>(r.requests), 500, 50);
  EXPECT_NEAR(static_cast<double>(server.requests()), 1000, 100);
}

}  // namespace
}  // namespace lab::load
