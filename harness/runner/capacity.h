// Capacity at SLO: for one server and one open-loop scenario with slo_p99_ms, the highest
// offered rate whose p99 latency stays under the SLO, that the server kept up with (not
// `overloaded`) and that drew (almost) no errors. Found from the sweep's points — the first
// failing rate and the highest passing rate below it — then refined by bisection between those
// two, each step one more measurement. Points above the first failure are not trusted to pass
// (noise at the edge), so capacity is never above a failing rate. Pure functions;
// thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lab {

// A point fails the SLO when more than this share of its requests ended in an error: the
// latency of the answered ones would hide the failed ones.
inline constexpr double capacity_error_tolerance = 0.001;

struct capacity_point {
  double rate = 0;       // offered req/s
  double p99_us = 0;
  bool overloaded = false;
  double error_fraction = 0;
  bool search_step = false;
  bool passed = false;
};

// A point from an ok open-loop measurement record (passed judged against slo_p99_ms).
capacity_point capacity_point_of(const nlohmann::json& measurement, double slo_p99_ms);
bool meets_slo(double p99_us, bool overloaded, double error_fraction, double slo_p99_ms);

struct capacity_edge {
  std::optional<double> last_passing;   // highest passing rate below first_failing
  std::optional<double> first_failing;  // lowest failing rate
};
capacity_edge find_edge(std::vector<capacity_point> points);

// The next bisection rate (a whole req/s between the edge's two rates), or nullopt when the
// search is over: `steps` done, no bracket (none or all passed), or the bracket is too narrow
// to split (less than 1 % of the passing rate or 2 req/s).
std::optional<double> next_search_rate(const std::vector<capacity_point>& points, int steps_done,
                                       int steps);

// The capacity[] entry (docs/results-schema.md). `failure`: why there are no points (status
// "failed"); otherwise ok / none_passed / all_passed from the points.
nlohmann::json capacity_entry(const std::string& server, const std::string& scenario,
                              double slo_p99_ms, std::optional<double> probe_rps,
                              const std::vector<capacity_point>& points,
                              const std::string& failure = "");

}  // namespace lab
