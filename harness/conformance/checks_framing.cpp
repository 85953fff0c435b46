// Keep-alive, pipelining, requests split across writes, header and body limits, bodies,
// and the rules for closing a connection.
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "checks.h"

namespace lab::checks {
namespace {

// One answer expected in a pipelined sequence.
struct expected_answer {
  std::string what;  // "GET /plaintext"
  int status = 200;
  std::string body;  // exact body; for "GET /json..." compared as JSON
  bool head = false;
};

expected_answer answer_for(const std::string& what, int status, std::string body) {
  return {what, status, std::move(body), what.starts_with("HEAD ")};
}

bool matches(const expected_answer& e, const http_response& r) {
  if (r.status != e.status) return false;
  if (e.head) return r.body.empty();
  if (e.what.starts_with("GET /json") && e.status == 200) {
    try {
      return nlohmann::json::parse(r.body) == nlohmann::json{{"message", "Hello, World!"}};
    } catch (const std::exception&) {
      return false;
    }
  }
  return r.body == e.body;
}

// Reads the answers to a pipelined batch in order. A wrong answer that is the right answer to
// another request of the batch is reported as out of order; a missing one as dropped.
void expect_in_order(http_connection& c, const std::vector<expected_answer>& answers,
                     const std::string& batch, std::chrono::milliseconds timeout = 5s) {
  const size_t n = answers.size();
  for (size_t i = 0; i < n; ++i) {
    const auto& e = answers[i];
    std::string what = batch + ": response " + std::to_string(i + 1) + " of " + std::to_string(n) +
                       " (" + e.what + ")";
    std::string hint = i == 0 ? "" : "the pipelined requests after the first were dropped?";
    if (i > 0 && answers[i - 1].head) hint = "body sent after HEAD?";
    auto r = receive(c, what, timeout, e.head, hint);
    if (!matches(e, r)) {
      for (size_t j = 0; j < n; ++j)
        if (j != i && answers[j].what != e.what && matches(answers[j], r))
          throw check_failure(what + ": out of order: got " + describe(r) +
                              ", the answer to request " + std::to_string(j + 1) + " (" +
                              answers[j].what + ")");
      throw check_failure(what + ": expected " + std::to_string(e.status) + " " + show(e.body, 40) +
                          ", got " + describe(r));
    }
    if (e.head) {
      expect(r.header("Content-Length") == std::to_string(e.body.size()),
             what + ": Content-Length " + r.header("Content-Length").value_or("(none)") +
                 ", the GET's body has " + std::to_string(e.body.size()) + " bytes");
      expect(c.buffered().empty() || c.buffered().starts_with("HTTP/1."),
             what + ": body sent after HEAD: " + show(c.buffered(), 40));
    }
    expect_required_headers(r, what, e.head);
  }
}

std::string json_body() { return R"({"message":"Hello, World!"})"; }

}  // namespace

void check_keep_alive(context& ctx) {
  auto c = ctx.connect();
  const char* targets[] = {"/plaintext", "/json", "/compute?n=3", "/sleep?ms=1",
                           "/plaintext", "/nope", "/plaintext"};
  for (const char* target : targets) {
    std::string what = std::string("GET ") + target + " (keep-alive)";
    auto r = ask(c, get(target), what);
    expect(r.status == 200 || r.status == 404, what + ": got " + describe(r));
    expect(!has_token(r, "Connection", "close"),
           what + ": response says Connection: close on a keep-alive request");
  }
  expect(!c.wait_closed(200ms), "the server closed the keep-alive connection after 7 requests");
}

void check_split_request(context& ctx) {
  const std::string request = get("/compute?n=2", "User-Agent: split\r\n");
  auto c = ctx.connect();
  // Byte by byte.
  for (char byte : request) {
    send(c, std::string_view(&byte, 1), "request sent one byte at a time");
    std::this_thread::sleep_for(2ms);
  }
  const std::string lost = "was a request split across reads lost?";
  expect_response(ctx, receive(c, "request sent one byte at a time", 5s, false, lost), 200,
                  "text/plain", "2497366906", "request sent one byte at a time");
  // Every split point: first k bytes, pause, the rest.
  for (size_t k = 1; k < request.size(); ++k) {
    std::string what = "request split after byte " + std::to_string(k);
    send(c, std::string_view(request).substr(0, k), what);
    std::this_thread::sleep_for(3ms);
    send(c, std::string_view(request).substr(k), what);
    expect_response(ctx, receive(c, what, 5s, false, lost), 200, "text/plain", "2497366906", what);
  }
}

void check_pipelining(context& ctx) {
  std::string batch;
  std::vector<expected_answer> answers;
  for (int i = 0; i < 16; ++i) {
    if (i % 4 == 0) {
      batch += get("/plaintext");
      answers.push_back(answer_for("GET /plaintext", 200, "Hello, World!"));
    } else if (i % 4 == 1) {
      batch += get("/json");
      answers.push_back(answer_for("GET /json", 200, json_body()));
    } else {
      // Distinct n per position so a reordering shows.
      uint64_t n = 1000 * i + (i % 4 == 3 ? 200000 : 0);
      batch += get("/compute?n=" + std::to_string(n));
      answers.push_back(
          answer_for("GET /compute?n=" + std::to_string(n), 200, std::to_string(compute(n))));
    }
  }
  auto c = ctx.connect();
  send(c, batch, "16 pipelined requests");
  expect_in_order(c, answers, "16 requests in one write");
}

void check_pipelining_behind_sleep(context& ctx) {
  auto c = ctx.connect();
  const std::vector<expected_answer> answers = {
      answer_for("GET /sleep?ms=300", 200, "300"),
      answer_for("GET /plaintext", 200, "Hello, World!"),
      answer_for("GET /compute?n=7", 200, std::to_string(compute(7))),
      answer_for("GET /json", 200, json_body())};
  auto start = clock::now();
  send(c, get("/sleep?ms=300") + get("/plaintext") + get("/compute?n=7") + get("/json"),
       "a sleep and 3 fast requests in one write");
  // The first answer is read alone to time it; the rest must follow it, in order.
  auto first = receive(c, "pipelined response 1 of 4 (GET /sleep?ms=300)", 10s);
  long long ms = ms_since(start);
  expect(first.status == 200 && first.body == "300",
         "pipelined response 1 of 4 (GET /sleep?ms=300): got " + describe(first) +
             (first.status == 200 ? " (out of order: a request behind the sleep answered first)"
                                  : ""));
  expect(ms >= 300,
         "pipelined GET /sleep?ms=300 answered after only " + std::to_string(ms) + " ms");
  expect_in_order(c, {answers.begin() + 1, answers.end()}, "the 3 requests behind the sleep");
  ctx.note = "sleep answered after " + std::to_string(ms) + " ms";
}

void check_pipelining_with_head_and_errors(context& ctx) {
  auto c = ctx.connect();
  send(c,
       head("/plaintext") + get("/nope") + "DELETE /json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" +
           get("/compute?n=x") + get("/plaintext"),
       "HEAD, 404, 405, 400 and GET in one write");
  expect_in_order(c,
                  {answer_for("HEAD /plaintext", 200, "Hello, World!"),
                   answer_for("GET /nope", 404, "Not Found"),
                   answer_for("DELETE /json", 405, "Method Not Allowed"),
                   answer_for("GET /compute?n=x", 400, "Bad Request"),
                   answer_for("GET /plaintext", 200, "Hello, World!")},
                  "HEAD, 404, 405, 400 and GET in one write");
  expect_still_open(ctx, c, "after the pipelined HEAD and errors");
}

void check_pipelining_after_close(context& ctx) {
  auto c = ctx.connect();
  const std::string what =
      "GET /plaintext with Connection: close, then GET /json in the same write";
  send(c, get("/plaintext", "Connection: close\r\n") + get("/json"), what);
  auto r = receive(c, what);
  expect_response(ctx, r, 200, "text/plain", "Hello, World!", what + " (first response)");
  expect(has_token(r, "Connection", "close"), what + ": response lacks 'Connection: close'");
  bool closed = c.wait_closed(ctx.close_wait());
  expect(c.buffered().empty(), what +
                                   ": answered the request pipelined after 'Connection: close': " +
                                   show(c.buffered(), 80));
  expect(closed, what + ": server did not close the connection within " + ctx.close_wait_text());
}

void check_pipelining_split(context& ctx) {
  std::string batch;
  std::vector<expected_answer> answers;
  for (int i = 0; i < 8; ++i) {
    if (i % 4 == 1) {
      batch += get("/plaintext");
      answers.push_back(answer_for("GET /plaintext", 200, "Hello, World!"));
    } else if (i % 4 == 3) {
      batch += get("/json");
      answers.push_back(answer_for("GET /json", 200, json_body()));
    } else {
      std::string target = "/compute?n=" + std::to_string(100 + i);
      batch += get(target);
      answers.push_back(answer_for("GET " + target, 200, std::to_string(compute(100 + i))));
    }
  }
  // Chunks of odd sizes, so requests are cut at many different places (inside the request
  // line, a header, the CRLF pairs), with pauses so they arrive in separate reads.
  const size_t sizes[] = {1, 7, 13, 3, 29, 61, 17, 5, 37, 11, 97, 23};
  auto c = ctx.connect();
  for (size_t at = 0, k = 0; at < batch.size(); ++k) {
    size_t size = std::min(sizes[k % std::size(sizes)], batch.size() - at);
    send(c, std::string_view(batch).substr(at, size), "8 requests written in odd-sized chunks");
    at += size;
    std::this_thread::sleep_for(4ms);
  }
  expect_in_order(c, answers, "8 requests written in odd-sized chunks");
}

void check_malformed_request_line(context& ctx) {
  expect_error_and_close(ctx, "GARBAGE\r\nHost: x\r\n\r\n", 400, "Bad Request",
                         "request line 'GARBAGE'");
  expect_error_and_close(ctx, "GET /plaintext HTTP/9.Q\r\nHost: x\r\n\r\n", 400, "Bad Request",
                         "request line with version 'HTTP/9.Q'");
  expect_error_and_close(ctx, "GET /plain\x01text HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Bad Request",
                         "a control character (0x01) in the target");
}

void check_malformed_header(context& ctx) {
  expect_error_and_close(ctx, "GET /plaintext HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400,
                         "Bad Request", "header line without a colon");
  // Control characters in a header value (HTAB aside) make the header malformed.
  const std::pair<std::string, std::string> controls[] = {{std::string("a\0b", 3), "NUL"},
                                                          {"a\x7f"
                                                           "b",
                                                           "DEL"},
                                                          {"a\rb", "a bare CR"},
                                                          {"a\nb", "a bare LF"}};
  for (const auto& [value, name] : controls)
    expect_error_and_close(ctx, get("/plaintext", "X-Value: " + value + "\r\n"), 400, "Bad Request",
                           name + " in a header value");
  auto c = ctx.connect();
  const std::string what = "HTAB in a header value (allowed)";
  expect_response(ctx, ask(c, get("/plaintext", "X-Value: a\tb\r\n"), what), 200, "text/plain",
                  "Hello, World!", what);
  expect_still_open(ctx, c, what);
}

void check_header_too_large(context& ctx) {
  const std::string body = "Request Header Fields Too Large";
  expect_error_and_close(ctx, get("/plaintext", "X-Big: " + std::string(9000, 'a') + "\r\n"), 431,
                         body, "a 9000-byte header");
  expect_error_and_close(ctx, get("/" + std::string(9000, 'a')), 431, body,
                         "a 9000-byte request target");
  std::string many;
  for (int i = 0; i < 400; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "X-H%04d", i);
    many += std::string(name) + ": aaaaaaaaaaaaaa\r\n";  // 25 bytes each
  }
  expect_error_and_close(ctx, get("/plaintext", many), 431, body, "400 headers of 25 bytes");
}

// The header section counted here is every byte from the first byte of the request line up to
// and including the CRLF CRLF that ends the header: at most 8192 bytes are accepted, whether
// they arrive in one write or in two (split after 4097 bytes, in the middle of a header line,
// so the fields before the split may already have been parsed).
void check_header_limit_boundary(context& ctx) {
  const std::string body = "Request Header Fields Too Large";
  for (bool split : {false, true}) {
    std::string how = split ? " in two writes" : " in one write";
    auto write = [&](http_connection& c, const std::string& request, const std::string& what) {
      if (!split) return send(c, request, what);
      send(c, std::string_view(request).substr(0, 4097), what);
      std::this_thread::sleep_for(100ms);  // so the server reads the two parts separately
      try {
        c.send(std::string_view(request).substr(4097));
      } catch (const http_error&) {  // answered and closed early: read the answer
      }
    };
    {
      std::string what = "a header section of exactly 8192 bytes" + how;
      auto c = ctx.connect();
      write(c, request_with_header_section(8192), what);
      expect_response(ctx, receive(c, what), 200, "text/plain", "Hello, World!", what);
      expect_still_open(ctx, c, what);
    }
    {
      std::string what = "a header section of 8193 bytes" + how;
      auto c = ctx.connect();
      write(c, request_with_header_section(8193), what);
      auto r = receive(c, what, 5s, false, "expected 431");
      expect_response(ctx, r, 431, "text/plain", body, what);
      expect_closes(ctx, c, r, what);
    }
  }
}

void check_payload_too_large(context& ctx) {
  const std::string body = "Payload Too Large";
  expect_error_and_close(ctx, get("/plaintext", "Content-Length: 2000000\r\n"), 413, body,
                         "Content-Length: 2000000");
  expect_error_and_close(ctx, get("/plaintext", "Content-Length: 1048577\r\n"), 413, body,
                         "Content-Length: 1048577 (1 MiB + 1)");
  const std::string chunked = get("/plaintext", "Transfer-Encoding: chunked\r\n");
  // One chunk whose size line declares 1 MiB + 1, data included (a server may read it first).
  expect_error_and_close(ctx, chunked + "100001\r\n" + std::string(0x100001, 'x') + "\r\n0\r\n\r\n",
                         413, body, "one chunk of 1 MiB + 1 bytes");
  // Chunks that are small alone but total more than 1 MiB.
  std::string many = chunked;
  for (int i = 0; i < 17; ++i) many += "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
  expect_error_and_close(ctx, many + "0\r\n\r\n", 413, body, "17 chunks of 64 KiB (1.06 MiB)");

  // Exactly 1 MiB is allowed, read and ignored; the body looks like requests, so a server
  // that did not skip it would answer them instead of the GET /json after it.
  std::string filler;
  while (filler.size() < 1048576) filler += "GET /nope HTTP/1.1\r\n\r\n";
  filler.resize(1048576);
  auto c = ctx.connect();
  std::string what = "a 1048576-byte body (exactly 1 MiB) by Content-Length, then GET /json";
  send(c, get("/plaintext", "Content-Length: 1048576\r\n") + filler + get("/json"), what);
  expect_in_order(c,
                  {answer_for("GET /plaintext with a 1 MiB body", 200, "Hello, World!"),
                   answer_for("GET /json", 200, json_body())},
                  what, 10s);
  std::string chunked_mib = chunked;
  for (int i = 0; i < 16; ++i) chunked_mib += "10000\r\n" + filler.substr(0, 0x10000) + "\r\n";
  what = "a chunked body of exactly 1 MiB (16 chunks of 64 KiB), then GET /json";
  send(c, chunked_mib + "0\r\n\r\n" + get("/json"), what);
  expect_in_order(c,
                  {answer_for("GET /plaintext with a 1 MiB chunked body", 200, "Hello, World!"),
                   answer_for("GET /json", 200, json_body())},
                  what, 10s);
}

void check_body_skipped(context& ctx) {
  auto c = ctx.connect();
  // The bodies look like requests: if a server did not skip them it would answer them.
  for (size_t size : {size_t{100}, size_t{200000}}) {
    std::string body = "GET /nope HTTP/1.1\r\n\r\n";
    while (body.size() < size) body += "GET /nope HTTP/1.1\r\n\r\n";
    body.resize(size);
    std::string what =
        "GET /plaintext with a " + std::to_string(size) + "-byte body, then GET /json";
    send(
        c,
        get("/plaintext", "Content-Length: " + std::to_string(size) + "\r\n") + body + get("/json"),
        what);
    expect_in_order(c,
                    {answer_for("GET /plaintext with a body", 200, "Hello, World!"),
                     answer_for("GET /json", 200, json_body())},
                    what, 10s);
  }
  const std::string what = "GET /plaintext with a chunked body (3 chunks), then GET /json";
  send(c,
       get("/plaintext", "Transfer-Encoding: chunked\r\n") + "5\r\nhello\r\n" +
           "16\r\nGET /nope HTTP/1.1\r\n\r\n\r\n" + "a;ext=1\r\n0123456789\r\n0\r\n\r\n" +
           get("/json"),
       what);
  expect_in_order(c,
                  {answer_for("GET /plaintext with a chunked body", 200, "Hello, World!"),
                   answer_for("GET /json", 200, json_body())},
                  what);
}

void check_connection_close(context& ctx) {
  auto c = ctx.connect();
  const std::string what = "GET /plaintext, Connection: close";
  auto r = ask(c, get("/plaintext", "Connection: close\r\n"), what);
  expect_response(ctx, r, 200, "text/plain", "Hello, World!", what);
  expect_closes(ctx, c, r, what);
}

void check_http10_close(context& ctx) {
  auto c = ctx.connect();
  const std::string what = "HTTP/1.0 GET /plaintext";
  auto r = ask(c, "GET /plaintext HTTP/1.0\r\nHost: x\r\n\r\n", what);
  expect_response(ctx, r, 200, "text/plain", "Hello, World!", what);
  expect(c.wait_closed(ctx.close_wait()),
         "HTTP/1.0 request without keep-alive: server did not close the connection within " +
             ctx.close_wait_text());
}

void check_http10_keep_alive(context& ctx) {
  auto c = ctx.connect();
  for (int i = 0; i < 2; ++i) {
    std::string what =
        "HTTP/1.0 GET /plaintext with Connection: keep-alive (#" + std::to_string(i + 1) + ")";
    auto r = ask(c, "GET /plaintext HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", what);
    expect_response(ctx, r, 200, "text/plain", "Hello, World!", what);
    expect(has_token(r, "Connection", "keep-alive"),
           what + ": response lacks Connection: keep-alive");
  }
  expect(!c.wait_closed(200ms), "server closed an HTTP/1.0 keep-alive connection");
}

}  // namespace lab::checks
