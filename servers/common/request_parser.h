// request_parser.h — transport-agnostic HTTP/1.1 request parsing.
//
// Bytes in, one of {complete request, need more bytes, bad request} out, plus how many bytes
// were consumed. It never touches a socket. Built on Boost.Beast's basic_parser (a well-kept,
// fuzzed parser) with our own callbacks, so parsing a request allocates nothing: we keep only
// what routing needs (method, target, version, keep-alive) and skip any body. A target that
// is not origin-form, or has a malformed '%' escape in its path (target.h), is a bad request.
// Not thread-safe; one per connection.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace lab::http {

enum class method { get, head, other };

struct request {
  method verb = method::other;
  std::string_view target;  // valid until the next parse() call
  int version = 11;         // 10 or 11
  bool keep_alive = true;
};

enum class parse_status { complete, need_more, bad };

struct parse_result {
  parse_status status;
  std::size_t consumed;  // bytes of the input that belong to requests already parsed
  int error_status = 0;  // when bad: 400, 413 or 431
};

inline constexpr std::size_t max_header_bytes = 8192;
inline constexpr std::uint64_t max_body_bytes = 1024 * 1024;

class request_parser {
 public:
  request_parser();
  ~request_parser();
  request_parser(const request_parser&) = delete;
  request_parser& operator=(const request_parser&) = delete;

  // Feeds bytes. Bytes reported as consumed must not be offered again; the rest must be
  // offered again, followed by more input, on the next call. After `complete`, request()
  // describes the request and the next call starts a new one.
  parse_result parse(std::string_view bytes);
  const http::request& request() const { return request_; }

 private:
  struct impl;  // Beast stays out of this header
  std::unique_ptr<impl> impl_;
  http::request request_;
};

}  // namespace lab::http
