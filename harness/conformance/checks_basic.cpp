// Endpoints, query values, HEAD, required headers and the errors that keep the connection.
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "checks.h"

namespace lab::checks {

void check_plaintext(context& ctx) {
  auto c = ctx.connect();
  for (const char* target : {"/plaintext", "/plaintext?ignored=1"}) {
    std::string what = std::string("GET ") + target;
    expect_response(ctx, ask(c, get(target), what), 200, "text/plain", "Hello, World!", what);
  }
}

void check_json(context& ctx) {
  auto c = ctx.connect();
  for (const char* target : {"/json", "/json?ignored=1"}) {
    std::string what = std::string("GET ") + target;
    auto r = ask(c, get(target), what);
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
      {0, "2463534242"},     {1, "723471715"},        {2, "2497366906"},
      {3, "2064144800"},     {10, "2653896249"},      {1000, "3298996588"},
      {100000, "196514455"}, {1000000, "2318261108"}, {10000000, "3882214040"}};
  auto c = ctx.connect();
  for (const auto& [n, expected] : vectors) {
    if (n <= 1000000 && std::to_string(compute(n)) != expected)
      throw check_failure("test vector table disagrees with xorshift32 at n=" + std::to_string(n));
    std::string target = "/compute?n=" + std::to_string(n);
    expect_response(ctx, ask(c, get(target), "GET " + target, 15s), 200, "text/plain", expected,
                    "GET " + target);
  }
}

void check_compute_bad_requests(context& ctx) {
  auto c = ctx.connect();
  for (const std::string target :
       {"/compute", "/compute?n=abc", "/compute?n=-1", "/compute?n=10000001", "/compute?n=12x"}) {
    expect_response(ctx, ask(c, get(target), "GET " + target, 10s), 400, "text/plain",
                    "Bad Request", "GET " + target);
  }
  expect_still_open(ctx, c, "after the 400s (they keep the connection alive)");
}

void check_sleep_bad_requests(context& ctx) {
  auto c = ctx.connect();
  for (const std::string target : {"/sleep", "/sleep?ms=abc", "/sleep?ms=-5", "/sleep?ms=60001"}) {
    auto start = clock::now();
    expect_response(ctx, ask(c, get(target), "GET " + target, 10s), 400, "text/plain",
                    "Bad Request", "GET " + target);
    expect(clock::now() - start < 5s, "GET " + target + ": the 400 took over 5 s");
  }
  expect_still_open(ctx, c, "after the 400s (they keep the connection alive)");
}

// The query rule: the first pair whose raw name is exactly n (or ms) counts; its value is
// form-decoded (%XX, '+' = space; a malformed escape is 400) and must then be one or more
// ASCII digits, leading zeros allowed, compared numerically without overflow against the
// inclusive bound. /sleep answers M in canonical decimal.
void check_query_values(context& ctx) {
  struct query_case {
    const char* target;
    int status;
    const char* body;  // for 400: "Bad Request"
  };
  const char* bad = "Bad Request";
  const query_case cases[] = {
      {"/compute?n=0000000001", 200, "723471715"},  // leading zeros
      {"/compute?n=%31", 200, "723471715"},         // %-decoded digit
      {"/compute?n=%2B1", 400, bad},                // decodes to "+1"
      {"/compute?n=+1", 400, bad},                  // '+' is a space
      {"/compute?n=1&n=abc", 200, "723471715"},     // the first pair counts
      {"/compute?n=abc&n=1", 400, bad},
      {"/compute?n=1&x=%zz", 200, "723471715"},  // only the value read matters
      {"/compute?x=%zz&n=1", 200, "723471715"},
      {"/compute?n=%zz&n=1", 400, bad},  // ... and it is the first one
      {"/compute?%6E=1", 400, bad},      // names are not decoded
      {"/compute?n=", 400, bad},
      {"/compute?n", 400, bad},
      {"/compute?N=1", 400, bad},   // names are case-sensitive
      {"/compute?n=1%", 400, bad},  // malformed escapes
      {"/compute?n=%3", 400, bad},
      {"/compute?n=%zz", 400, bad},
      {"/compute?n=10000000", 200, "3882214040"},  // bounds are inclusive
      {"/compute?n=10000001", 400, bad},
      {"/compute?n=000000000000000000000010000000", 200, "3882214040"},
      {"/compute?n=99999999999999999999", 400, bad},  // no overflow into a small number
      {"/compute?n=-1", 400, bad},
      {"/compute?n=-0", 400, bad},
      {"/compute?n=1e3", 400, bad},
      {"/compute?n=0x10", 400, bad},
      {"/compute?x=1&n=2", 200, "2497366906"},  // other names are skipped
      {"/sleep?ms=0", 200, "0"},
      {"/sleep?ms=0005", 200, "5"},  // body in canonical decimal
      {"/sleep?ms=%30", 200, "0"},
      {"/sleep?ms=60001", 400, bad},
      {"/sleep?ms=000000000000000000060001", 400, bad},
  };
  auto c = ctx.connect();  // one connection: the 400s keep it alive
  for (const auto& q : cases) {
    std::string what = std::string("GET ") + q.target;
    auto r =
        ask(c, get(q.target), what, 15s, q.status == 400 ? "a 400 keeps the connection alive" : "");
    expect_response(ctx, r, q.status, "text/plain", q.body, what);
  }
}

void check_head(context& ctx) {
  const std::pair<std::string, int> cases[] = {{"/plaintext", 200},    {"/json", 200},
                                               {"/compute?n=10", 200}, {"/sleep?ms=1", 200},
                                               {"/nope", 404},         {"/compute?n=x", 400}};
  auto c = ctx.connect();
  for (const auto& [target, status] : cases) {
    auto g = ask(c, get(target), "GET " + target);
    expect(g.status == status,
           "GET " + target + ": expected " + std::to_string(status) + ", got " + describe(g));
    std::string what = "HEAD " + target;
    auto h = ask(c, head(target), what);
    expect(h.status == g.status, what + ": status " + std::to_string(h.status) +
                                     ", the GET's was " + std::to_string(g.status));
    expect_required_headers(h, what, true);
    expect(h.header("Content-Length") == std::to_string(g.body.size()),
           what + ": Content-Length " + h.header("Content-Length").value_or("(none)") +
               ", the GET's body has " + std::to_string(g.body.size()) + " bytes");
    expect(h.header("Content-Type") == g.header("Content-Type"),
           what + ": Content-Type differs from the GET's");
    // Nothing may follow the HEAD response: give a late body a moment to arrive.
    if (c.buffered().empty()) c.wait_closed(100ms);
    expect(c.buffered().empty(), what + ": body sent after HEAD: " + show(c.buffered()));
  }
  expect_still_open(ctx, c, "after the HEADs");
}

void check_required_headers(context& ctx) {
  const std::pair<std::string, int> kept[] = {
      {get("/plaintext"), 200},   {get("/json"), 200},
      {get("/compute?n=5"), 200}, {get("/sleep?ms=1"), 200},
      {get("/nope"), 404},        {"DELETE /json HTTP/1.1\r\nHost: x\r\n\r\n", 405},
      {get("/compute?n=x"), 400}, {head("/plaintext"), 200},
      {head("/nope"), 404}};
  auto c = ctx.connect();
  for (const auto& [request, status] : kept) {
    std::string what = request.substr(0, request.find(" HTTP/"));
    auto r = ask(c, request, what);
    expect(r.status == status,
           what + ": expected " + std::to_string(status) + ", got " + std::to_string(r.status));
    expect_required_headers(r, what, request.starts_with("HEAD "));
  }
  // The errors that close the connection, each on its own.
  const std::tuple<std::string, int, std::string> closing[] = {
      {"GARBAGE\r\nHost: x\r\n\r\n", 400, "malformed request line"},
      {get("/plaintext", "Content-Length: 2000000\r\n"), 413, "Content-Length: 2000000"},
      {get("/plaintext", "X-Big: " + std::string(9000, 'a') + "\r\n"), 431, "9000-byte header"}};
  for (const auto& [request, status, what] : closing) {
    auto e = ctx.connect();
    auto r = ask(e, request, what);
    expect(r.status == status,
           what + ": expected " + std::to_string(status) + ", got " + std::to_string(r.status));
    expect_required_headers(r, what, false);
  }
}

void check_not_found(context& ctx) {
  auto c = ctx.connect();
  // Paths are compared raw, byte for byte: no decoding, no dot segments, no slash merging.
  for (const std::string target :
       {"/nope", "/plaintextx", "/", "/%63ompute?n=1", "/./compute?n=1", "//compute?n=1",
        "/compute/?n=1", "/plaintext/", "/Compute?n=1", "/plaintext#top", "/plaintext;x"}) {
    expect_response(ctx, ask(c, get(target), "GET " + target, 5s, "a 404 keeps the connection"),
                    404, "text/plain", "Not Found", "GET " + target);
  }
  const std::string what = "DELETE /nope (unknown path: 404 whatever the method)";
  expect_response(ctx, ask(c, "DELETE /nope HTTP/1.1\r\nHost: x\r\n\r\n", what), 404, "text/plain",
                  "Not Found", what);
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
    auto r = ask(c, request, what, 5s, "a 405 keeps the connection");
    expect_response(ctx, r, 405, "text/plain", "Method Not Allowed", what);
    auto allow = r.header("Allow");
    expect(allow.has_value(), what + ": no Allow header");
    if (ctx.options.exact_cpp_bytes)
      expect(*allow == "GET, HEAD",
             what + ": Allow is " + show(*allow) + ", expected \"GET, HEAD\"");
    else
      expect(has_token(r, "Allow", "GET") && has_token(r, "Allow", "HEAD"),
             what + ": Allow is " + show(*allow) + ", expected GET and HEAD");
  }
  expect_still_open(ctx, c, "after the 405s");
}

namespace {

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
  auto r = ask(c, get(target), "GET " + target);
  std::string expected =
      "HTTP/1.1 200 OK\r\nServer: concurrency-lab\r\nDate: <date>\r\n"
      "Content-Type: " +
      type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
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

}  // namespace

void check_exact_plaintext_bytes(context& ctx) {
  expect_exact(ctx, "/plaintext", "text/plain", "Hello, World!");
}

void check_exact_json_bytes(context& ctx) {
  expect_exact(ctx, "/json", "application/json", R"({"message":"Hello, World!"})");
}

}  // namespace lab::checks
