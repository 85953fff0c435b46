#include "query.h"

#include <gtest/gtest.h>

#include "compute.h"

namespace lab {
namespace {

// The examples of docs/service-contract.md ("Query parameters"), with the bound of /compute.
TEST(QueryParameter, AcceptsTheContractsExamples) {
  const std::pair<const char*, std::uint32_t> accepted[] = {
      {"n=0", 0},
      {"n=1", 1},
      {"n=0000000001", 1},
      {"n=%31", 1},
      {"n=%31%30", 10},
      {"n=1&n=abc", 1},
      {"x=%zz&n=7", 7},      // a malformed escape elsewhere does not matter
      {"n=7&x=%zz", 7},
      {"x=1&n=7&y", 7},
      {"&&n=7", 7},
      {"nn=5&n=6", 6},
      {"n=10000000", 10'000'000},
      {"n=000000000000000000000010000000", 10'000'000},
      {"n=00000000000000000000000000010000000", 10'000'000},
  };
  for (const auto& [query, expected] : accepted) {
    const auto value = parse_query_uint(query, "n", compute_max_n);
    ASSERT_TRUE(value.has_value()) << query;
    EXPECT_EQ(*value, expected) << query;
  }
}

TEST(QueryParameter, RejectsTheContractsExamples) {
  for (const char* query : {
           "",            // no parameter at all
           "x=1",         // other parameters only
           "N=1",         // names are case-sensitive
           "nn=1",
           "%6E=1",       // names are compared raw, not decoded
           "n",           // no '='
           "n&n=1",       // the first pair named n has no value
           "n=",          // empty value
           "n=&n=1",
           "n=abc&n=1",   // the first pair counts, later ones are ignored
           "n=+1",        // '+' is a space
           "n=%2B1",      // "+1"
           "n=-1", "n=-0", "n=1e3", "n=0x10", "n=1.0", "n=1 ", "n=%201", "n=1%00",
           "n=1%",        // malformed escapes
           "n=%", "n=%3", "n=%zz", "n=%3G", "n=%%31",
           "n=10000001",  // above the bound
           "n=99999999999999999999",
           "n=99999999999999999999999999",
           "n=18446744073709551617",  // 2^64 + 1: must not wrap to 1
           "n=4294967297",            // 2^32 + 1: must not wrap to 1
       }) {
    EXPECT_FALSE(parse_query_uint(query, "n", compute_max_n).has_value()) << query;
  }
}

TEST(QueryParameter, BoundsAreInclusiveForAnyMax) {
  EXPECT_EQ(parse_query_uint("ms=60000", "ms", 60'000), 60'000u);
  EXPECT_FALSE(parse_query_uint("ms=60001", "ms", 60'000).has_value());
  EXPECT_EQ(parse_query_uint("ms=%30", "ms", 60'000), 0u);
  EXPECT_EQ(parse_query_uint("ms=0005", "ms", 60'000), 5u);
  EXPECT_EQ(parse_query_uint("v=4294967295", "v", 4'294'967'295u), 4'294'967'295u);
  EXPECT_FALSE(parse_query_uint("v=4294967296", "v", 4'294'967'295u).has_value());
  EXPECT_EQ(parse_query_uint("v=0", "v", 0), 0u);
  EXPECT_FALSE(parse_query_uint("v=1", "v", 0).has_value());
}

TEST(QueryParameter, DecodesEscapesInEitherCase) {
  // %3a and %3A are both ':' (not a digit); %30..%39 are the digits.
  EXPECT_FALSE(parse_query_uint("n=%3a", "n", 100).has_value());
  EXPECT_FALSE(parse_query_uint("n=%3A", "n", 100).has_value());
  EXPECT_EQ(parse_query_uint("n=%30%39%39", "n", 100), 99u);
}

// /gateway's mode: the same pair rule, a form-decoded text value compared exactly.
TEST(QueryParameter, ComparesADecodedTextValue) {
  EXPECT_TRUE(query_value_equals("mode=parallel", "mode", "parallel"));
  EXPECT_TRUE(query_value_equals("x=1&mode=%70arallel&mode=no", "mode", "parallel"));
  EXPECT_TRUE(query_value_equals("mode=a+b", "mode", "a b"));
  EXPECT_TRUE(query_value_equals("mode=", "mode", ""));
  EXPECT_FALSE(query_value_equals("mode=no&mode=parallel", "mode", "parallel"));  // the first counts
  EXPECT_FALSE(query_value_equals("mode=Parallel", "mode", "parallel"));
  EXPECT_FALSE(query_value_equals("mode=parallel2", "mode", "parallel"));
  EXPECT_FALSE(query_value_equals("mode=paralle", "mode", "parallel"));
  EXPECT_FALSE(query_value_equals("mode=%zzarallel", "mode", "parallel"));
  EXPECT_FALSE(query_value_equals("mode", "mode", "parallel"));
  EXPECT_FALSE(query_value_equals("%6Dode=parallel", "mode", "parallel"));
  EXPECT_FALSE(query_value_equals("", "mode", ""));
}

TEST(QueryParameter, TellsAPresentParameterWithoutValue) {
  EXPECT_TRUE(has_query_param("mode", "mode"));
  EXPECT_TRUE(has_query_param("a=1&mode=", "mode"));
  EXPECT_FALSE(has_query_param("modes=1&a=mode", "mode"));
  EXPECT_FALSE(has_query_param("", "mode"));
}

}  // namespace
}  // namespace lab
