#include "conformance.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <regex>
#include <stdexcept>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "http_client.h"

namespace lab {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// A failed expectation inside a check; run_check turns it into the result's detail.
struct check_failure : std::runtime_error {
  using runtime_error::runtime_error;
};

void expect(bool condition, const std::string& what) {
  if (!condition) throw check_failure(what);
}

// Printable, truncated rendering of bytes for failure details.
std::string show(std::string_view bytes, size_t max = 160) {
  std::string out = "\"";
  for (size_t i = 0; i < bytes.size() && i < max; ++i) {
    char c = bytes[i];
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c == '"') out += "\\\"";
    else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
      out += hex;
    } else out += c;
  }
  out += "\"";
  if (bytes.size() > max) out += "... (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The contract's /compute: N steps of xorshift32 from 2463534242.
uint32_t compute(uint64_t n) {
  uint32_t x = 2463534242u;
  for (uint64_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
  }
  return x;
}

std::string get(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
}

// One check's context: the options plus helpers that open connections.
struct context {
  const conformance_options& options;
  std::string note;  // optional detail for a passing check

  http_connection connect() const { return http_connection(options.host, options.port, 3s); }
};

std::string describe(const http_response& r) {
  return std::to_string(r.status) + " " + show(r.body, 80);
}

// Media type without parameters ("text/plain; charset=utf-8" → "text/plain"). The C++ servers
// must match exactly; reference servers may add parameters.
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
  expect(r.status == status, what + ": expected status " + std::to_string(status) + ", got " +
                                 describe(r));
  expect(r.body == body, what + ": expected body " + show(body) + ", got " + show(r.body));
  expect_content_type(ctx, r, type, what);
  auto length = r.header("Content-Length");
  expect(length.has_value(), what + ": no Content-Length header");
  expect(*length == std::to_string(body.size()),
         what + ": Content-Length is " + *length + ", body has " + std::to_string(body.size()) +
             " bytes");
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

// After an error that must close: the response says Connection: close and the peer closes.
void expect_closes(http_connection& c, const http_response& r, const std::string& what) {
  expect(has_token(r, "Connection", "close"),
         what + ": response lacks 'Connection: close' (status " + std::to_string(r.status) + ")");
  expect(c.wait_closed(2s), what + ": server did not close the connection within 2 s");
  expect(c.buffered().empty(),
         what + ": unexpected bytes after the response: " + show(c.buffered()));
}

// The connection still works: one more request gets the plaintext answer.
void expect_still_open(const context& ctx, http_connection& c, const std::string& what) {
  http_response r;
  try {
    r = c.request(get("/plaintext"));
  } catch (const http_error& e) {
    throw check_failure(what + ": connection not usable afterwards (keep-alive expected): " +
                        e.what());
  }
  expect_response(ctx, r, 200, "text/plain", "Hello, World!", what + ", then GET /plaintext");
}

// ---------------------------------------------------------------------------------------------
// The checks.

void check_plaintext(context& ctx) {
  auto c = ctx.connect();
  expect_response(ctx, c.request(get("/plaintext")), 200, "text/plain", "Hello, World!",
                  "GET /plaintext");
  expect_response(ctx, c.request(get("/plaintext?ignored=1")), 200, "text/plain",
                  "Hello, World!", "GET /plaintext?ignored=1");
}

void check_json(context& ctx) {
  auto c = ctx.connect();
  for (const char* target : {"/json", "/json?ignored=1"}) {
    std::string what = std::string("GET ") + target;
    auto r = c.request(get(target));
    expect(r.status == 200, what + ": expected 200, got " + describe(r));
    expect_content_type(ctx, r, "application/json", what);
    nlohmann::json body;
    try {
      body = nlohmann::json::parse(r.body);
    } catch (const std::exception& e) {
      throw check_failure(what + ": body is not JSON: " + show(r.body) + " (" + e.what() + ")");
    }
    expect(body == nlohmann::json{{"message", "Hello, World!"}},
           what + ": body is " + show(r.body) + ", expected {\"message\":\"Hello, World!\"}");
    expect(r.header("Content-Length") == std::to_string(r.body.size()),
           what + ": Content-Length does not match the body");
  }
}

void check_compute_vectors(context& ctx) {
  // From docs/service-contract.md; also cross-checked against our own xorshift32 below.
  const std::pair<uint64_t, std::string> vectors[] = {
      {0, "2463534242"},   {1, "723471715"},        {2, "2497366906"},
      {3, "2064144800"},   {10, "2653896249"},      {1000, "3298996588"},
      {100000, "196514455"}, {1000000, "2318261108"}, {10000000, "3882214040"}};
  auto c = ctx.connect();
  for (const auto& [n, expected] : vectors) {
    if (n <= 1000000 && std::to_string(compute(n)) != expected)
      throw check_failure("test vector table disagrees with xorshift32 at n=" + std::to_string(n));
    std::string target = "/compute?n=" + std::to_string(n);
    expect_response(ctx, c.request(get(target), 15s), 200, "text/plain", expected, "GET " + target);
  }
}

void check_compute_bad_requests(context& ctx) {
  auto c = ctx.connect();
  for (const std::string target : {"/compute", "/compute?n=abc", "/compute?n=-1",
                                   "/compute?n=10000001", "/compute?n=12x"}) {
    expect_response(ctx, c.request(get(target), 10s), 400, "text/plain", "Bad Request",
                    "GET " + target);
  }
  expect_still_open(ctx, c, "after the 400s (they keep the connection alive)");
}

void check_sleep_bad_requests(context& ctx) {
  auto c = ctx.connect();
  for (const std::string target : {"/sleep", "/sleep?ms=abc", "/sleep?ms=-5", "/sleep?ms=60001"}) {
    auto start = clock::now();
    expect_response(ctx, c.request(get(target), 10s), 400, "text/plain", "Bad Request",
                    "GET " + target);
    expect(clock::now() - start < 5s, "GET " + target + ": the 400 took over 5 s");
  }
  expect_still_open(ctx, c, "after the 400s (they keep the connection alive)");
}

void check_head(context& ctx) {
  auto c = ctx.connect();
  for (const std::string target : {"/plaintext", "/json", "/compute?n=10", "/sleep?ms=1"}) {
    auto g = c.request(get(target));
    expect(g.status == 200, "GET " + target + ": expected 200, got " + describe(g));
    c.send("HEAD " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    auto h = c.read_response(5s, true);
    std::string what = "HEAD " + target;
    expect(h.status == 200, what + ": expected 200, got " + std::to_string(h.status));
    expect(h.header("Content-Length") == std::to_string(g.body.size()),
           what + ": Content-Length " + h.header("Content-Length").value_or("(none)") +
               ", the GET's body has " + std::to_string(g.body.size()) + " bytes");
    expect(h.header("Content-Type") == g.header("Content-Type"),
           what + ": Content-Type differs from the GET's");
    // If the server sent a body after the HEAD response, the next response would not parse.
    try {
      auto next = c.request(get("/plaintext"));
      expect(next.status == 200 && next.body == "Hello, World!",
             what + ": the next response is wrong (body sent after HEAD?): " + describe(next));
    } catch (const http_error& e) {
      throw check_failure(what + ": the response after it is garbled (body sent after HEAD?): " +
                          e.what());
    }
  }
}

// RFC 7231 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT", within a minute of now.
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
  if (check.tm_wday != wday || check.tm_mday != tm.tm_mday) return "the weekday does not match the date";
  double skew = std::difftime(t, std::time(nullptr));
  if (skew > 60 || skew < -60) return "more than 60 s away from now";
  return std::nullopt;
}

void check_required_headers(context& ctx) {
  const std::pair<std::string, int> cases[] = {
      {get("/plaintext"), 200}, {get("/json"), 200},  {get("/compute?n=5"), 200},
      {get("/sleep?ms=1"), 200}, {get("/nope"), 404}, {"DELETE /json HTTP/1.1\r\nHost: x\r\n\r\n", 405},
      {get("/compute?n=x"), 400}, {"HEAD /plaintext HTTP/1.1\r\nHost: x\r\n\r\n", 200}};
  auto c = ctx.connect();
  for (const auto& [request, status] : cases) {
    std::string what = request.substr(0, request.find(" HTTP/"));
    c.send(request);
    bool head = request.rfind("HEAD", 0) == 0;
    auto r = c.read_response(5s, head);
    expect(r.status == status, what + ": expected " + std::to_string(status) + ", got " +
                                   std::to_string(r.status));
    for (const char* name : {"Server", "Date", "Content-Type", "Content-Length"}) {
      expect(r.has_header(name), what + ": missing header " + name);
      expect(!r.header(name)->empty(), what + ": empty header " + name);
    }
    if (auto problem = imf_fixdate_problem(*r.header("Date")))
      throw check_failure(what + ": Date " + show(*r.header("Date")) + " is " + *problem);
    if (!head)
      expect(*r.header("Content-Length") == std::to_string(r.body.size()),
             what + ": Content-Length does not match the body");
    expect(r.headers.count("Content-Length") == 1, what + ": Content-Length sent twice");
  }
}

void check_keep_alive(context& ctx) {
  auto c = ctx.connect();
  const char* targets[] = {"/plaintext", "/json", "/compute?n=3", "/sleep?ms=1", "/plaintext",
                           "/nope", "/plaintext"};
  for (const char* target : targets) {
    auto r = c.request(get(target));
    expect(r.status == 200 || r.status == 404, std::string("GET ") + target + ": got " + describe(r));
    expect(!has_token(r, "Connection", "close"),
           std::string("GET ") + target + ": response says Connection: close on a keep-alive request");
  }
  expect(!c.wait_closed(200ms), "the server closed the keep-alive connection after 7 requests");
}

void check_split_request(context& ctx) {
  const std::string request = get("/compute?n=2", "User-Agent: split\r\n");
  auto c = ctx.connect();
  // Byte by byte.
  for (char byte : request) {
    c.send(std::string_view(&byte, 1));
    std::this_thread::sleep_for(2ms);
  }
  expect_response(ctx, c.read_response(), 200, "text/plain", "2497366906",
                  "request sent one byte at a time");
  // Every split point: first k bytes, pause, the rest.
  for (size_t k = 1; k < request.size(); ++k) {
    c.send(std::string_view(request).substr(0, k));
    std::this_thread::sleep_for(3ms);
    c.send(std::string_view(request).substr(k));
    expect_response(ctx, c.read_response(), 200, "text/plain", "2497366906",
                    "request split after byte " + std::to_string(k));
  }
}

void check_pipelining(context& ctx) {
  std::string batch;
  std::vector<std::pair<std::string, std::string>> expected;  // (what, body)
  for (int i = 0; i < 16; ++i) {
    if (i % 4 == 0) {
      batch += get("/plaintext");
      expected.emplace_back("/plaintext", "Hello, World!");
    } else if (i % 4 == 1) {
      batch += get("/json");
      expected.emplace_back("/json", "");
    } else {
      // Distinct n per position so a reordering shows.
      uint64_t n = 1000 * i + (i % 4 == 3 ? 200000 : 0);
      batch += get("/compute?n=" + std::to_string(n));
      expected.emplace_back("/compute?n=" + std::to_string(n), std::to_string(compute(n)));
    }
  }
  auto c = ctx.connect();
  c.send(batch);
  for (int i = 0; i < 16; ++i) {
    const auto& [target, body] = expected[i];
    http_response r;
    try {
      r = c.read_response(10s);
    } catch (const http_error& e) {
      throw check_failure("pipelined response " + std::to_string(i + 1) + " of 16 (" + target +
                          "): " + e.what());
    }
    std::string what = "pipelined response " + std::to_string(i + 1) + " of 16 (" + target + ")";
    expect(r.status == 200, what + ": got " + describe(r));
    if (target == "/json")
      expect(r.body.find("Hello, World!") != std::string::npos && r.body.starts_with("{"),
             what + ": got " + describe(r) + " (out of order?)");
    else
      expect(r.body == body, what + ": body " + show(r.body) + ", expected " + show(body) +
                                 " (out of order?)");
  }
}

void check_not_found(context& ctx) {
  auto c = ctx.connect();
  for (const std::string target : {"/nope", "/plaintextx", "/"}) {
    expect_response(ctx, c.request(get(target)), 404, "text/plain", "Not Found", "GET " + target);
  }
  expect_still_open(ctx, c, "after the 404s");
}

void check_method_not_allowed(context& ctx) {
  auto c = ctx.connect();
  const std::string requests[] = {
      "POST /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
      "DELETE /json HTTP/1.1\r\nHost: x\r\n\r\n",
      "PUT /compute?n=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"};
  for (const auto& request : requests) {
    std::string what = request.substr(0, request.find(" HTTP/"));
    auto r = c.request(request);
    expect_response(ctx, r, 405, "text/plain", "Method Not Allowed", what);
    auto allow = r.header("Allow");
    expect(allow.has_value(), what + ": no Allow header");
    if (ctx.options.exact_cpp_bytes)
      expect(*allow == "GET, HEAD", what + ": Allow is " + show(*allow) + ", expected \"GET, HEAD\"");
    else
      expect(has_token(r, "Allow", "GET") && has_token(r, "Allow", "HEAD"),
             what + ": Allow is " + show(*allow) + ", expected GET and HEAD");
  }
  expect_still_open(ctx, c, "after the 405s");
}

void expect_error_and_close(context& ctx, const std::string& request, int status,
                            const std::string& body, const std::string& what) {
  auto c = ctx.connect();
  c.send(request);
  http_response r;
  try {
    r = c.read_response(5s);
  } catch (const http_error& e) {
    throw check_failure(what + ": no " + std::to_string(status) + " response: " + e.what());
  }
  expect_response(ctx, r, status, "text/plain", body, what);
  expect_closes(c, r, what);
}

void check_malformed_request_line(context& ctx) {
  expect_error_and_close(ctx, "GARBAGE\r\nHost: x\r\n\r\n", 400, "Bad Request",
                         "request line 'GARBAGE'");
  expect_error_and_close(ctx, "GET /plaintext HTTP/9.Q\r\nHost: x\r\n\r\n", 400, "Bad Request",
                         "request line with version 'HTTP/9.Q'");
}

void check_malformed_header(context& ctx) {
  expect_error_and_close(ctx, "GET /plaintext HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400,
                         "Bad Request", "header line without a colon");
}

void check_header_too_large(context& ctx) {
  expect_error_and_close(ctx, get("/plaintext", "X-Big: " + std::string(9000, 'a') + "\r\n"), 431,
                         "Request Header Fields Too Large", "9000-byte header");
}

void check_payload_too_large(context& ctx) {
  expect_error_and_close(ctx, get("/plaintext", "Content-Length: 2000000\r\n"), 413,
                         "Payload Too Large", "Content-Length: 2000000");
}

void check_body_skipped(context& ctx) {
  auto c = ctx.connect();
  // The bodies look like requests: if a server did not skip them it would answer them.
  for (size_t size : {size_t{100}, size_t{200000}}) {
    std::string body = "GET /nope HTTP/1.1\r\n\r\n";
    while (body.size() < size) body += "GET /nope HTTP/1.1\r\n\r\n";
    body.resize(size);
    std::string what = "GET /plaintext with a " + std::to_string(size) + "-byte body, then GET /json";
    c.send(get("/plaintext", "Content-Length: " + std::to_string(size) + "\r\n") + body +
           get("/json"));
    auto first = c.read_response(10s);
    expect_response(ctx, first, 200, "text/plain", "Hello, World!", what + " (first response)");
    auto second = c.read_response(10s);
    expect(second.status == 200 && second.body.find("Hello, World!") != std::string::npos &&
               second.body.starts_with("{"),
           what + ": second response is " + describe(second) + ", expected the /json answer");
  }
}

void check_connection_close(context& ctx) {
  auto c = ctx.connect();
  auto r = c.request(get("/plaintext", "Connection: close\r\n"));
  expect_response(ctx, r, 200, "text/plain", "Hello, World!", "GET /plaintext, Connection: close");
  expect_closes(c, r, "GET /plaintext, Connection: close");
}

void check_http10_close(context& ctx) {
  auto c = ctx.connect();
  c.send("GET /plaintext HTTP/1.0\r\nHost: x\r\n\r\n");
  auto r = c.read_response();
  expect_response(ctx, r, 200, "text/plain", "Hello, World!", "HTTP/1.0 GET /plaintext");
  expect(c.wait_closed(2s),
         "HTTP/1.0 request without keep-alive: server did not close the connection within 2 s");
}

void check_http10_keep_alive(context& ctx) {
  auto c = ctx.connect();
  for (int i = 0; i < 2; ++i) {
    c.send("GET /plaintext HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
    auto r = c.read_response();
    std::string what = "HTTP/1.0 GET /plaintext with Connection: keep-alive (#" +
                       std::to_string(i + 1) + ")";
    expect_response(ctx, r, 200, "text/plain", "Hello, World!", what);
    expect(has_token(r, "Connection", "keep-alive"), what + ": response lacks Connection: keep-alive");
  }
  expect(!c.wait_closed(200ms), "server closed an HTTP/1.0 keep-alive connection");
}

void check_idle_timeout(context& ctx) {
  const auto idle = std::chrono::milliseconds(1000LL * ctx.options.idle_timeout_s);
  auto c = ctx.connect();
  expect_response(ctx, c.request(get("/plaintext")), 200, "text/plain", "Hello, World!",
                  "GET /plaintext");
  auto start = clock::now();
  bool closed = c.wait_closed(idle * 2 + 3s);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
  std::string took = std::to_string(elapsed.count()) + " ms";
  expect(closed, "idle connection still open after " + took + " (idle timeout " +
                     std::to_string(ctx.options.idle_timeout_s) + " s)");
  expect(elapsed >= idle / 2, "idle connection closed after only " + took + ", before half of the " +
                                  std::to_string(ctx.options.idle_timeout_s) + " s idle timeout");
  expect(c.buffered().empty(), "server sent bytes before closing an idle connection: " +
                                   show(c.buffered()));
  ctx.note = "closed after " + took;
}

// Time spent in /sleep is not idle time: a sleep longer than the idle timeout is answered.
void check_busy_is_not_idle(context& ctx) {
  const int ms = 1000 * ctx.options.idle_timeout_s + 500;
  const std::string target = "/sleep?ms=" + std::to_string(ms);
  auto c = ctx.connect();
  http_response r;
  try {
    r = c.request(get(target), std::chrono::milliseconds(ms + 5000));
  } catch (const http_error& e) {
    throw check_failure("GET " + target + " (longer than the " +
                        std::to_string(ctx.options.idle_timeout_s) +
                        " s idle timeout): no response: " + e.what() +
                        " (was the sleeping connection closed as idle?)");
  }
  expect_response(ctx, r, 200, "text/plain", std::to_string(ms), "GET " + target);
}

void check_sleep_duration(context& ctx) {
  auto c = ctx.connect();
  auto start = clock::now();
  auto r = c.request(get("/sleep?ms=300"), 10s);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
  expect_response(ctx, r, 200, "text/plain", "300", "GET /sleep?ms=300");
  expect(elapsed >= 300ms, "GET /sleep?ms=300 answered after only " +
                               std::to_string(elapsed.count()) + " ms");
  ctx.note = "took " + std::to_string(elapsed.count()) + " ms";
}

void check_concurrent_sleep(context& ctx) {
  constexpr int connections = 50;
  std::vector<std::string> errors(connections);
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  // Connect first, then fire all requests together, so connection setup is not timed.
  std::vector<std::optional<http_connection>> conns(connections);
  for (int i = 0; i < connections; ++i) {
    try {
      conns[i].emplace(ctx.connect());
    } catch (const http_error& e) {
      throw check_failure("connection " + std::to_string(i + 1) + " of 50: " + e.what());
    }
  }
  auto start = clock::now();
  for (int i = 0; i < connections; ++i) {
    threads.emplace_back([&, i] {
      ready++;
      while (!go) std::this_thread::yield();
      try {
        auto r = conns[i]->request(get("/sleep?ms=200"), 10s);
        if (r.status != 200 || r.body != "200") errors[i] = "got " + describe(r);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  while (ready < connections) std::this_thread::yield();
  start = clock::now();
  go = true;
  for (auto& t : threads) t.join();
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
  for (int i = 0; i < connections; ++i)
    expect(errors[i].empty(), "connection " + std::to_string(i + 1) + ": " + errors[i]);
  expect(elapsed < 2500ms, "50 concurrent /sleep?ms=200 took " + std::to_string(elapsed.count()) +
                               " ms (limit 2500 ms; serial would be 10000 ms)");
  ctx.note = "took " + std::to_string(elapsed.count()) + " ms";
}

// The contract's exact bytes, with the Date value masked.
std::string mask_date(const std::string& raw) {
  std::string out = raw;
  size_t pos = out.find("\r\nDate: ");
  if (pos == std::string::npos) return out;
  size_t start = pos + 8, end = out.find("\r\n", start);
  if (end == std::string::npos) return out;
  return out.replace(start, end - start, "<date>");
}

void expect_exact(context& ctx, const std::string& target, const std::string& type,
                  const std::string& body) {
  auto c = ctx.connect();
  auto r = c.request(get(target));
  std::string expected = "HTTP/1.1 200 OK\r\nServer: concurrency-lab\r\nDate: <date>\r\n"
                         "Content-Type: " + type + "\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body;
  std::string actual = mask_date(r.raw);
  if (actual != expected) {
    size_t at = 0;
    while (at < actual.size() && at < expected.size() && actual[at] == expected[at]) ++at;
    throw check_failure("GET " + target + ": bytes differ from the contract at offset " +
                        std::to_string(at) + ": got " + show(actual.substr(at), 60) +
                        ", expected " + show(expected.substr(at), 60) + "; whole response " +
                        show(actual, 300));
  }
}

void check_exact_plaintext_bytes(context& ctx) {
  expect_exact(ctx, "/plaintext", "text/plain", "Hello, World!");
}

void check_exact_json_bytes(context& ctx) {
  expect_exact(ctx, "/json", "application/json", R"({"message":"Hello, World!"})");
}

struct named_check {
  const char* name;
  void (*run)(context&);
  bool exact_only;
};

const std::vector<named_check>& all_checks() {
  static const std::vector<named_check> checks = {
      {"plaintext", check_plaintext, false},
      {"json", check_json, false},
      {"compute_vectors", check_compute_vectors, false},
      {"compute_bad_requests", check_compute_bad_requests, false},
      {"sleep_bad_requests", check_sleep_bad_requests, false},
      {"head", check_head, false},
      {"required_headers", check_required_headers, false},
      {"keep_alive", check_keep_alive, false},
      {"split_request", check_split_request, false},
      {"pipelining", check_pipelining, false},
      {"not_found", check_not_found, false},
      {"method_not_allowed", check_method_not_allowed, false},
      {"malformed_request_line", check_malformed_request_line, false},
      {"malformed_header", check_malformed_header, false},
      {"header_too_large", check_header_too_large, false},
      {"payload_too_large", check_payload_too_large, false},
      {"body_skipped", check_body_skipped, false},
      {"connection_close", check_connection_close, false},
      {"http10_close", check_http10_close, false},
      {"http10_keep_alive", check_http10_keep_alive, false},
      {"idle_timeout", check_idle_timeout, false},
      {"busy_is_not_idle", check_busy_is_not_idle, false},
      {"sleep_duration", check_sleep_duration, false},
      {"concurrent_sleep", check_concurrent_sleep, false},
      {"exact_plaintext_bytes", check_exact_plaintext_bytes, true},
      {"exact_json_bytes", check_exact_json_bytes, true},
  };
  return checks;
}

}  // namespace

std::vector<std::string> conformance_check_names() {
  std::vector<std::string> names;
  for (const auto& check : all_checks()) names.push_back(check.name);
  return names;
}

check_result run_check(const std::string& name, const conformance_options& options) {
  check_result result{name, false, "", false};
  const auto& checks = all_checks();
  auto it = std::find_if(checks.begin(), checks.end(),
                         [&](const named_check& c) { return name == c.name; });
  if (it == checks.end()) {
    std::string valid;
    for (const auto& c : checks) valid += (valid.empty() ? "" : ", ") + std::string(c.name);
    result.detail = "unknown check '" + name + "'; valid: " + valid;
    return result;
  }
  if (it->exact_only && !options.exact_cpp_bytes) {
    result.passed = true;
    result.skipped = true;
    result.detail = "skipped: exact bytes are only required of the C++ servers";
    return result;
  }
  context ctx{options, ""};
  try {
    it->run(ctx);
    result.passed = true;
    result.detail = ctx.note;
  } catch (const check_failure& e) {
    result.detail = e.what();
  } catch (const http_error& e) {
    result.detail = std::string("HTTP: ") + e.what();
  } catch (const std::exception& e) {
    result.detail = std::string("error: ") + e.what();
  }
  return result;
}

std::vector<check_result> run_conformance(const conformance_options& options) {
  std::vector<check_result> results;
  for (const auto& name : conformance_check_names()) results.push_back(run_check(name, options));
  return results;
}

}  // namespace lab
