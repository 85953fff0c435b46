// latency_histogram: a log-linear histogram of non-negative integer values (the load generator
// records nanoseconds). Each power-of-two range is split into 2^sub_bucket_bits equal buckets,
// so a bucket is never wider than 1/2^sub_bucket_bits of its lower bound; values are reported
// as the bucket's midpoint, clamped to the exact min and max, so the relative error of any
// reported value is at most 1/2^(sub_bucket_bits+1) (0.39 % with the default 7 bits). Values
// below 2^(sub_bucket_bits+1) have buckets of width 1 (exact). Values of 2^max_value_bits or
// more land in the top bucket (min/max/sum stay exact). The default layout covers 1 ns to
// 1099 s in 4352 buckets (35 KB).
// Two histograms of the same layout merge exactly by adding bucket counts; different layouts
// refuse to merge. record() never allocates. Not thread-safe: one histogram per thread, merged
// at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace lab::load {

struct histogram_layout {
  int sub_bucket_bits = 7;   // 1..16: 2^bits linear buckets per power of two
  int max_value_bits = 40;   // values < 2^max_value_bits are bucketed precisely
  std::size_t bucket_count() const;
  bool operator==(const histogram_layout&) const = default;
  // Throws std::invalid_argument unless 1 <= sub_bucket_bits <= 16 and
  // sub_bucket_bits < max_value_bits <= 63.
  void validate() const;
};

class latency_histogram {
 public:
  explicit latency_histogram(histogram_layout layout = {});

  void record(std::uint64_t value) {
    ++counts_[index_of(value)];
    ++count_;
    sum_ += value;
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  std::uint64_t max() const { return max_; }
  std::uint64_t sum() const { return sum_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
  // The value at percentile p (0..100): the smallest recorded value v such that at least p %
  // of the values are <= v, within the layout's error bound (exact for the minimum and the
  // maximum rank). 0 when empty.
  std::uint64_t percentile(double p) const;

  // Adds other's counts. Throws std::invalid_argument if the layouts differ.
  void merge(const latency_histogram& other);

  const histogram_layout& layout() const { return layout_; }
  // Bucket arithmetic, public for tests and for readers of the JSON form.
  std::size_t index_of(std::uint64_t value) const {
    if (value > top_value_) value = top_value_;
    // Index = (shift << bits) + (value >> shift), where shift drops all but the top bits+1
    // significant bits: contiguous, and the identity below 2^(bits+1).
    const int msb = 63 - __builtin_clzll(value | 1);
    const int shift = msb > layout_.sub_bucket_bits ? msb - layout_.sub_bucket_bits : 0;
    return (static_cast<std::size_t>(shift) << layout_.sub_bucket_bits) + (value >> shift);
  }
  std::uint64_t bucket_lower(std::size_t index) const;
  std::uint64_t bucket_width(std::size_t index) const;
  std::uint64_t count_at(std::size_t index) const { return counts_[index]; }

  // {"layout":{"unit":"ns","sub_bucket_bits":7,"max_value_bits":40},"count":..,"min":..,
  //  "max":..,"sum":..,"buckets":[[index,count],...]} with only non-empty buckets.
  nlohmann::json to_json() const;
  // Inverse of to_json. Throws std::invalid_argument on a bad layout, an index out of range
  // or counts that do not add up.
  static latency_histogram from_json(const nlohmann::json& j);

  bool operator==(const latency_histogram& other) const;

 private:
  histogram_layout layout_;
  std::uint64_t top_value_;  // 2^max_value_bits - 1: larger values are clamped to it
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

}  // namespace lab::load
