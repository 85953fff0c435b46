// The hostile checks against hostile_fake: the fake with no fault passes the categories it
// implements, and each fault — a server that falls over to one attack the way a naive one
// would — is caught by the check aimed at it, for the reason it was made to fail. Also the
// raw-response splitter on known bytes.
#include <unistd.h>

#include <gtest/gtest.h>

#include "attacks.h"
#include "hostile.h"
#include "hostile_fake.h"
#include "proc_sampler.h"

namespace lab {
namespace {

using namespace std::chrono_literals;

hostile_options options_for(const hostile_fake& fake) {
  hostile_options o;
  o.port = fake.port();
  o.sample = [] { return sample_process(::getpid()); };
  o.attack = 1000ms;
  o.during_limit = 2000ms;
  o.settle_limit = 3000ms;
  o.slow_clients = 50;
  o.flood_connections = 100;
  return o;
}

hostile_result run(const std::string& check, const hostile_faults& faults,
                   void (*adjust)(hostile_options&) = nullptr) {
  hostile_fake fake(faults);
  auto o = options_for(fake);
  if (adjust) adjust(o);
  return run_hostile_check(check, o);
}

TEST(hostile_split, responses_in_a_stream) {
  bool garbled = true;
  auto r = attack::split_responses(
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 400 Bad\r\nConnection: close\r\n"
      "Content-Length: 3\r\n\r\nbad",
      garbled);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_FALSE(garbled);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].body, "hi");
  EXPECT_TRUE(r[1].says_close);
  r = attack::split_responses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", garbled);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, "hi");
  EXPECT_FALSE(garbled);
  attack::split_responses("<html>", garbled);
  EXPECT_TRUE(garbled);
}

TEST(hostile_selftest, a_strict_server_passes_the_input_checks) {
  for (const char* check : {"hostile_request_line", "hostile_control_bytes", "hostile_oversized",
                            "hostile_many_headers", "hostile_garbage", "hostile_half_close_reset",
                            "hostile_deep_pipeline", "hostile_smuggling"}) {
    auto r = run(check, {});
    EXPECT_TRUE(r.passed) << check << ": " << r.detail;
  }
}

TEST(hostile_selftest, nul_in_a_header_value_served_200_is_caught) {
  auto r = run("hostile_control_bytes", {.accepts_control_bytes = true});
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.detail.find("NUL in a header value: a success answer"), std::string::npos) << r.detail;
}

TEST(hostile_selftest, a_server_that_falls_over_on_garbage_is_caught) {
  auto r = run("hostile_garbage", {.dies_on_garbage = true});
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.detail.find("could not connect"), std::string::npos) << r.detail;
}

TEST(hostile_selftest, a_header_without_limit_is_caught) {
  auto r = run("hostile_oversized", {.no_header_limit = true});
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.detail.find("a 9 KiB target: a success answer"), std::string::npos) << r.detail;
}

TEST(hostile_selftest, the_first_of_two_content_lengths_is_caught) {
  auto r = run("hostile_smuggling", {.first_content_length = true});
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.detail.find("two different Content-Length values"), std::string::npos) << r.detail;
}

TEST(hostile_selftest, threads_that_outlive_their_connections_are_caught) {
  auto r = run("hostile_idle_flood", {.leaks_threads = true});
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.detail.find("threads did not come back"), std::string::npos) << r.detail;
  auto fine = run("hostile_idle_flood", {});
  EXPECT_TRUE(fine.passed) << fine.detail;
}

// A pool of 4 threads, each held by a slow client: the normal request during the attack waits.
TEST(hostile_selftest, a_starved_fixed_pool_fails_unless_it_may_starve) {
  auto r = run("hostile_slowloris", {.fixed_pool = 4});
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(r.probed_during);
  EXPECT_FALSE(r.answered_during);
  EXPECT_NE(r.detail.find("not answered within"), std::string::npos) << r.detail;
  auto recorded = run("hostile_slowloris", {.fixed_pool = 4},
                      [](hostile_options& o) { o.may_starve = true; });
  EXPECT_TRUE(recorded.passed) << recorded.detail;
  EXPECT_FALSE(recorded.answered_during);
  EXPECT_NE(recorded.detail.find("recorded"), std::string::npos) << recorded.detail;
  auto thread_each = run("hostile_slowloris", {});
  EXPECT_TRUE(thread_each.passed) << thread_each.detail;
  EXPECT_TRUE(thread_each.answered_during);
}

TEST(hostile_selftest, unknown_check_fails_with_its_name) {
  hostile_options o;
  auto r = run_hostile_check("nope", o);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.detail.find("nope"), std::string::npos);
}

}  // namespace
}  // namespace lab
