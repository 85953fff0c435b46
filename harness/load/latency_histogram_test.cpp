#include "latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

namespace lab::load {
namespace {

// The exact percentile of sorted values with the same rank rule as the histogram.
std::uint64_t exact_percentile(const std::vector<std::uint64_t>& sorted, double p) {
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * sorted.size()));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

TEST(latency_histogram, index_and_bounds_are_contiguous) {
  latency_histogram h;
  std::uint64_t expected_lower = 0;
  for (std::size_t i = 0; i < h.layout().bucket_count(); ++i) {
    ASSERT_EQ(h.bucket_lower(i), expected_lower) << "bucket " << i;
    ASSERT_EQ(h.index_of(h.bucket_lower(i)), i);
    ASSERT_EQ(h.index_of(h.bucket_lower(i) + h.bucket_width(i) - 1), i);
    expected_lower += h.bucket_width(i);
  }
  EXPECT_EQ(expected_lower, std::uint64_t{1} << h.layout().max_value_bits);
}

TEST(latency_histogram, covers_1us_to_100s_within_one_percent) {
  latency_histogram h;
  // Every bucket from 1 us (1000 ns) up to 100 s is at most 1/128 of its lower bound wide.
  for (std::size_t i = h.index_of(1000); i <= h.index_of(100'000'000'000ULL); ++i)
    ASSERT_LE(static_cast<double>(h.bucket_width(i)) / std::max<std::uint64_t>(h.bucket_lower(i), 1),
              1.0 / 128) << "bucket " << i;
}

TEST(latency_histogram, reported_values_within_error_bound_for_random_values) {
  std::mt19937_64 rng(42);
  // Log-uniform values from 1 us to 100 s: every magnitude gets its share.
  std::uniform_real_distribution<double> log_value(std::log(1e3), std::log(1e11));
  for (int trial = 0; trial < 2000; ++trial) {
    const auto v = static_cast<std::uint64_t>(std::exp(log_value(rng)));
    latency_histogram h;
    h.record(v);
    h.record(v / 2);    // so that clamping to min/max cannot hide the bucket error
    h.record(v * 2);
    const double reported = static_cast<double>(h.percentile(50));
    ASSERT_LE(std::abs(reported - v) / v, 0.01) << "value " << v;
    ASSERT_LE(std::abs(reported - v) / v, 1.0 / 256 + 1e-9) << "value " << v;
  }
}

TEST(latency_histogram, percentiles_of_known_distribution) {
  // 1..100000 us, each once: p50 = 50000 us, p99 = 99000 us, p99.9 = 99900 us.
  latency_histogram h;
  std::vector<std::uint64_t> values;
  for (std::uint64_t us = 1; us <= 100000; ++us) values.push_back(us * 1000);
  std::shuffle(values.begin(), values.end(), std::mt19937_64(7));
  for (auto v : values) h.record(v);
  std::sort(values.begin(), values.end());
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 100'000'000u);
  EXPECT_DOUBLE_EQ(h.mean(), 50000.5 * 1000);
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    const double exact = static_cast<double>(exact_percentile(values, p));
    EXPECT_NEAR(static_cast<double>(h.percentile(p)), exact, exact * 0.01) << "p" << p;
  }
  EXPECT_EQ(h.percentile(100), 100'000'000u);
  EXPECT_EQ(h.percentile(0), 1000u);
}

TEST(latency_histogram, percentiles_of_exponential_distribution) {
  std::mt19937_64 rng(3);
  std::exponential_distribution<double> exp_ms(1.0);  // mean 1 ms
  latency_histogram h;
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 200000; ++i) {
    const auto v = static_cast<std::uint64_t>(exp_ms(rng) * 1e6) + 1000;
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {50.0, 90.0, 99.0, 99.9, 99.99}) {
    const double exact = static_cast<double>(exact_percentile(values, p));
    EXPECT_NEAR(static_cast<double>(h.percentile(p)), exact, exact * 0.01) << "p" << p;
  }
}

TEST(latency_histogram, empty_histogram) {
  latency_histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(99), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(latency_histogram::from_json(h.to_json()), h);
}

TEST(latency_histogram, huge_values_clamp_to_top_bucket_but_max_stays_exact) {
  latency_histogram h;
  h.record(UINT64_MAX / 2);
  EXPECT_EQ(h.count_at(h.layout().bucket_count() - 1), 1u);
  EXPECT_EQ(h.max(), UINT64_MAX / 2);
  EXPECT_EQ(h.percentile(50), UINT64_MAX / 2);
}

TEST(latency_histogram, merge_equals_histogram_of_concatenated_data) {
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> dist(12.0, 2.0);  // ~160 us median, wide tail
  latency_histogram a, b, all;
  for (int i = 0; i < 50000; ++i) {
    const auto v = static_cast<std::uint64_t>(dist(rng));
    (i % 3 ? a : b).record(v);
    all.record(v);
  }
  latency_histogram merged = a;
  merged.merge(b);
  EXPECT_EQ(merged, all);
  for (double p : {50.0, 99.0, 99.99}) EXPECT_EQ(merged.percentile(p), all.percentile(p));
  // And through JSON, as `lab_load merge` does it.
  auto from_a = latency_histogram::from_json(nlohmann::json::parse(a.to_json().dump()));
  from_a.merge(latency_histogram::from_json(nlohmann::json::parse(b.to_json().dump())));
  EXPECT_EQ(from_a, all);
}

TEST(latency_histogram, refuses_to_merge_different_layouts) {
  latency_histogram a, b(histogram_layout{8, 40});
  a.record(5);
  b.record(5);
  EXPECT_THROW(a.merge(b), std::invalid_argument);
  EXPECT_EQ(a.count(), 1u);
}

TEST(latency_histogram, json_keeps_only_non_empty_buckets) {
  latency_histogram h;
  for (int i = 0; i < 10; ++i) h.record(1'000'000);
  h.record(2'000'000);
  const auto j = h.to_json();
  EXPECT_EQ(j["buckets"].size(), 2u);
  EXPECT_EQ(j["layout"]["sub_bucket_bits"], 7);
  EXPECT_EQ(latency_histogram::from_json(j), h);
}

TEST(latency_histogram, from_json_rejects_inconsistent_input) {
  latency_histogram h;
  h.record(100);
  auto j = h.to_json();
  auto bad_count = j;
  bad_count["count"] = 2;
  EXPECT_THROW(latency_histogram::from_json(bad_count), std::invalid_argument);
  auto bad_index = j;
  bad_index["buckets"] = {{100000, 1}};
  EXPECT_THROW(latency_histogram::from_json(bad_index), std::invalid_argument);
  auto bad_layout = j;
  bad_layout["layout"]["sub_bucket_bits"] = 40;
  EXPECT_THROW(latency_histogram::from_json(bad_layout), std::invalid_argument);
  EXPECT_THROW(latency_histogram::from_json(nlohmann::json::object()), std::invalid_argument);
}

}  // namespace
}  // namespace lab::load
