// Timing-sensitive end-to-end tests (CTest RESOURCE_LOCK timing): the offered rate is met,
// and a server stall shows in open-loop percentiles (no coordinated omission) while a
// closed-loop client hides it. Margins are wide enough for a busy 2-core machine.
#include "load_engine.h"

#include <gtest/gtest.h>

#include <iostream>

#include "test_http_server.h"

namespace lab::load {
namespace {

using testing::test_http_server;
using testing::test_server_options;

constexpr std::uint64_t ms = 1'000'000;  // histogram values are nanoseconds

TEST(load_timing, achieved_rate_matches_offered_rate) {
  test_http_server server;
  raw_load_options raw;
  raw.url = server.url();
  raw.rate = 2000;
  raw.duration_s = 1.5;
  const auto r = run_load(make_load_options(raw));
  std::cout << r.summary();
  // The schedule is exact: 1.5 s at 2000/s is 3000 intended sends, however late they go out.
  EXPECT_EQ(r.requests, 3000u);
  EXPECT_EQ(r.responses + r.errors.failed(), r.requests);
  EXPECT_NEAR(r.achieved_rate, 2000, 400);
  EXPECT_EQ(server.requests(), r.requests);
  EXPECT_EQ(r.send_lag.count(), r.requests);
  EXPECT_LT(r.send_lag.percentile(50), 20 * ms);
}

TEST(load_timing, open_loop_latency_shows_a_server_stall) {
  // The server answers nothing for 300 ms starting 1 s into a 3 s run at 1000/s, then
  // answers everything queued. ~300 of 3000 requests were due during the stall and waited
  // 0..300 ms for it: the top 1 % waited >= ~270 ms.
  test_server_options so;
  so.mode = test_server_options::behavior::stall;
  so.stall_after = std::chrono::milliseconds(1000);
  so.stall_for = std::chrono::milliseconds(300);
  test_http_server server(so);
  raw_load_options raw;
  raw.url = server.url();
  raw.rate = 1000;
  raw.duration_s = 3;
  const auto r = run_load(make_load_options(raw));
  std::cout << r.summary();
  EXPECT_EQ(r.errors.failed(), 0u);
  EXPECT_EQ(r.responses, 3000u);
  EXPECT_GE(r.latency.percentile(99), 200 * ms);
  EXPECT_GE(r.latency.max(), 250 * ms);
  EXPECT_LT(r.latency.percentile(50), 100 * ms);  // most requests never saw the stall
  EXPECT_GE(r.connections_opened, 100u);  // requests during the stall each needed a connection
}

TEST(load_timing, closed_loop_hides_the_same_stall) {
  // The contrast that motivates the open loop: one connection waits out the stall once, and
  // the thousands of fast requests around it push the stall out of p99.
  test_server_options so;
  so.mode = test_server_options::behavior::stall;
  so.stall_after = std::chrono::milliseconds(500);
  so.stall_for = std::chrono::milliseconds(300);
  test_http_server server(so);
  raw_load_options raw;
  raw.url = server.url();
  raw.connections = 1;
  raw.duration_s = 1.5;
  const auto r = run_load(make_load_options(raw));
  std::cout << r.summary();
  EXPECT_EQ(r.errors.failed(), 0u);
  EXPECT_GE(r.latency.max(), 250 * ms);
  ASSERT_GT(r.responses, 1000u);  // else one slow request would be more than 1 %
  EXPECT_LT(r.latency.percentile(99), 200 * ms);
}

}  // namespace
}  // namespace lab::load
