// Capacity at SLO: pass/fail of a point, the edge of the sweep (points above the first failure
// never count), the bisection between the edge's rates, and the capacity[] entry's status.
#include "capacity.h"

#include <gtest/gtest.h>

#include "test_support.h"

using nlohmann::json;

namespace {

lab::capacity_point point(double rate, bool passed) {
  lab::capacity_point p;
  p.rate = rate;
  p.passed = passed;
  p.p99_us = passed ? 1000 : 50000;
  return p;
}

}  // namespace

TEST(RunnerCapacity, APointPassesUnderTheSloKeptUpAndWithoutErrors) {
  EXPECT_TRUE(lab::meets_slo(9999, false, 0, 10));
  EXPECT_FALSE(lab::meets_slo(10000, false, 0, 10));  // "under": strictly below
  EXPECT_FALSE(lab::meets_slo(100, true, 0, 10));     // overloaded: the rate was not served
  EXPECT_TRUE(lab::meets_slo(100, false, 0.001, 10));
  EXPECT_FALSE(lab::meets_slo(100, false, 0.0011, 10));
  auto m = lab::testing::open_measurement("a", 5000, 0, 4990, 9000);
  auto p = lab::capacity_point_of(m, 10);
  EXPECT_EQ(p.rate, 5000);
  EXPECT_EQ(p.p99_us, 9000);
  EXPECT_FALSE(p.overloaded);
  EXPECT_TRUE(p.passed);
  EXPECT_FALSE(lab::capacity_point_of(m, 9).passed);
  m["errors"]["timeout"] = 100;  // 100 of 10,000 sent
  EXPECT_NEAR(lab::capacity_point_of(m, 10).error_fraction, 0.01, 1e-9);
  EXPECT_FALSE(lab::capacity_point_of(m, 10).passed);
  auto over = lab::testing::open_measurement("a", 5000, 0, 3000, 100, {"overloaded"}, true);
  EXPECT_TRUE(lab::capacity_point_of(over, 10).overloaded);
  EXPECT_TRUE(lab::capacity_point_of(over, 10).search_step);
  EXPECT_FALSE(lab::capacity_point_of(over, 10).passed);
}

TEST(RunnerCapacity, EdgeIsTheFirstFailureAndTheHighestPassBelowIt) {
  // Unordered input; a (noisy) pass above the first failure is not trusted.
  auto edge = lab::find_edge({point(4000, false), point(1000, true), point(5000, true), point(3000, true)});
  EXPECT_EQ(edge.last_passing, 3000);
  EXPECT_EQ(edge.first_failing, 4000);
  edge = lab::find_edge({point(1000, true), point(2000, true)});
  EXPECT_EQ(edge.last_passing, 2000);
  EXPECT_FALSE(edge.first_failing);
  edge = lab::find_edge({point(1000, false), point(2000, true)});
  EXPECT_FALSE(edge.last_passing);
  EXPECT_EQ(edge.first_failing, 1000);
  EXPECT_FALSE(lab::find_edge({}).first_failing);
}

TEST(RunnerCapacity, BisectionHalvesTheBracketForTheGivenSteps) {
  // A server whose p99 crosses the SLO at 7,300 req/s, swept at 5,000 and 10,000.
  const double true_capacity = 7300;
  std::vector<lab::capacity_point> points = {point(5000, true), point(10000, false)};
  std::vector<double> tried;
  int steps = 0;
  while (auto rate = lab::next_search_rate(points, steps, 3)) {
    ++steps;
    tried.push_back(*rate);
    points.push_back(point(*rate, *rate <= true_capacity));
  }
  EXPECT_EQ(tried, (std::vector<double>{7500, 6250, 6875}));
  auto edge = lab::find_edge(points);
  EXPECT_EQ(edge.last_passing, 6875);
  EXPECT_EQ(edge.first_failing, 7500);
  // No bracket: nothing to search.
  EXPECT_FALSE(lab::next_search_rate({point(1000, true), point(2000, true)}, 0, 3));
  EXPECT_FALSE(lab::next_search_rate({point(1000, false)}, 0, 3));
  // Steps used up, or a bracket too narrow to split (< 1 % of the passing rate).
  EXPECT_FALSE(lab::next_search_rate({point(5000, true), point(10000, false)}, 3, 3));
  EXPECT_FALSE(lab::next_search_rate({point(10000, true), point(10090, false)}, 0, 3));
  EXPECT_FALSE(lab::next_search_rate({point(1, true), point(2, false)}, 0, 3));
}

TEST(RunnerCapacity, EntryStatusFromThePoints) {
  auto ok = lab::capacity_entry("a", "lat", 10, 10000.0, {point(2500, true), point(5000, true), point(7500, false)});
  EXPECT_EQ(ok["status"], "ok");
  EXPECT_EQ(ok["capacity_rps"], 5000.0);
  EXPECT_EQ(ok["first_failing_rps"], 7500.0);
  EXPECT_EQ(ok["probe_rps"], 10000.0);
  EXPECT_EQ(ok["slo_p99_ms"], 10.0);
  EXPECT_TRUE(ok["reason"].is_null());
  ASSERT_EQ(ok["points"].size(), 3u);
  EXPECT_EQ(ok["points"][2]["passed"], false);
  auto all = lab::capacity_entry("a", "lat", 10, std::nullopt, {point(2500, true)});
  EXPECT_EQ(all["status"], "all_passed");
  EXPECT_EQ(all["capacity_rps"], 2500.0);  // at least this much
  EXPECT_TRUE(all["first_failing_rps"].is_null());
  EXPECT_TRUE(all["probe_rps"].is_null());
  auto none = lab::capacity_entry("a", "lat", 10, 10000.0, {point(1000, false), point(2000, false)});
  EXPECT_EQ(none["status"], "none_passed");
  EXPECT_TRUE(none["capacity_rps"].is_null());
  EXPECT_EQ(none["first_failing_rps"], 1000.0);
  auto failed = lab::capacity_entry("a", "lat", 10, std::nullopt, {}, "capacity probe failed: x");
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["reason"], "capacity probe failed: x");
  EXPECT_TRUE(failed["capacity_rps"].is_null());
}
