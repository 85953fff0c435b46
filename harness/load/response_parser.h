// response_parser: an incremental HTTP/1.1 response parser for the load generator. Bytes in,
// {complete, need more, bad} out, plus how many bytes belong to the response; it never touches
// a socket and never allocates. It keeps only what the generator needs (status code,
// keep-alive) and skips body bytes without storing them, so a huge body costs no memory.
// It understands Content-Length, Transfer-Encoding: chunked (extensions and trailers), bodies
// delimited by the connection's close, 1xx interim responses (skipped), 204/304 (no body) and
// Connection: close / keep-alive. Meant to survive a hostile peer: any malformed or oversized
// input is `bad` (with a static description), never a crash, an overflow or unbounded state.
// HEAD responses are not supported (the generator only sends GET). Not thread-safe; one parser
// per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lab::load {

enum class parse_status { need_more, complete, bad };

struct parse_result {
  parse_status status;
  std::size_t consumed;  // bytes of the input that belong to the response(s) parsed so far
};

struct response_limits {
  std::size_t max_header_bytes = 64 * 1024;        // status line + headers (+ trailers)
  std::uint64_t max_content_length = 1ULL << 40;   // also the cap on one chunk's size
  std::size_t max_chunk_line = 1024;               // chunk size line with its extensions
};

class response_parser {
 public:
  explicit response_parser(response_limits limits = {}) : limits_(limits) { reset(); }

  // Feeds bytes. On `complete`, `consumed` says where the response ended: the rest of the
  // input belongs to whatever follows. On `need_more`, all input was consumed. On `bad`,
  // error() says why; the parser stays bad until reset(). After `complete`, the next call
  // starts a new response.
  parse_result parse(std::string_view bytes);
  // The peer closed the connection: completes a body delimited by the close; `bad` if a
  // response was cut short. A parser that has seen no byte of a response reports need_more
  // (an idle keep-alive connection closing is not an error; the caller decides).
  parse_result parse_eof();
  void reset();

  // True if no byte of the current response has been seen.
  bool idle() const;
  int status_code() const { return status_code_; }   // valid after complete
  bool keep_alive() const { return keep_alive_; }    // valid after complete
  const char* error() const { return error_; }       // valid after bad

 private:
  enum class state : std::uint8_t;
  enum class header_kind : std::uint8_t { other, content_length, transfer_encoding, connection };

  parse_result fail(const char* why, std::size_t consumed);
  bool finish_header_line();  // false: bad (error_ set)
  void begin_body();          // after the empty line ending the headers
  void note_token(std::string_view token);

  response_limits limits_;
  state state_;
  const char* error_ = nullptr;
  std::size_t header_bytes_ = 0;   // of the current status line, headers and trailers
  std::size_t line_bytes_ = 0;     // of the current chunk size line
  int version_minor_ = 1;
  int status_code_ = 0;
  int code_digits_ = 0;
  bool keep_alive_ = true;
  bool close_token_ = false, keep_alive_token_ = false;
  bool has_length_ = false, te_present_ = false, te_chunked_ = false;
  bool value_started_ = false, value_ended_ = false;  // Content-Length value: digits, then OWS
  std::uint64_t content_length_ = 0, header_length_ = 0, remaining_ = 0;
  int chunk_digits_ = 0;
  header_kind kind_ = header_kind::other;
  // Header names are matched case-insensitively; only the first name_cap bytes are kept (no
  // header we care about is longer). Values of Transfer-Encoding and Connection are kept up to
  // value_cap bytes; longer ones are bad.
  static constexpr std::size_t name_cap = 24, value_cap = 128;
  char name_[name_cap];
  std::size_t name_len_ = 0;
  char value_[value_cap];
  std::size_t value_len_ = 0;
};

}  // namespace lab::load
