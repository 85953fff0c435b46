#include "stats.h"

#include <algorithm>

namespace lab {

spread summarize(std::vector<double> values) {
  spread s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  s.min = values.front();
  s.max = values.back();
  s.median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  return s;
}

bool is_noisy(const spread& s, double threshold) {
  if (s.median <= 0) return false;
  return (s.max - s.min) / s.median > threshold;
}

nlohmann::json spread_to_json(const spread& s) {
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

}  // namespace lab
