// Fuzz target: the outgoing /gateway client's reading of a downstream answer
// (servers/common/downstream_client.h) — a hostile downstream. The input, split into reads as
// fuzz_support.h describes, is what the downstream sends back after the request: it goes
// through the same steps as downstream_client::call_blocking (Beast's bhttp::read into a
// response_parser<string_body> with body_limit(delay_answer_body_limit), then
// decode_delay_answer). Invariants: a decoded answer comes only from a complete 200 whose
// body holds both numbers; the body never exceeds the limit; and how the bytes are split
// changes nothing about the answer (decoded or not, and its numbers).
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>
#include <string>
#include <vector>

#include "downstream_client.h"
#include "fuzz_support.h"

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

// A Beast SyncReadStream/SyncWriteStream: reads return the given pieces in turn (then EOF);
// writes are accepted and kept.
class scripted_stream {
 public:
  explicit scripted_stream(std::vector<std::string_view> reads) : reads_(std::move(reads)) {}

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, error_code& ec) {
    while (next_ < reads_.size() && reads_[next_].empty()) ++next_;
    if (next_ == reads_.size()) {
      ec = asio::error::eof;
      return 0;
    }
    const std::size_t n = asio::buffer_copy(buffers, asio::buffer(reads_[next_].data(), reads_[next_].size()));
    reads_[next_].remove_prefix(n);
    return n;
  }
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers, error_code&) {
    const std::size_t n = asio::buffer_size(buffers);
    written.resize(written.size() + n);
    asio::buffer_copy(asio::buffer(written.data() + written.size() - n, n), buffers);
    return n;
  }
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers) {
    error_code ec;
    return write_some(buffers, ec);
  }

  std::string written;

 private:
  std::vector<std::string_view> reads_;
  std::size_t next_ = 0;
};

struct call_result {
  error_code ec;
  std::optional<lab::gateway_answer> answer;
  bool keep_alive = false;
};

call_result call(std::vector<std::string_view> reads) {
  scripted_stream stream(std::move(reads));
  call_result out;
  auto request = lab::make_delay_request("127.0.0.1:9", 3, 250);
  bhttp::write(stream, request, out.ec);
  FUZZ_CHECK(!out.ec && stream.written.starts_with("GET /delay?ms=250&i=3 HTTP/1.1\r\n"));
  boost::beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(lab::delay_answer_body_limit);
  bhttp::read(stream, buffer, parser, out.ec);
  if (out.ec) return out;
  FUZZ_CHECK(parser.is_done());
  const auto& response = parser.get();
  FUZZ_CHECK(response.body().size() <= lab::delay_answer_body_limit);
  out.answer = lab::decode_delay_answer(response);
  if (out.answer) {
    FUZZ_CHECK(response.result_int() == 200);
    FUZZ_CHECK(response.body().find("\"i\"") != std::string::npos);
    FUZZ_CHECK(response.body().find("\"ms\"") != std::string::npos);
  }
  out.keep_alive = response.keep_alive();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const lab::fuzz::split_input input(data, size);
  std::vector<std::string_view> pieces;
  input.for_each_piece([&](std::string_view piece) { pieces.push_back(piece); });
  const call_result split = call(pieces);
  const call_result whole = call({input.payload()});
  // The error may differ (Beast checks lines early on a first offer, and waits for the end of
  // the header after a partial one: one bad line, two names for the failure), the answer not.
  FUZZ_CHECK(split.answer.has_value() == whole.answer.has_value());
  if (split.answer) {
    FUZZ_CHECK(split.answer->i == whole.answer->i && split.answer->ms == whole.answer->ms);
    FUZZ_CHECK(split.keep_alive == whole.keep_alive);
  }
  return 0;
}
