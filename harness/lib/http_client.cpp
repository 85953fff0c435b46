#include "http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cctype>
#include <cstring>
#include <strings.h>
#include <utility>

namespace lab {
using clock = std::chrono::steady_clock;

bool case_insensitive_less::operator()(const std::string& a, const std::string& b) const {
  return ::strcasecmp(a.c_str(), b.c_str()) < 0;
}

std::optional<std::string> http_response::header(const std::string& name) const {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

namespace {

int remaining_ms(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  return static_cast<int>(std::max<long long>(0, left.count()));
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// Bytes quoted for an error message: CR/LF and control bytes escaped, at most 120 shown.
std::string quoted(std::string_view bytes) {
  std::string out = "'";
  for (size_t i = 0; i < bytes.size() && i < 120; ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c < 0x20 || c >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else out += static_cast<char>(c);
  }
  if (bytes.size() > 120) out += "...";
  return out + "'";
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

http_connection::http_connection(const std::string& host, int port,
                                 std::chrono::milliseconds timeout) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    throw http_error("not an IPv4 address: " + host);
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) throw http_error(errno_text("socket"));
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string where = host + ":" + std::to_string(port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      std::string text = errno_text(("connect to " + where).c_str());
      ::close(fd_);
      fd_ = -1;
      throw http_error(text);
    }
    pollfd p{fd_, POLLOUT, 0};
    int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    int err = 0;
    socklen_t len = sizeof err;
    if (ready > 0) ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (ready <= 0 || err != 0) {
      std::string text = ready <= 0 ? "connect to " + where + ": timed out"
                                    : "connect to " + where + ": " + std::strerror(err);
      ::close(fd_);
      fd_ = -1;
      throw http_error(text);
    }
  }
}

http_connection::http_connection(http_connection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)), eof_(other.eof_) {}

http_connection& http_connection::operator=(http_connection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
    eof_ = other.eof_;
  }
  return *this;
}

http_connection::~http_connection() {
  if (fd_ >= 0) ::close(fd_);
}

void http_connection::send(std::string_view bytes) {
  auto deadline = clock::now() + std::chrono::seconds(10);
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) throw http_error("send: timed out");
      continue;
    }
    throw http_error(errno_text("send"));
  }
}

bool http_connection::fill(clock::time_point deadline) {
  if (eof_) return false;
  while (true) {
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == ECONNRESET || errno == EPIPE) {
      eof_ = true;
      return false;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw http_error(errno_text("recv"));
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready == 0) throw http_error("timed out waiting for the response");
    if (ready < 0 && errno != EINTR) throw http_error(errno_text("poll"));
  }
}

http_response http_connection::read_response(std::chrono::milliseconds timeout, bool head_request) {
  auto deadline = clock::now() + timeout;
  constexpr size_t max_header_bytes = 64 * 1024;
  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > max_header_bytes) throw http_error("response header section over 64 KiB");
    if (!fill(deadline)) {
      if (buffer_.empty()) throw http_error("connection closed before a response");
      throw http_error("connection closed inside the response header: " + quoted(buffer_));
    }
  }
  http_response response;
  std::string_view head(buffer_.data(), header_end);
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.1 200 OK": version, one space, three digits, one space, reason (may be empty).
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." ||
      !std::isdigit(static_cast<unsigned char>(status_line[7])) || status_line[8] != ' ' ||
      !std::all_of(status_line.begin() + 9, status_line.begin() + 12,
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
      (status_line.size() > 12 && status_line[12] != ' '))
    throw http_error("malformed status line: " + quoted(status_line));
  response.version = std::string(status_line.substr(0, 8));
  response.status = std::stoi(std::string(status_line.substr(9, 3)));
  response.reason = status_line.size() > 13 ? std::string(status_line.substr(13)) : "";

  std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
  while (!rest.empty()) {
    size_t end = rest.find("\r\n");
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        !std::all_of(line.begin(), line.begin() + colon, is_token_char))
      throw http_error("malformed header line: " + quoted(line));
    response.headers.emplace(std::string(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  size_t body_start = header_end + 4;

  bool no_body = head_request || response.status / 100 == 1 || response.status == 204 ||
                 response.status == 304;
  std::optional<size_t> content_length;
  auto range = response.headers.equal_range("Content-Length");
  for (auto it = range.first; it != range.second; ++it) {
    const std::string& v = it->second;
    if (v.empty() || v.size() > 15 ||
        !std::all_of(v.begin(), v.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      throw http_error("malformed Content-Length: " + quoted(v));
    size_t value = std::stoull(v);
    if (content_length && *content_length != value) throw http_error("conflicting Content-Length headers");
    content_length = value;
  }
  if (!no_body && response.has_header("Transfer-Encoding"))
    throw http_error("chunked/Transfer-Encoding responses are not supported by this test client");

  size_t body_end = body_start;
  if (no_body) {
    // nothing
  } else if (content_length) {
    while (buffer_.size() < body_start + *content_length) {
      if (!fill(deadline))
        throw http_error("connection closed inside the body (" +
                         std::to_string(buffer_.size() - body_start) + " of " +
                         std::to_string(*content_length) + " bytes)");
    }
    body_end = body_start + *content_length;
  } else {
    // No length: the body runs to the end of the connection.
    while (fill(deadline)) {
    }
    body_end = buffer_.size();
  }
  response.body = buffer_.substr(body_start, body_end - body_start);
  response.raw = buffer_.substr(0, body_end);
  buffer_.erase(0, body_end);
  return response;
}

http_response http_connection::request(std::string_view bytes, std::chrono::milliseconds timeout) {
  send(bytes);
  bool head = bytes.substr(0, 5) == "HEAD ";
  return read_response(timeout, head);
}

bool http_connection::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  try {
    while (fill(deadline)) {
    }
    return true;
  } catch (const http_error&) {
    if (eof_) return true;
    return false;
  }
}

http_response http_get(const std::string& host, int port, const std::string& target,
                       std::chrono::milliseconds timeout) {
  http_connection connection(host, port, timeout);
  return connection.request("GET " + target + " HTTP/1.1\r\nHost: " + host +
                                "\r\nConnection: close\r\n\r\n",
                            timeout);
}

}  // namespace lab
