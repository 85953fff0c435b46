#include "target.h"

#include <gtest/gtest.h>

namespace lab {
namespace {

// The examples of docs/service-contract.md ("Paths"): origin-form targets, whatever they
// route to; a well-formed escape stays undecoded (and so matches no route).
TEST(Target, AcceptsOriginFormWithWellFormedEscapes) {
  for (const char* target : {"/", "/plaintext", "/compute?n=1", "/%63ompute?n=1", "/%2F%2f",
                             "//compute", "/./compute", "/plaintext#top", "/plaintext;x",
                             "/plaintext?x=%zz", "/plaintext?%", "/a%41%4a%4F"}) {
    EXPECT_TRUE(is_valid_target(target)) << target;
  }
}

TEST(Target, RejectsOtherFormsAndMalformedEscapesInThePath) {
  for (const char* target : {"", "*", "plaintext", "http://x/plaintext", "HTTP://x/", "?n=1",
                             "/%zz", "/plaintext%", "/%4", "/%4?n=1", "/%?x", "/%g1", "/%1g",
                             "/%%41", "/ok%20then%2"}) {
    EXPECT_FALSE(is_valid_target(target)) << target;
  }
}

TEST(Target, SplitsAtTheFirstQuestionMark) {
  struct split_case { const char* target; const char* path; const char* query; };
  for (const auto& [target, path, query] : {split_case{"/compute?n=1", "/compute", "n=1"},
                                            split_case{"/compute", "/compute", ""},
                                            split_case{"/compute?", "/compute", ""},
                                            split_case{"/a?b?c", "/a", "b?c"},
                                            split_case{"/a#b?c", "/a#b", "c"}}) {
    const target_parts parts = split_target(target);
    EXPECT_EQ(parts.path, path) << target;
    EXPECT_EQ(parts.query, query) << target;
  }
}

TEST(Target, HexDigitsOfEitherCase) {
  EXPECT_EQ(hex_digit_value('0'), 0);
  EXPECT_EQ(hex_digit_value('9'), 9);
  EXPECT_EQ(hex_digit_value('a'), 10);
  EXPECT_EQ(hex_digit_value('F'), 15);
  for (const char c : {'g', 'G', '/', ':', '@', '`', ' ', '%'}) EXPECT_EQ(hex_digit_value(c), -1) << c;
}

}  // namespace
}  // namespace lab
