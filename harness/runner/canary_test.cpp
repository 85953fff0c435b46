// The canary's `starved` rule and its probe against a listener that never answers.
#include "canary.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

TEST(RunnerCanary, StarvationLimitIsHalfTheRunButReachable) {
  // max(2 s, 50 %), capped at 60 % of the run (the canary starts 20 % in).
  EXPECT_DOUBLE_EQ(lab::starvation_limit_s(2), 1.2);
  EXPECT_DOUBLE_EQ(lab::starvation_limit_s(1), 0.6);
  EXPECT_DOUBLE_EQ(lab::starvation_limit_s(3), 1.8);
  EXPECT_DOUBLE_EQ(lab::starvation_limit_s(5), 2.5);
  EXPECT_DOUBLE_EQ(lab::starvation_limit_s(15), 7.5);
  EXPECT_DOUBLE_EQ(lab::starvation_limit_s(60), 30.0);
}

TEST(RunnerCanary, StarvedWhenTheFirstRequestWaitsTooLong) {
  lab::canary_result served{30, 30, 0.4, 12.0};
  EXPECT_FALSE(lab::is_starved(served, 2));
  EXPECT_FALSE(lab::is_starved(served, 15));
  lab::canary_result never{1, 0, std::nullopt, 1600.0};  // waited the whole 2 s run's window
  EXPECT_TRUE(lab::is_starved(never, 2));
  EXPECT_FALSE(lab::is_starved(never, 15));  // 1.6 s of 7.5 s allowed: not (yet) starved
  lab::canary_result late{5, 5, 1300.0, 1300.0};  // answered, but after 1.3 s
  EXPECT_TRUE(lab::is_starved(late, 2));
  EXPECT_FALSE(lab::is_starved(late, 5));
  lab::canary_result cut_short{1, 0, std::nullopt, 500.0};  // the run ended soon after it joined
  EXPECT_FALSE(lab::is_starved(cut_short, 2));
  // Later slow answers do not flag: only the first request tells a connection was left waiting.
  lab::canary_result later_slow{3, 2, 2.0, 5000.0};
  EXPECT_FALSE(lab::is_starved(later_slow, 2));
  const auto j = never.to_json();
  EXPECT_TRUE(j["first_response_ms"].is_null());
  EXPECT_EQ(j["max_wait_ms"], 1600.0);
  EXPECT_EQ(j["requests_sent"], 1);
  EXPECT_EQ(served.to_json()["first_response_ms"], 0.4);
}

TEST(RunnerCanary, ProbeOfAListenerThatNeverAnswersRecordsTheWait) {
  // The kernel completes the connect from the backlog; nobody ever accepts or answers.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const auto t0 = std::chrono::steady_clock::now();
  lab::canary_probe probe("127.0.0.1", ntohs(addr.sin_port), "/plaintext",
                          std::chrono::milliseconds(100), std::chrono::seconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto seen = probe.finish();
  const double elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  close(fd);
  EXPECT_EQ(seen.requests_sent, 1);
  EXPECT_EQ(seen.responses, 0);
  EXPECT_FALSE(seen.first_response_ms);
  EXPECT_GE(seen.max_wait_ms, 350);  // joined at 100 ms, stopped at ~500 ms
  EXPECT_LE(seen.max_wait_ms, elapsed_ms);
  EXPECT_LT(elapsed_ms, 1000);  // finish() stops it promptly
}

// A generator that only waits: run_with_canary works with any implementation of the interface.
class waiting_generator : public lab::load_generator {
 public:
  std::string name() const override { return "waiting"; }
  lab::load_result run(const lab::load_request& request) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(request.duration_s * 1000)));
    lab::load_result r;
    r.generator = name();
    r.responses = r.requests = 7;
    return r;
  }
  void load_only(const lab::load_request&, double) override {}
};

TEST(RunnerCanary, WrapsAnyGeneratorAndStopsWhenItEnds) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  waiting_generator generator;
  lab::load_request request;
  request.duration_s = 2;
  const auto t0 = std::chrono::steady_clock::now();
  auto run = lab::run_with_canary(generator, request, "127.0.0.1", ntohs(addr.sin_port), "/plaintext");
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  close(fd);
  EXPECT_EQ(run.load.generator, "waiting");
  EXPECT_EQ(run.load.responses, 7u);
  EXPECT_EQ(run.canary.requests_sent, 1);  // joined at 0.2 s, never answered
  EXPECT_EQ(run.canary.responses, 0);
  EXPECT_TRUE(run.starved);  // waited ~1.6 s of a 2 s run: over the 1.2 s limit
  EXPECT_GE(run.canary.max_wait_ms, 1200);
  EXPECT_LT(elapsed, 4);
}
