#include "load_result.h"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

namespace lab::load {
namespace {

load_result sample(std::uint64_t seed, std::uint64_t responses) {
  load_result r;
  r.url = "http://127.0.0.1:8080/";
  r.offered_rate = 1000;
  r.arrivals = "uniform";
  r.seed = seed;
  r.duration_s = 2;
  r.timeout_s = 5;
  r.connections_cap = 100;
  r.connections_opened = 3;
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(11, 1.5);
  for (std::uint64_t i = 0; i < responses; ++i) {
    r.latency.record(static_cast<std::uint64_t>(dist(rng)));
    r.send_lag.record(rng() % 100000);
  }
  r.responses = responses;
  r.errors.timeout = seed;
  r.errors.status = 2;
  r.requests = responses + seed;
  r.achieved_rate = responses / 2.0;
  r.client_cpu_s = 0.5;
  r.wall_s = 2.1;
  return r;
}

TEST(load_result, json_round_trip) {
  const auto r = sample(1, 5000);
  const auto back = load_result::from_json(nlohmann::json::parse(r.to_json_text()));
  EXPECT_EQ(back.to_json(), r.to_json());
  const auto j = r.to_json();
  for (const char* field : {"tool", "version", "mode", "url", "offered_rate", "achieved_rate",
                            "duration_s", "connections_cap", "connections_opened", "threads",
                            "arrivals", "requests", "responses", "errors", "send_lag_us",
                            "latency_us", "histogram", "client_cpu_s", "wall_s"})
    EXPECT_TRUE(j.contains(field)) << field;
  for (const char* p : {"p50", "p90", "p99", "p99_9", "p99_99", "max", "mean"})
    EXPECT_TRUE(j["latency_us"][p].is_number()) << p;
  EXPECT_DOUBLE_EQ(j["latency_us"]["max"].get<double>(), r.latency.max() / 1000.0);
}

TEST(load_result, empty_result_has_null_percentiles) {
  load_result r;
  r.url = "http://127.0.0.1:1/";
  const auto j = r.to_json();
  EXPECT_TRUE(j["latency_us"]["p99"].is_null());
  EXPECT_TRUE(j["send_lag_us"]["max"].is_null());
  EXPECT_NO_THROW(load_result::from_json(j));
}

TEST(load_result, merge_adds_counts_and_histograms) {
  const auto a = sample(1, 4000), b = sample(2, 6000);
  const auto m = merge_results({a, b});
  EXPECT_EQ(m.parts, 2);
  EXPECT_EQ(m.requests, a.requests + b.requests);
  EXPECT_EQ(m.responses, 10000u);
  EXPECT_EQ(m.errors.timeout, 3u);
  EXPECT_EQ(m.errors.status, 4u);
  EXPECT_DOUBLE_EQ(*m.offered_rate, 2000);
  EXPECT_DOUBLE_EQ(m.achieved_rate, 5000);
  EXPECT_DOUBLE_EQ(m.client_cpu_s, 1.0);
  EXPECT_DOUBLE_EQ(m.duration_s, 2);
  EXPECT_EQ(m.connections_opened, 6u);
  EXPECT_FALSE(m.seed.has_value());  // different seeds
  auto expected = a.latency;
  expected.merge(b.latency);
  EXPECT_EQ(m.latency, expected);
  EXPECT_EQ(m.latency.percentile(99), expected.percentile(99));
  EXPECT_EQ(m.send_lag.count(), 10000u);
  EXPECT_TRUE(m.to_json().contains("send_lag_note"));
}

TEST(load_result, merge_refuses_mixed_results) {
  auto a = sample(1, 10), b = sample(2, 10);
  b.mode = "closed";
  b.offered_rate.reset();
  EXPECT_THROW(merge_results({a, b}), std::invalid_argument);
  b = sample(2, 10);
  b.url = "http://127.0.0.1:9/";
  EXPECT_THROW(merge_results({a, b}), std::invalid_argument);
  EXPECT_THROW(merge_results({}), std::invalid_argument);
}

TEST(load_result, responses_per_second_count_merge_and_round_trip) {
  std::vector<std::uint64_t> curve;
  count_in_second(curve, -5);              // before the window: second 0
  count_in_second(curve, 999'999'999);     // still second 0
  count_in_second(curve, 2'000'000'000);   // second 2; second 1 stays 0
  EXPECT_EQ(curve, (std::vector<std::uint64_t>{2, 0, 1}));
  auto a = sample(1, 10), b = sample(2, 10);
  a.responses_per_second = {4, 6};
  b.responses_per_second = {1, 2, 7};
  EXPECT_EQ(merge_results({a, b}).responses_per_second, (std::vector<std::uint64_t>{5, 8, 7}));
  EXPECT_EQ(load_result::from_json(nlohmann::json::parse(b.to_json_text())).responses_per_second,
            b.responses_per_second);
  auto old_report = a.to_json();  // written before the field existed
  old_report.erase("responses_per_second");
  EXPECT_TRUE(load_result::from_json(old_report).responses_per_second.empty());
}

TEST(load_result, from_json_rejects_foreign_or_inconsistent_files) {
  auto j = sample(1, 10).to_json();
  auto other = j;
  other["tool"] = "wrk";
  EXPECT_THROW(load_result::from_json(other), std::invalid_argument);
  other = j;
  other["responses"] = 11;
  EXPECT_THROW(load_result::from_json(other), std::invalid_argument);
  other = j;
  other.erase("errors");
  EXPECT_THROW(load_result::from_json(other), std::invalid_argument);
}

}  // namespace
}  // namespace lab::load
