#include "service.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "compute.h"

namespace lab {
namespace {

// The test vectors of docs/service-contract.md; Go, Node.js and Java must produce the same.
TEST(Compute, MatchesTheContractsTestVectors) {
  const std::pair<std::uint32_t, std::uint32_t> vectors[] = {
      {0, 2463534242u}, {1, 723471715u}, {2, 2497366906u}, {3, 2064144800u}, {10, 2653896249u},
      {1000, 3298996588u}, {100000, 196514455u}, {1000000, 2318261108u}, {10000000, 3882214040u}};
  for (const auto& [n, expected] : vectors) EXPECT_EQ(compute_xorshift(n), expected) << "n=" << n;
}

http::request get(std::string_view target) { return {http::method::get, target, 11, true}; }

TEST(Service, RoutesEveryEndpoint) {
  std::string out;
  EXPECT_EQ(handle_request(get("/plaintext"), out).what, service_action::kind::responded);
  EXPECT_NE(out.find("\r\n\r\nHello, World!"), std::string::npos);
  out.clear();
  EXPECT_EQ(handle_request(get("/json"), out).what, service_action::kind::responded);
  EXPECT_NE(out.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\n\r\n{\"message\":\"Hello, World!\"}"), std::string::npos);
  out.clear();
  const service_action compute = handle_request(get("/compute?n=1000"), out);
  EXPECT_EQ(compute.what, service_action::kind::compute);
  EXPECT_EQ(compute.amount, 1000u);
  EXPECT_TRUE(out.empty());
  const service_action sleep = handle_request(get("/sleep?ms=25"), out);
  EXPECT_EQ(sleep.what, service_action::kind::sleep);
  EXPECT_EQ(sleep.amount, 25u);
}

// The query rule itself is tested in query_test.cpp; here only that routing applies it.
TEST(Service, ReadsQueryValuesByTheContractsRule) {
  std::string out;
  const service_action compute = handle_request(get("/compute?n=0000000001&n=2"), out);
  EXPECT_EQ(compute.what, service_action::kind::compute);
  EXPECT_EQ(compute.amount, 1u);
  const service_action sleep = handle_request(get("/sleep?x=%zz&ms=%30005"), out);
  EXPECT_EQ(sleep.what, service_action::kind::sleep);
  EXPECT_EQ(sleep.amount, 5u);
  EXPECT_TRUE(out.empty());
  std::string body;
  append_sleep_response({}, sleep.amount, body);
  EXPECT_EQ(body.substr(body.size() - 5), "\r\n\r\n5");  // canonical decimal, no leading zeros
}

TEST(Service, AnswersErrors) {
  std::string out;
  handle_request(get("/nope"), out);
  EXPECT_EQ(out.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  out.clear();
  handle_request({http::method::other, "/json", 11, true}, out);
  EXPECT_EQ(out.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u);
  EXPECT_NE(out.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
  for (const char* bad : {"/compute", "/compute?n=10000001", "/compute?n=x", "/compute?N=1",
                          "/compute?n=%zz", "/compute?n=+1", "/sleep?ms=60001", "/sleep?ms="}) {
    out.clear();
    EXPECT_EQ(handle_request(get(bad), out).what, service_action::kind::responded) << bad;
    EXPECT_EQ(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << bad;
  }
}

TEST(Service, HeadSendsTheGetsHeadersWithoutBody) {
  std::string out;
  handle_request({http::method::head, "/plaintext", 11, true}, out);
  EXPECT_NE(out.find("Content-Length: 13\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

TEST(ResponseWriter, WritesTheContractsExactBytes) {
  std::string out;
  handle_request(get("/plaintext"), out);
  const std::string date(http::http_date_now());
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nServer: concurrency-lab\r\nDate: " + date +
                     "\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!");
  EXPECT_EQ(date.size(), 29u);  // "Mon, 23 Nov 2026 05:00:00 GMT"
  EXPECT_EQ(date.substr(26), "GMT");
}

TEST(Gateway, ParsesTheQueryByTheContractsRule) {
  const auto call = parse_gateway_query("fanout=64&ms=60000&mode=sequential&deadline_ms=600000");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->fanout, 64u);
  EXPECT_EQ(call->ms, 60000u);
  EXPECT_TRUE(call->sequential);
  EXPECT_EQ(call->deadline_ms, 600000u);
  const auto defaults = parse_gateway_query("ms=0&fanout=01");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->fanout, 1u);
  EXPECT_FALSE(defaults->sequential);
  EXPECT_EQ(defaults->deadline_ms, 0u);  // none
  EXPECT_TRUE(parse_gateway_query("fanout=1&ms=1&mode=parallel&deadline_ms=1"));
  EXPECT_TRUE(parse_gateway_query("fanout=1&ms=1&mode=%70arallel&mode=x"));
  for (const char* bad :
       {"", "ms=1", "fanout=1", "fanout=0&ms=1", "fanout=65&ms=1", "fanout=1&ms=60001", "fanout=+1&ms=1",
        "fanout=1&ms=1&mode=Parallel", "fanout=1&ms=1&mode=", "fanout=1&ms=1&mode", "fanout=1&ms=1&mode=x&mode=parallel",
        "fanout=1&ms=1&deadline_ms=0", "fanout=1&ms=1&deadline_ms=600001", "fanout=1&ms=1&deadline_ms",
        "fanout=1&ms=1&deadline_ms=%zz"})
    EXPECT_FALSE(parse_gateway_query(bad)) << bad;
}

TEST(Gateway, RoutesAndAnswers400) {
  std::string out;
  const service_action action = handle_request(get("/gateway?fanout=3&ms=7"), out);
  EXPECT_EQ(action.what, service_action::kind::gateway);
  EXPECT_EQ(action.gateway.fanout, 3u);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(handle_request(get("/gateway?fanout=3"), out).what, service_action::kind::responded);
  EXPECT_NE(out.find("HTTP/1.1 400 Bad Request\r\n"), std::string::npos);
}

std::string body_of(const std::string& response) { return response.substr(response.find("\r\n\r\n") + 4); }

TEST(Gateway, ResponseBytes) {
  gateway_result result;
  for (std::uint32_t i = 0; i < 3; ++i) result.calls[i] = {i, 25};
  std::string out;
  append_gateway_response({}, {3, 25, false, 0}, result, out);
  EXPECT_NE(out.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_EQ(body_of(out), R"({"fanout":3,"mode":"parallel","calls":[{"i":0,"ms":25},{"i":1,"ms":25},{"i":2,"ms":25}]})");
  out.clear();
  append_gateway_response({}, {1, 0, true, 10}, result, out);
  EXPECT_EQ(body_of(out), R"({"fanout":1,"mode":"sequential","calls":[{"i":0,"ms":25}]})");
  // The largest body fits: 64 calls of the largest numbers.
  for (auto& call : result.calls) call = {4294967295u, 4294967295u};
  out.clear();
  append_gateway_response({}, {64, 60000, true, 0}, result, out);
  EXPECT_EQ(std::count(out.begin(), out.end(), '{'), 65);
  for (const auto& [status, text] : {std::pair{502, "Bad Gateway"}, std::pair{504, "Gateway Timeout"}}) {
    result.status = status;
    out.clear();
    append_gateway_response({}, {1, 0, false, 0}, result, out);
    EXPECT_EQ(out.rfind("HTTP/1.1 " + std::to_string(status) + " " + text + "\r\n", 0), 0u);
    EXPECT_NE(out.find("Content-Type: text/plain\r\n"), std::string::npos);
    EXPECT_EQ(body_of(out), text);
  }
}

}  // namespace
}  // namespace lab
