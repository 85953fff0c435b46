// Aggregation over repetitions: median with min–max, and the `noisy` rule. Pure functions.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

namespace lab {

struct spread {
  double median = 0, min = 0, max = 0;
};

// Median (mean of the two middle values for an even count), min and max. Empty → all 0.
spread summarize(std::vector<double> values);

// (max - min) / median > threshold; false for a zero median or fewer than two values' worth
// of spread.
bool is_noisy(const spread& s, double threshold = 0.10);

nlohmann::json spread_to_json(const spread& s);

}  // namespace lab
