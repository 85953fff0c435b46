#include "check_support.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <regex>

namespace lab::checks {

std::string show(std::string_view bytes, size_t max) {
  std::string out = "\"";
  for (size_t i = 0; i < bytes.size() && i < max; ++i) {
    char c = bytes[i];
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"')
      out += "\\\"";
    else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
      out += hex;
    } else
      out += c;
  }
  out += "\"";
  if (bytes.size() > max) out += "... (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

long long ms_since(clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
}

uint32_t compute(uint64_t n) {
  uint32_t x = 2463534242u;
  for (uint64_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
  }
  return x;
}

std::string get(const std::string& target, const std::string& extra_headers) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
}

std::string head(const std::string& target) {
  return "HEAD " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

http_connection context::connect() const { return http_connection(options.host, options.port, 3s); }

std::chrono::milliseconds context::close_wait() const {
  return std::chrono::milliseconds(
      std::clamp(1000LL * options.idle_timeout_s - 300, 300LL, 1500LL));
}

std::string context::close_wait_text() const {
  return std::to_string(close_wait().count()) + " ms (the idle timeout is " +
         std::to_string(options.idle_timeout_s) + " s)";
}

std::string describe(const http_response& r) {
  return std::to_string(r.status) + " " + show(r.body, 80);
}

http_response receive(http_connection& c, const std::string& what,
                      std::chrono::milliseconds timeout, bool head_request,
                      const std::string& hint) {
  try {
    return c.read_response(timeout, head_request);
  } catch (const http_error& e) {
    throw check_failure(what + ": " + e.what() + (hint.empty() ? "" : " (" + hint + ")"));
  }
}

void send(http_connection& c, std::string_view bytes, const std::string& what) {
  try {
    c.send(bytes);
  } catch (const http_error& e) {
    throw check_failure(what + ": " + e.what());
  }
}

http_response ask(http_connection& c, const std::string& request, const std::string& what,
                  std::chrono::milliseconds timeout, const std::string& hint) {
  send(c, request, what);
  return receive(c, what, timeout, request.starts_with("HEAD "), hint);
}

void expect_content_type(const context& ctx, const http_response& r, const std::string& type,
                         const std::string& what) {
  auto value = r.header("Content-Type");
  expect(value.has_value(), what + ": no Content-Type header");
  if (ctx.options.exact_cpp_bytes) {
    expect(*value == type, what + ": Content-Type is " + show(*value) + ", expected " + show(type));
    return;
  }
  std::string media = lower(value->substr(0, value->find(';')));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  expect(media == type, what + ": Content-Type is " + show(*value) + ", expected " + show(type));
}

void expect_response(const context& ctx, const http_response& r, int status,
                     const std::string& type, const std::string& body, const std::string& what) {
  expect(r.status == status,
         what + ": expected status " + std::to_string(status) + ", got " + describe(r));
  expect(r.body == body, what + ": expected body " + show(body) + ", got " + show(r.body));
  expect_content_type(ctx, r, type, what);
  auto length = r.header("Content-Length");
  expect(length.has_value(), what + ": no Content-Length header");
  expect(*length == std::to_string(body.size()), what + ": Content-Length is " + *length +
                                                     ", body has " + std::to_string(body.size()) +
                                                     " bytes");
}

std::optional<std::string> imf_fixdate_problem(const std::string& value) {
  static const std::regex pattern(
      "(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
      "[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT");
  if (!std::regex_match(value, pattern)) return "not an IMF-fixdate";
  std::tm tm{};
  const char* end = ::strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end) return "not an IMF-fixdate";
  int wday = tm.tm_wday;
  std::time_t t = ::timegm(&tm);
  std::tm check{};
  ::gmtime_r(&t, &check);
  if (check.tm_wday != wday || check.tm_mday != tm.tm_mday)
    return "the weekday does not match the date";
  double skew = std::difftime(t, std::time(nullptr));
  if (skew > 60 || skew < -60) return "more than 60 s away from now";
  return std::nullopt;
}

void expect_required_headers(const http_response& r, const std::string& what, bool head_request) {
  for (const char* name : {"Server", "Date", "Content-Type", "Content-Length"}) {
    expect(r.has_header(name), what + ": missing header " + name);
    expect(!r.header(name)->empty(), what + ": empty header " + name);
    expect(r.headers.count(name) == 1,
           what + ": header " + name + " sent " + std::to_string(r.headers.count(name)) + " times");
  }
  if (auto problem = imf_fixdate_problem(*r.header("Date")))
    throw check_failure(what + ": Date " + show(*r.header("Date")) + " is " + *problem);
  if (!head_request)
    expect(*r.header("Content-Length") == std::to_string(r.body.size()),
           what + ": Content-Length " + *r.header("Content-Length") + " does not match the " +
               std::to_string(r.body.size()) + "-byte body");
}

bool has_token(const http_response& r, const std::string& header, const std::string& token) {
  auto range = r.headers.equal_range(header);
  for (auto it = range.first; it != range.second; ++it) {
    std::string v = lower(it->second);
    size_t start = 0;
    while (start <= v.size()) {
      size_t end = v.find(',', start);
      if (end == std::string::npos) end = v.size();
      std::string item = v.substr(start, end - start);
      item.erase(0, item.find_first_not_of(" \t"));
      item.erase(item.find_last_not_of(" \t") + 1);
      if (item == lower(token)) return true;
      start = end + 1;
    }
  }
  return false;
}

void expect_closes(const context& ctx, http_connection& c, const http_response& r,
                   const std::string& what) {
  expect(has_token(r, "Connection", "close"),
         what + ": response lacks 'Connection: close' (status " + std::to_string(r.status) + ")");
  expect(c.wait_closed(ctx.close_wait()),
         what + ": server did not close the connection within " + ctx.close_wait_text());
  expect(c.buffered().empty(),
         what + ": unexpected bytes after the response: " + show(c.buffered()));
}

void expect_still_open(const context& ctx, http_connection& c, const std::string& what) {
  auto r = ask(c, get("/plaintext"), what + ", then GET /plaintext", 5s,
               "the connection should have been kept alive");
  expect_response(ctx, r, 200, "text/plain", "Hello, World!", what + ", then GET /plaintext");
}

void expect_error_and_close(const context& ctx, const std::string& request, int status,
                            const std::string& body, const std::string& what) {
  auto c = ctx.connect();
  // A server may answer and close before it has read all of a large request; the send error
  // is then expected and the answer is still in our receive buffer.
  try {
    c.send(request);
  } catch (const http_error&) {
  }
  auto r = receive(c, what, 10s, false, "expected " + std::to_string(status));
  expect_response(ctx, r, status, "text/plain", body, what);
  expect_closes(ctx, c, r, what);
}

std::string request_with_header_section(size_t bytes, const std::string& target) {
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  // 32-byte lines "X-Fill-0001: aaa...\r\n", then one line that makes the size exact.
  for (int i = 1; request.size() + 32 + 64 <= bytes; ++i) {
    char line[40];
    std::snprintf(line, sizeof line, "X-Fill-%04d: %017d\r\n", i, 0);
    request += line;
  }
  const std::string last = "X-Fill: ", end = "\r\n\r\n";
  if (bytes < request.size() + last.size() + end.size() + 1)
    throw check_failure("cannot build a " + std::to_string(bytes) + "-byte header section");
  request += last + std::string(bytes - request.size() - last.size() - end.size(), 'a') + end;
  return request;
}

}  // namespace lab::checks
