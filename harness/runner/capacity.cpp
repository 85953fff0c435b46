#include "capacity.h"

#include <algorithm>
#include <cmath>

namespace lab {

using nlohmann::json;

bool meets_slo(double p99_us, bool overloaded, double error_fraction, double slo_p99_ms) {
  return p99_us < slo_p99_ms * 1000 && !overloaded && error_fraction <= capacity_error_tolerance;
}

capacity_point capacity_point_of(const json& m, double slo_p99_ms) {
  capacity_point p;
  p.rate = m.at("rate").get<double>();
  p.p99_us = m.at("latency_us").at("p99").get<double>();
  for (const auto& f : m.at("flags")) p.overloaded = p.overloaded || f == "overloaded";
  const auto& e = m.at("errors");
  double errors = 0;
  for (const char* k : {"connect", "read", "write", "timeout", "status"}) errors += e.value(k, 0.0);
  // lab_load's requests_sent already counts every outcome (responses and each kind of error).
  const double attempts = std::max(1.0, m.value("requests_sent", m.value("requests", 0.0)));
  p.error_fraction = errors / attempts;
  p.search_step = m.value("search_step", false);
  p.passed = meets_slo(p.p99_us, p.overloaded, p.error_fraction, slo_p99_ms);
  return p;
}

capacity_edge find_edge(std::vector<capacity_point> points) {
  std::sort(points.begin(), points.end(),
            [](const capacity_point& a, const capacity_point& b) { return a.rate < b.rate; });
  capacity_edge edge;
  for (const auto& p : points) {
    if (!p.passed) {
      edge.first_failing = p.rate;
      break;
    }
    edge.last_passing = p.rate;
  }
  return edge;
}

std::optional<double> next_search_rate(const std::vector<capacity_point>& points, int steps_done,
                                       int steps) {
  if (steps_done >= steps) return std::nullopt;
  const auto edge = find_edge(points);
  if (!edge.last_passing || !edge.first_failing) return std::nullopt;
  const double lo = *edge.last_passing, hi = *edge.first_failing;
  if (hi - lo < std::max(2.0, 0.01 * lo)) return std::nullopt;
  const double mid = std::round((lo + hi) / 2);
  if (mid <= lo || mid >= hi) return std::nullopt;
  return mid;
}

json capacity_entry(const std::string& server, const std::string& scenario, double slo_p99_ms,
                    std::optional<double> probe_rps, const std::vector<capacity_point>& points,
                    const std::string& failure) {
  std::vector<capacity_point> sorted = points;
  std::sort(sorted.begin(), sorted.end(),
            [](const capacity_point& a, const capacity_point& b) { return a.rate < b.rate; });
  json pts = json::array();
  for (const auto& p : sorted)
    pts.push_back({{"rate", p.rate}, {"p99_us", p.p99_us}, {"overloaded", p.overloaded},
                   {"error_fraction", p.error_fraction}, {"search_step", p.search_step},
                   {"passed", p.passed}});
  const auto edge = find_edge(sorted);
  std::string status = "ok";
  json reason = nullptr;
  if (sorted.empty()) {
    status = "failed";
    reason = failure.empty() ? "no open-loop measurement of this scenario finished" : failure;
  } else if (!edge.last_passing) {
    status = "none_passed";
  } else if (!edge.first_failing) {
    status = "all_passed";
  }
  auto number_or_null = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  return {{"server", server},
          {"scenario", scenario},
          {"slo_p99_ms", slo_p99_ms},
          {"probe_rps", number_or_null(probe_rps)},
          {"capacity_rps", number_or_null(edge.last_passing)},
          {"first_failing_rps", number_or_null(edge.first_failing)},
          {"points", pts},
          {"status", status},
          {"reason", reason}};
}

}  // namespace lab
