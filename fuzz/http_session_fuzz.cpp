// Fuzz target: lab::http_session (servers/common/http_session.h), the protocol loop every C++
// model drives, fed pipelined bytes in arbitrary reads (fuzz_support.h). Sleep, compute and
// gateway steps finish at once, with results taken from the input (gateway: 200 with any
// numbers, 502 or 504). Invariants on what it writes:
// - every byte of output parses as a sequence of complete HTTP/1.1 responses (Beast's parser;
//   a response to HEAD has no body);
// - one response per request, in order: as many as a separate request_parser finds in the same
//   bytes offered the same way, up to and including the first request without keep-alive,
//   plus a 400/413/431 when that parser stops at a bad request; nothing after the connection
//   is to close;
// - only the last response may say Connection: close, and it does exactly when the session
//   closed the connection.
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "http_session.h"

namespace {

namespace bhttp = boost::beast::http;

struct expected_response {
  bool head = false;
  int error_status = 0;  // the answer to a bad request: 400, 413 or 431
};

// What a separate parser finds in the same reads: the responses the session owes. The reads
// are cut to the room the session's buffer has, as the session's own reads are (Beast's
// verdict on a bad line may wait for the header's end after a partial offer, so the offers
// must be the same).
std::vector<expected_response> expected_responses(const std::vector<std::string_view>& reads) {
  lab::http::request_parser parser;
  std::vector<expected_response> out;
  std::string pending;
  for (std::string_view read : reads) {
    while (!read.empty()) {
      const std::size_t n = std::min(read.size(), lab::http_session::input_capacity - pending.size());
      pending.append(read.substr(0, n));
      read.remove_prefix(n);
      std::string_view bytes = pending;
      while (!bytes.empty()) {
        const auto r = parser.parse(bytes);
        bytes.remove_prefix(r.consumed);
        if (r.status == lab::http::parse_status::need_more) break;
        if (r.status == lab::http::parse_status::bad) {
          out.push_back({false, r.error_status});
          return out;
        }
        out.push_back({parser.request().verb == lab::http::method::head, 0});
        if (!parser.request().keep_alive) return out;
      }
      pending.erase(0, pending.size() - bytes.size());
    }
  }
  return out;
}

// Results for deferred steps, from the bytes after the payload's first 8 (or zeros).
class result_source {
 public:
  explicit result_source(std::string_view bytes) : bytes_(bytes) {}
  std::uint32_t next() {
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 8) | (bytes_.empty() ? 0u : static_cast<unsigned char>(bytes_[at_++ % bytes_.size()]));
    return v;
  }

 private:
  std::string_view bytes_;
  std::size_t at_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const lab::fuzz::split_input input(data, size);
  std::vector<std::string_view> reads;
  input.for_each_piece([&](std::string_view piece) { reads.push_back(piece); });
  result_source results(input.payload());

  lab::http_session session;
  std::string output;
  std::size_t next_read = 0;
  std::string_view partial;  // the rest of a read that did not fit in read_space()
  bool closed = false;
  for (int steps = 0;; ++steps) {
    FUZZ_CHECK(steps < 1'000'000);
    const lab::next_step step = session.advance();
    output.append(session.output());
    session.output_written();
    if (step.what == lab::next_step::kind::close) {
      closed = true;
      break;
    }
    if (step.what == lab::next_step::kind::read) {
      if (partial.empty()) {
        if (next_read == reads.size()) break;  // the client has sent everything: EOF
        partial = reads[next_read++];
      }
      const std::span<char> space = session.read_space();
      FUZZ_CHECK(!space.empty());
      const std::size_t n = std::min(space.size(), partial.size());
      std::memcpy(space.data(), partial.data(), n);
      session.commit_read(n);
      partial.remove_prefix(n);
    } else if (step.what == lab::next_step::kind::sleep) {
      session.finish_sleep();
    } else if (step.what == lab::next_step::kind::compute) {
      session.finish_compute(results.next());
    } else {
      FUZZ_CHECK(step.gateway.fanout >= 1 && step.gateway.fanout <= lab::gateway_max_fanout);
      lab::gateway_result result;
      const std::uint32_t pick = results.next() % 3;
      result.status = pick == 0 ? 200 : pick == 1 ? 502 : 504;
      for (auto& call : result.calls) call = {results.next(), results.next()};
      session.finish_gateway(result);
    }
  }

  const std::vector<expected_response> expected = expected_responses(reads);
  std::string_view rest = output;
  std::size_t count = 0;
  bool saw_close = false;
  while (!rest.empty()) {
    FUZZ_CHECK(!saw_close);  // nothing may follow Connection: close
    FUZZ_CHECK(count < expected.size());
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    parser.body_limit(1 << 20);
    parser.skip(expected[count].head);
    boost::beast::error_code ec;
    const std::size_t n = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    FUZZ_CHECK(!ec);
    FUZZ_CHECK(parser.is_done());
    const auto& response = parser.get();
    FUZZ_CHECK(response.version() == 11);
    if (expected[count].error_status != 0)
      FUZZ_CHECK(static_cast<int>(response.result_int()) == expected[count].error_status);
    saw_close = !response.keep_alive();
    rest.remove_prefix(n);
    ++count;
  }
  FUZZ_CHECK(count == expected.size());
  FUZZ_CHECK(saw_close == closed);
  return 0;
}
