#include "service.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace lab
