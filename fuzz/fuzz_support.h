// fuzz_support.h — what the fuzz targets share.
//
// FUZZ_CHECK: an invariant; when it fails the target prints which and aborts, so libFuzzer
// keeps the input as a crash (a reproducer) and a replay run fails.
// split_input: the first bytes of a fuzz input choose how the rest arrives: byte 0's low four
// bits give a count c (0-15), the next c bytes give piece sizes (byte + 1, used in turn and
// repeated, for at most max_pieces pieces; what is left then comes as one last piece), and the
// remainder is the payload. c == 0 delivers the payload in one piece. So the fuzzer explores
// the ways of splitting a message across reads, as a socket may. The cap is for speed: a parser
// re-offered its unconsumed bytes with every piece costs O(pieces x bytes), and 1-byte pieces
// across a 4 KB input held request_parser_fuzz near 60 executions a second.
// Thread-safety: none needed (libFuzzer calls a target from one thread).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(condition)                                                             \
  do {                                                                                    \
    if (!(condition)) {                                                                   \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace lab::fuzz {

class split_input {
 public:
  split_input(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return;
    const std::size_t count = std::min<std::size_t>(data[0] & 15, size - 1);
    for (std::size_t i = 0; i < count; ++i) pieces_.push_back(std::size_t{data[1 + i]} + 1);
    payload_ = {reinterpret_cast<const char*>(data) + 1 + count, size - 1 - count};
  }

  static constexpr std::size_t max_pieces = 64;

  std::string_view payload() const { return payload_; }
  // Calls f(piece) for consecutive pieces that together make up the payload.
  template <class F>
  void for_each_piece(F&& f) const {
    std::string_view rest = payload_;
    for (std::size_t i = 0; !rest.empty(); ++i) {
      const bool last = pieces_.empty() || i + 1 == max_pieces;
      const std::size_t n = last ? rest.size() : std::min(pieces_[i % pieces_.size()], rest.size());
      f(rest.substr(0, n));
      rest.remove_prefix(n);
    }
  }

 private:
  std::vector<std::size_t> pieces_;
  std::string_view payload_;
};

}  // namespace lab::fuzz
