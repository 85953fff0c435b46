// Fuzz target: lab::http::request_parser (servers/common/request_parser.h) fed arbitrary bytes
// split at arbitrary points (fuzz_support.h). Invariants: it never consumes more than it was
// offered; `complete` yields a valid origin-form target and version 10 or 11; `bad` carries
// 400, 413 or 431; and how the bytes are split changes nothing: the requests parsed and the
// final outcome equal those of the same bytes offered in one piece. One allowance, Beast's:
// on a request's first offer it checks the request line and each complete header line at
// once, but after an offer that ended mid-header it waits for the blank line before parsing
// again, so split bytes may still be `need_more` where one piece was already `bad`. Then the
// split run, given the missing blank line, must reach the same verdict.
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "request_parser.h"
#include "target.h"

namespace {

using namespace lab::http;

struct parsed_request {
  method verb;
  std::string target;
  int version;
  bool keep_alive;
  bool operator==(const parsed_request&) const = default;
};

struct outcome {
  std::vector<parsed_request> requests;
  parse_status last = parse_status::need_more;
  int error_status = 0;
};

// Offers `pieces` the way a connection does: unconsumed bytes are offered again with the next
// piece. Stops at the first bad request.
template <class ForEachPiece>
outcome run(ForEachPiece&& for_each_piece, std::string_view tail = {}) {
  request_parser parser;
  outcome out;
  std::string pending;
  const auto offer = [&](std::string_view piece) {
    if (out.last == parse_status::bad) return;
    pending.append(piece);
    std::size_t at = 0;
    for (;;) {
      const std::string_view offered(pending.data() + at, pending.size() - at);
      const parse_result r = parser.parse(offered);
      FUZZ_CHECK(r.consumed <= offered.size());
      at += r.consumed;
      out.last = r.status;
      if (r.status == parse_status::bad) {
        FUZZ_CHECK(r.error_status == 400 || r.error_status == 413 || r.error_status == 431);
        out.error_status = r.error_status;
        return;
      }
      if (r.status == parse_status::need_more) break;
      FUZZ_CHECK(r.consumed > 0);  // a request has at least one byte: no endless loop
      const request& q = parser.request();
      FUZZ_CHECK(lab::is_valid_target(q.target));
      FUZZ_CHECK(q.version == 10 || q.version == 11);
      out.requests.push_back({q.verb, std::string(q.target), q.version, q.keep_alive});
      if (at == pending.size()) break;
    }
    pending.erase(0, at);
    // What stays unconsumed is part of one request's header (or body): bounded by the limits.
    FUZZ_CHECK(pending.size() <= max_header_bytes + max_body_bytes);
  };
  for_each_piece(offer);
  if (!tail.empty()) offer(tail);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const lab::fuzz::split_input input(data, size);
  const outcome split = run([&](auto&& f) { input.for_each_piece(f); });
  const outcome whole = run([&](auto&& f) {
    if (!input.payload().empty()) f(input.payload());
  });
  FUZZ_CHECK(split.requests == whole.requests);
  if (split.last == parse_status::need_more && whole.last == parse_status::bad) {
    const outcome ended = run([&](auto&& f) { input.for_each_piece(f); }, "\r\n\r\n");
    FUZZ_CHECK(ended.last == parse_status::bad);
    FUZZ_CHECK(ended.error_status == whole.error_status);
    return 0;
  }
  FUZZ_CHECK(split.last == whole.last);
  FUZZ_CHECK(split.error_status == whole.error_status);
  return 0;
}
