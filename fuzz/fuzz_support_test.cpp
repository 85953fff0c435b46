// split_input: how a fuzz input's first bytes choose the pieces its payload arrives in.
#include "fuzz_support.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

std::vector<std::string> pieces_of(const std::string& input) {
  const lab::fuzz::split_input split(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  std::vector<std::string> out;
  split.for_each_piece([&](std::string_view piece) { out.emplace_back(piece); });
  return out;
}

TEST(split_input, count_zero_delivers_the_payload_whole) {
  EXPECT_EQ(pieces_of(std::string("\x00hello", 6)), (std::vector<std::string>{"hello"}));
  EXPECT_TRUE(pieces_of("").empty());
}

TEST(split_input, piece_sizes_are_used_in_turn_and_repeated) {
  // two sizes: 1 and 2 (bytes 0 and 1, plus one); payload "abcdefg"
  EXPECT_EQ(pieces_of(std::string("\x02\x00\x01" "abcdefg", 10)),
            (std::vector<std::string>{"a", "bc", "d", "ef", "g"}));
}

TEST(split_input, at_most_max_pieces_then_the_rest_whole) {
  // 1-byte pieces over 200 bytes: 63 single bytes, then the remaining 137 at once.
  const std::string payload(200, 'x');
  const auto pieces = pieces_of(std::string("\x01\x00", 2) + payload);
  ASSERT_EQ(pieces.size(), lab::fuzz::split_input::max_pieces);
  EXPECT_EQ(pieces.front(), "x");
  EXPECT_EQ(pieces.back().size(), payload.size() - (lab::fuzz::split_input::max_pieces - 1));
  std::string joined;
  for (const auto& p : pieces) joined += p;
  EXPECT_EQ(joined, payload);
}

}  // namespace
