#include "request_parser.h"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include <optional>

#include "target.h"

namespace lab::http {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

// Receives Beast's callbacks; records what routing needs and discards the body.
class beast_callbacks final : public bhttp::basic_parser<true> {
 public:
  beast_callbacks(std::string& target, int& version, method& verb)
      : target_(target), version_(version), verb_(verb) {
    header_limit(max_header_bytes);
    body_limit(max_body_bytes);  // a Content-Length over it: 413 as soon as the header is read
    eager(true);  // parse header and body in one put() when both are there
  }

 private:
  void on_request_impl(bhttp::verb v, beast::string_view, beast::string_view target,
                       int version, beast::error_code& ec) override {
    // Only origin-form with well-formed escapes in the path (target.h): rejected here, as a
    // malformed request line, so every server answers 400 and closes without routing it.
    if (!is_valid_target(std::string_view(target.data(), target.size()))) {
      ec = bhttp::error::bad_target;
      return;
    }
    verb_ = v == bhttp::verb::get ? method::get : v == bhttp::verb::head ? method::head : method::other;
    // The start line may be consumed before the header is complete, so the target is copied
    // (into a string whose capacity is reused request after request).
    target_.assign(target.data(), target.size());
    version_ = version;
  }
  void on_response_impl(int, beast::string_view, int, beast::error_code&) override {}
  void on_field_impl(bhttp::field name, beast::string_view, beast::string_view value,
                     beast::error_code&) override {
    if (name == bhttp::field::transfer_encoding) final_coding_chunked_ = ends_in_chunked(value);
  }
  // RFC 9112 6.3: a request whose Transfer-Encoding does not end in chunked has no length a
  // server can trust; it must be refused (400, close). Beast frames it as bodiless instead, so
  // its body would be read as the next request — a smuggling vector.
  void on_header_impl(beast::error_code& ec) override {
    if (final_coding_chunked_ == false) ec = bhttp::error::bad_transfer_encoding;
    // A chunked body's limit is counted in on_chunk_header_impl, not by Beast: Beast 1.81
    // takes a chunk's size off its body_limit before it parses the chunk's extensions, which
    // read up to the end of the buffer, so an extension cut by the end of a read gives
    // need_more *after* the subtraction; the line is parsed again with the next read and its
    // size taken off twice — a 413 for a body under 1 MiB that the same bytes in one read did
    // not get (request_parser_fuzz found it).
    if (final_coding_chunked_ == true) body_limit(boost::none);
  }
  // The last coding of the last Transfer-Encoding line (case-insensitive, spaces trimmed).
  static bool ends_in_chunked(beast::string_view value) {
    const std::size_t comma = value.rfind(',');
    std::string_view last(value.data(), value.size());
    if (comma != beast::string_view::npos) last.remove_prefix(comma + 1);
    while (!last.empty() && (last.front() == ' ' || last.front() == '\t')) last.remove_prefix(1);
    while (!last.empty() && (last.back() == ' ' || last.back() == '\t')) last.remove_suffix(1);
    return beast::iequals(last, "chunked");
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    return body.size();
  }
  // Called once per chunk, after its line (size and extensions) parsed whole.
  void on_chunk_header_impl(std::uint64_t size, beast::string_view, beast::error_code& ec) override {
    if (size > max_body_bytes - chunked_bytes_) {
      ec = bhttp::error::body_limit;
      return;
    }
    chunked_bytes_ += size;
  }
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                 beast::error_code&) override {
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}

  std::string& target_;
  int& version_;
  method& verb_;
  std::optional<bool> final_coding_chunked_;  // set once a Transfer-Encoding line is seen
  std::uint64_t chunked_bytes_ = 0;            // chunk sizes announced so far
};

// The contract's limit: the header section, from the request line's first byte through the
// blank line that ends it, is at most max_header_bytes however the bytes arrive. Beast's own
// header_limit counts only what one put() is given (lines consumed by an earlier put() drop
// out of it), so a header sent in pieces could grow past it. `seen`: bytes of this request's
// header already consumed (always whole lines, so they end with CRLF); `pending`: the rest.
bool header_exceeds_limit(std::size_t seen, std::string_view pending) {
  if (seen >= max_header_bytes) return true;
  if (seen > 0 && pending.starts_with("\r\n")) return seen + 2 > max_header_bytes;
  const std::size_t budget = max_header_bytes - seen;
  if (pending.substr(0, budget).find("\r\n\r\n") != std::string_view::npos) return false;
  return pending.size() > budget;
}

int status_for(const beast::error_code& ec) {
  if (ec == bhttp::error::header_limit) return 431;
  if (ec == bhttp::error::body_limit) return 413;
  return 400;
}

}  // namespace

struct request_parser::impl {
  std::string target;
  int version = 11;
  method verb = method::other;
  std::optional<beast_callbacks> parser;
  std::size_t header_seen = 0;  // bytes of the current request's header consumed so far

  void start_next() {
    parser.emplace(target, version, verb);
    header_seen = 0;
  }
};

request_parser::request_parser() : impl_(std::make_unique<impl>()) {
  impl_->target.reserve(256);
  impl_->start_next();
}

request_parser::~request_parser() = default;

parse_result request_parser::parse(std::string_view bytes) {
  auto& parser = *impl_->parser;
  std::size_t consumed = 0;
  for (;;) {
    const bool in_header = !parser.is_header_done();
    if (in_header && header_exceeds_limit(impl_->header_seen, bytes.substr(consumed)))
      return {parse_status::bad, consumed, 431};
    beast::error_code ec;
    const std::size_t n =
        parser.put(boost::asio::const_buffer(bytes.data() + consumed, bytes.size() - consumed), ec);
    consumed += n;
    if (in_header) impl_->header_seen += n;
    // An error from our own callbacks (on_header_impl) may come with a bodiless request
    // already marked done: the error wins.
    if (ec && ec != bhttp::error::need_more) return {parse_status::bad, consumed, status_for(ec)};
    if (parser.is_done()) {
      request_ = {impl_->verb, impl_->target, impl_->version, parser.keep_alive()};
      impl_->start_next();
      return {parse_status::complete, consumed};
    }
    if (ec == bhttp::error::need_more || (!ec && n == 0)) return {parse_status::need_more, consumed};
    if (consumed == bytes.size()) return {parse_status::need_more, consumed};
  }
}

}  // namespace lab::http
