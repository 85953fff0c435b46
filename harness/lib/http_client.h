// A small blocking HTTP/1.1 test client over a raw TCP socket. It sends arbitrary bytes (so
// tests can split, pipeline or malform requests) and parses responses strictly: a status line,
// headers, and a Content-Length body (no chunked responses: the lab's servers never send them).
// One http_connection per thread; not thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lab {

struct http_error : std::runtime_error {
  using runtime_error::runtime_error;
};

// Case-insensitive ordering for header names.
struct case_insensitive_less {
  bool operator()(const std::string& a, const std::string& b) const;
};

struct http_response {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  std::multimap<std::string, std::string, case_insensitive_less> headers;
  std::string body;
  std::string raw;  // the exact bytes of this response (status line to end of body)

  // First value of a header, or nullopt.
  std::optional<std::string> header(const std::string& name) const;
  bool has_header(const std::string& name) const { return headers.count(name) > 0; }
};

class http_connection {
 public:
  // Connects with a timeout; throws http_error.
  http_connection(const std::string& host, int port,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5));
  http_connection(http_connection&& other) noexcept;
  http_connection& operator=(http_connection&& other) noexcept;
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;
  ~http_connection();

  // Writes all bytes; throws http_error (e.g. EPIPE after the peer closed).
  void send(std::string_view bytes);
  // Reads exactly one response (bytes after it stay buffered for the next call). For a
  // response to HEAD pass head_request = true: no body is read whatever Content-Length says.
  // Throws http_error on timeout, on close before a full response, or on malformed bytes.
  http_response read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5),
                              bool head_request = false);
  // send() then read_response().
  http_response request(std::string_view bytes,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Waits for the peer to close (EOF or reset). True if it closed within timeout; bytes that
  // arrive meanwhile are kept in buffered(). False on timeout.
  bool wait_closed(std::chrono::milliseconds timeout);
  // Bytes received but not yet consumed by read_response.
  const std::string& buffered() const { return buffer_; }
  int fd() const { return fd_; }

 private:
  // Reads more bytes into buffer_ before deadline; false on EOF. Throws on timeout/error.
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// A one-shot GET: new connection, one request with Connection: close, one response.
http_response http_get(const std::string& host, int port, const std::string& target,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace lab
