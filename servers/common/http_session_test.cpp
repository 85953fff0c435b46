#include "http_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "compute.h"

namespace lab {
namespace {

// Drives a session the way a model does, with scripted input; returns everything written.
struct driven {
  std::string written;
  std::vector<next_step::kind> steps;
  bool closed = false;
};

driven drive(http_session& session, const std::vector<std::string>& reads) {
  driven result;
  std::size_t next_read = 0;
  for (int guard = 0; guard < 10000; ++guard) {
    const next_step step = session.advance();
    result.written += session.output();
    session.output_written();
    result.steps.push_back(step.what);
    switch (step.what) {
      case next_step::kind::read: {
        if (next_read == reads.size()) return result;
        const std::string& bytes = reads[next_read++];
        const std::span<char> space = session.read_space();
        EXPECT_GE(space.size(), bytes.size());
        std::memcpy(space.data(), bytes.data(), bytes.size());
        session.commit_read(bytes.size());
        break;
      }
      case next_step::kind::sleep: session.finish_sleep(); break;
      case next_step::kind::compute: session.finish_compute(compute_xorshift(step.amount)); break;
      case next_step::kind::gateway: {  // a stand-in fan-out: call i answers {"i":i,"ms":ms}
        gateway_result r;
        for (std::uint32_t i = 0; i < step.gateway.fanout; ++i) r.calls[i] = {i, step.gateway.ms};
        session.finish_gateway(r);
        break;
      }
      case next_step::kind::close: result.closed = true; return result;
    }
  }
  ADD_FAILURE() << "session did not settle";
  return result;
}

std::vector<std::string> bodies(const std::string& written) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while ((at = written.find("Content-Length: ", at)) != std::string::npos) {
    const std::size_t length = std::stoul(written.substr(at + 16));
    const std::size_t body = written.find("\r\n\r\n", at) + 4;
    out.push_back(written.substr(body, length));
    at = body + length;
  }
  return out;
}

TEST(HttpSession, AnswersPipelinedRequestsInOrderInOneWrite) {
  std::string batch;
  const char* targets[] = {"/plaintext", "/compute?n=10", "/json", "/sleep?ms=1"};
  for (int i = 0; i < 16; ++i) batch += std::string("GET ") + targets[i % 4] + " HTTP/1.1\r\n\r\n";
  http_session session;
  const driven result = drive(session, {batch});
  EXPECT_FALSE(result.closed);
  const auto got = bodies(result.written);
  ASSERT_EQ(got.size(), 16u);
  for (int i = 0; i < 16; i += 4) {
    EXPECT_EQ(got[i], "Hello, World!");
    EXPECT_EQ(got[i + 1], "2653896249");
    EXPECT_EQ(got[i + 2], "{\"message\":\"Hello, World!\"}");
    EXPECT_EQ(got[i + 3], "1");
  }
}

TEST(HttpSession, DefersGatewayAndKeepsPipelinedOrder) {
  http_session session;
  const driven result = drive(session, {"GET /gateway?fanout=2&ms=5 HTTP/1.1\r\n\r\n"
                                        "HEAD /gateway?fanout=1&ms=5 HTTP/1.1\r\n\r\n"
                                        "GET /plaintext HTTP/1.1\r\n\r\n"});
  EXPECT_EQ(std::count(result.steps.begin(), result.steps.end(), next_step::kind::gateway), 2);
  EXPECT_EQ(result.written.find("\r\n\r\n{\"fanout\":2,\"mode\":\"parallel\",\"calls\":[{\"i\":0,\"ms\":5},{\"i\":1,\"ms\":5}]}HTTP/1.1 200 OK"),
            result.written.find("\r\n\r\n"));
  EXPECT_NE(result.written.find("Content-Length: 55\r\n\r\nHTTP/1.1 200 OK"), std::string::npos);  // HEAD: no body
  EXPECT_TRUE(result.written.ends_with("Hello, World!"));
}

TEST(HttpSession, ReassemblesARequestSplitAtEveryByte) {
  const std::string request = "GET /json HTTP/1.1\r\nHost: h\r\n\r\n";
  std::vector<std::string> reads;
  for (char c : request) reads.emplace_back(1, c);
  http_session session;
  const driven result = drive(session, reads);
  EXPECT_EQ(bodies(result.written), std::vector<std::string>{"{\"message\":\"Hello, World!\"}"});
}

TEST(HttpSession, ClosesAfterConnectionClose) {
  http_session session;
  const driven result =
      drive(session, {"GET /plaintext HTTP/1.1\r\nConnection: close\r\n\r\nGET /json HTTP/1.1\r\n\r\n"});
  EXPECT_TRUE(result.closed);
  EXPECT_EQ(bodies(result.written).size(), 1u);
  EXPECT_NE(result.written.find("Connection: close\r\n"), std::string::npos);
}

TEST(HttpSession, AnswersMalformedInputThenCloses) {
  struct error_case { std::string input; std::string status_line; };
  for (const auto& [input, status_line] : std::vector<error_case>{
           {"NOT HTTP AT ALL\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
           {"GET http://x/plaintext HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
           {"GET /%zz HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
           {"GET /x HTTP/1.1\r\nX: " + std::string(8500, 'y') + "\r\n\r\n", "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
           {"POST /json HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", "HTTP/1.1 413 Payload Too Large\r\n"}}) {
    // The 431 case arrives in reads no larger than the session's free space, like a socket.
    std::vector<std::string> reads;
    for (std::size_t at = 0; at < input.size(); at += 4096) reads.push_back(input.substr(at, 4096));
    http_session session;
    const driven result = drive(session, reads);
    EXPECT_TRUE(result.closed) << status_line;
    EXPECT_EQ(result.written.rfind(status_line, 0), 0u) << result.written;
    EXPECT_NE(result.written.find("Connection: close\r\n"), std::string::npos);
  }
}

// A bad target mid-pipeline: the requests before it are answered, then 400 and close, and
// nothing after it (docs/service-contract.md, Paths).
TEST(HttpSession, AnswersUpToATargetThatIsNotOriginFormThenCloses) {
  http_session session;
  const driven result = drive(session, {"GET /plaintext HTTP/1.1\r\n\r\nGET /%63ompute?n=1 HTTP/1.1\r\n\r\n"
                                        "GET * HTTP/1.1\r\n\r\nGET /json HTTP/1.1\r\n\r\n"});
  EXPECT_TRUE(result.closed);
  EXPECT_EQ(bodies(result.written), (std::vector<std::string>{"Hello, World!", "Not Found", "Bad Request"}));
  EXPECT_NE(result.written.find("HTTP/1.1 400 Bad Request\r\n"), std::string::npos);
  EXPECT_NE(result.written.find("Connection: close\r\n"), std::string::npos);
}

TEST(HttpSession, AnswersAfterABodyUpTo1MiBArrivingInPieces) {
  const std::string body(1024 * 1024, 'b');
  const std::string input = "POST /nope HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) +
                            "\r\n\r\n" + body + "GET /plaintext HTTP/1.1\r\n\r\n";
  std::vector<std::string> reads;
  for (std::size_t at = 0; at < input.size(); at += 4000) reads.push_back(input.substr(at, 4000));
  http_session session;
  const driven result = drive(session, reads);
  EXPECT_FALSE(result.closed);
  EXPECT_EQ(bodies(result.written), (std::vector<std::string>{"Not Found", "Hello, World!"}));
}

TEST(HttpSession, Http10KeepAliveIsAnnounced) {
  http_session session;
  const driven result = drive(session, {"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"});
  EXPECT_FALSE(result.closed);
  EXPECT_NE(result.written.find("Connection: keep-alive\r\n"), std::string::npos);
}

}  // namespace
}  // namespace lab
