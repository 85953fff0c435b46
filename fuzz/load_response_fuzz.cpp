// Fuzz target: lab_load's response parser (harness/load/response_parser.h) — a hostile server.
// Input byte 0 (after the split bytes of fuzz_support.h, which it shares) picks small or
// default limits and whether the connection then closes (parse_eof). The rest arrives in the
// given pieces and is parsed the way the generator does: after `complete` the rest of the
// piece starts the next response; the first `bad` ends the connection. Invariants: consumed
// never exceeds the input and `need_more` consumes everything; a complete response has a
// status code of three digits (1xx interim ones are skipped, so 200-999); `bad` has a reason;
// and the split changes nothing: the responses, their codes and keep-alive flags, and the
// final status equal those of the same bytes in one piece.
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "response_parser.h"

namespace {

using namespace lab::load;

struct outcome {
  std::vector<std::pair<int, bool>> responses;  // status code, keep-alive
  parse_status last = parse_status::need_more;
  bool operator==(const outcome&) const = default;
};

template <class ForEachPiece>
outcome run(ForEachPiece&& for_each_piece, response_limits limits, bool eof) {
  response_parser parser(limits);
  outcome out;
  const auto note = [&](const parse_result& r) {
    out.last = r.status;
    if (r.status == parse_status::complete) {
      FUZZ_CHECK(parser.status_code() >= 200 && parser.status_code() <= 999);
      out.responses.emplace_back(parser.status_code(), parser.keep_alive());
    }
    if (r.status == parse_status::bad) FUZZ_CHECK(parser.error() != nullptr);
  };
  for_each_piece([&](std::string_view piece) {
    while (out.last != parse_status::bad && !piece.empty()) {
      const parse_result r = parser.parse(piece);
      FUZZ_CHECK(r.consumed <= piece.size());
      if (r.status == parse_status::need_more) FUZZ_CHECK(r.consumed == piece.size());
      note(r);
      if (r.status == parse_status::complete) FUZZ_CHECK(r.consumed > 0);
      piece.remove_prefix(r.consumed);
    }
  });
  if (eof && out.last != parse_status::bad) {
    const parse_result r = parser.parse_eof();
    FUZZ_CHECK(r.consumed == 0);
    note(r);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const lab::fuzz::split_input input(data, size);
  response_limits limits;
  if (mode & 0x10) limits = {64, 1000, 8};  // small limits: every limit is reachable
  const bool eof = mode & 0x20;
  const outcome split = run([&](auto&& f) { input.for_each_piece(f); }, limits, eof);
  const outcome whole = run(
      [&](auto&& f) {
        if (!input.payload().empty()) f(input.payload());
      },
      limits, eof);
  FUZZ_CHECK(split == whole);
  return 0;
}
