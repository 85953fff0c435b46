#include "latency_histogram.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace lab::load {

std::size_t histogram_layout::bucket_count() const {
  return static_cast<std::size_t>(max_value_bits - sub_bucket_bits + 1) << sub_bucket_bits;
}

void histogram_layout::validate() const {
  if (sub_bucket_bits < 1 || sub_bucket_bits > 16)
    throw std::invalid_argument("histogram layout: sub_bucket_bits must be 1..16, got " +
                                std::to_string(sub_bucket_bits));
  if (max_value_bits <= sub_bucket_bits || max_value_bits > 63)
    throw std::invalid_argument("histogram layout: max_value_bits must be in (sub_bucket_bits, 63], got " +
                                std::to_string(max_value_bits));
}

latency_histogram::latency_histogram(histogram_layout layout)
    : layout_(layout), top_value_(0) {
  layout_.validate();
  top_value_ = (std::uint64_t{1} << layout_.max_value_bits) - 1;
  counts_.assign(layout_.bucket_count(), 0);
}

std::uint64_t latency_histogram::bucket_lower(std::size_t index) const {
  const int bits = layout_.sub_bucket_bits;
  if (index < (std::size_t{2} << bits)) return index;
  const int shift = static_cast<int>(index >> bits) - 1;
  const std::uint64_t mantissa = index - (static_cast<std::size_t>(shift) << bits);
  return mantissa << shift;
}

std::uint64_t latency_histogram::bucket_width(std::size_t index) const {
  const int bits = layout_.sub_bucket_bits;
  if (index < (std::size_t{2} << bits)) return 1;
  return std::uint64_t{1} << ((index >> bits) - 1);
}

std::uint64_t latency_histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // Rank of the wanted value among the sorted values, 1-based; ceil so that p99 of 100 values
  // is the 99th, and at least 1 so that p0 is the minimum.
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  // The extremes are known exactly.
  if (rank == 1) return min_;
  if (rank == count_) return max_;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const std::uint64_t mid = bucket_lower(i) + bucket_width(i) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;  // unreachable when counts add up to count_
}

void latency_histogram::merge(const latency_histogram& other) {
  if (!(layout_ == other.layout_))
    throw std::invalid_argument("histogram merge: layouts differ (sub_bucket_bits " +
                                std::to_string(layout_.sub_bucket_bits) + "/" +
                                std::to_string(other.layout_.sub_bucket_bits) + ", max_value_bits " +
                                std::to_string(layout_.max_value_bits) + "/" +
                                std::to_string(other.layout_.max_value_bits) + ")");
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

nlohmann::json latency_histogram::to_json() const {
  nlohmann::json buckets = nlohmann::json::array();
  for (std::size_t i = 0; i < counts_.size(); ++i)
    if (counts_[i]) buckets.push_back({i, counts_[i]});
  return {{"layout",
           {{"unit", "ns"},
            {"sub_bucket_bits", layout_.sub_bucket_bits},
            {"max_value_bits", layout_.max_value_bits}}},
          {"count", count_},
          {"min", min()},
          {"max", max_},
          {"sum", sum_},
          {"buckets", std::move(buckets)}};
}

latency_histogram latency_histogram::from_json(const nlohmann::json& j) {
  try {
    const auto& l = j.at("layout");
    if (l.value("unit", "ns") != "ns")
      throw std::invalid_argument("histogram: unit must be \"ns\"");
    histogram_layout layout{l.at("sub_bucket_bits").get<int>(), l.at("max_value_bits").get<int>()};
    latency_histogram h(layout);
    std::uint64_t total = 0;
    for (const auto& b : j.at("buckets")) {
      if (!b.is_array() || b.size() != 2)
        throw std::invalid_argument("histogram: a bucket must be [index, count]");
      const auto index = b[0].get<std::uint64_t>();
      const auto n = b[1].get<std::uint64_t>();
      if (index >= h.counts_.size())
        throw std::invalid_argument("histogram: bucket index " + std::to_string(index) +
                                    " out of range");
      h.counts_[index] += n;
      total += n;
    }
    h.count_ = j.at("count").get<std::uint64_t>();
    if (total != h.count_)
      throw std::invalid_argument("histogram: bucket counts add up to " + std::to_string(total) +
                                  ", count says " + std::to_string(h.count_));
    h.sum_ = j.at("sum").get<std::uint64_t>();
    if (h.count_) {
      h.min_ = j.at("min").get<std::uint64_t>();
      h.max_ = j.at("max").get<std::uint64_t>();
      if (h.min_ > h.max_) throw std::invalid_argument("histogram: min > max");
    }
    return h;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("histogram: ") + e.what());
  }
}

bool latency_histogram::operator==(const latency_histogram& other) const {
  return layout_ == other.layout_ && count_ == other.count_ && sum_ == other.sum_ &&
         min() == other.min() && max_ == other.max_ && counts_ == other.counts_;
}

}  // namespace lab::load
