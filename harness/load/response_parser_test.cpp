#include "response_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace lab::load {
namespace {

struct outcome {
  parse_status status = parse_status::need_more;
  std::size_t responses = 0;   // complete responses seen
  std::vector<int> codes;
  std::vector<bool> keep_alive;
  std::size_t consumed = 0;    // bytes consumed by complete responses
};

// Feeds `bytes` in pieces of at most `piece` bytes, restarting after each complete response
// the way the generator does; stops at the first bad.
outcome feed(const std::string& bytes, std::size_t piece, bool eof = false,
             response_limits limits = {}) {
  response_parser p(limits);
  outcome out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const std::size_t n = std::min(piece, bytes.size() - pos);
    std::string_view chunk(bytes.data() + pos, n);
    while (!chunk.empty()) {
      const auto r = p.parse(chunk);
      out.status = r.status;
      if (r.status == parse_status::bad) return out;
      if (r.status == parse_status::complete) {
        ++out.responses;
        out.codes.push_back(p.status_code());
        out.keep_alive.push_back(p.keep_alive());
        out.consumed = pos + (chunk.data() - (bytes.data() + pos)) + r.consumed;
      }
      chunk.remove_prefix(r.consumed);
      if (r.status == parse_status::need_more) break;
    }
    pos += n;
  }
  if (eof) {
    const auto r = p.parse_eof();
    out.status = r.status;
    if (r.status == parse_status::complete) {
      ++out.responses;
      out.codes.push_back(p.status_code());
      out.keep_alive.push_back(p.keep_alive());
      out.consumed = bytes.size();
    }
  }
  return out;
}

// Every way of splitting the input in two, and byte by byte, gives the same result as one piece.
void expect_split_invariant(const std::string& bytes, bool eof = false) {
  const auto whole = feed(bytes, bytes.size() + 1, eof);
  const auto bytewise = feed(bytes, 1, eof);
  EXPECT_EQ(bytewise.status, whole.status);
  EXPECT_EQ(bytewise.responses, whole.responses);
  EXPECT_EQ(bytewise.codes, whole.codes);
  EXPECT_EQ(bytewise.consumed, whole.consumed);
  for (std::size_t split = 1; split < bytes.size(); ++split) {
    response_parser p;
    std::size_t responses = 0;
    parse_status last = parse_status::need_more;
    for (std::string_view part : {std::string_view(bytes).substr(0, split),
                                  std::string_view(bytes).substr(split)}) {
      while (!part.empty() && last != parse_status::bad) {
        const auto r = p.parse(part);
        last = r.status;
        if (r.status == parse_status::complete) ++responses;
        part.remove_prefix(r.consumed);
        if (r.status != parse_status::complete) break;
      }
    }
    if (eof && last != parse_status::bad) {
      const auto r = p.parse_eof();
      last = r.status;
      if (r.status == parse_status::complete) ++responses;
    }
    ASSERT_EQ(responses, whole.responses) << "split at " << split;
    ASSERT_EQ(last == parse_status::bad, whole.status == parse_status::bad) << "split at " << split;
  }
}

const std::string simple =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";

TEST(response_parser, content_length_response) {
  const auto out = feed(simple, 1000);
  EXPECT_EQ(out.status, parse_status::complete);
  EXPECT_EQ(out.responses, 1u);
  EXPECT_EQ(out.codes[0], 200);
  EXPECT_TRUE(out.keep_alive[0]);
  EXPECT_EQ(out.consumed, simple.size());
}

TEST(response_parser, split_at_every_byte) {
  expect_split_invariant(simple);
  expect_split_invariant(simple + simple + simple);
  expect_split_invariant(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n" + simple);
  expect_split_invariant("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody until close", true);
  expect_split_invariant("HTTP/1.1 100 Continue\r\n\r\n" + simple);
}

TEST(response_parser, pipelined_responses_report_where_each_ends) {
  response_parser p;
  const std::string two = simple + "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  auto r = p.parse(two);
  ASSERT_EQ(r.status, parse_status::complete);
  EXPECT_EQ(r.consumed, simple.size());
  EXPECT_EQ(p.status_code(), 200);
  r = p.parse(std::string_view(two).substr(simple.size()));
  ASSERT_EQ(r.status, parse_status::complete);
  EXPECT_EQ(p.status_code(), 404);
  EXPECT_TRUE(p.idle());
}

TEST(response_parser, chunked_response) {
  const std::string body =
      "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, Chunked\r\n\r\n"
      "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
  const auto out = feed(body, 3);
  EXPECT_EQ(out.status, parse_status::complete);
  EXPECT_EQ(out.consumed, body.size());
  EXPECT_TRUE(out.keep_alive[0]);
}

TEST(response_parser, transfer_encoding_overrides_content_length) {
  const std::string body =
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n";
  const auto out = feed(body, 1000);
  EXPECT_EQ(out.status, parse_status::complete);
  EXPECT_EQ(out.consumed, body.size());
}

TEST(response_parser, connection_header_decides_keep_alive) {
  auto ka = [](const std::string& r) -> bool { return feed(r, 1000).keep_alive.at(0); };
  EXPECT_FALSE(ka("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(ka("HTTP/1.1 200 OK\r\nconnection: Upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(ka("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(ka("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(ka("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"));
}

TEST(response_parser, body_until_close) {
  const std::string r = "HTTP/1.1 200 OK\r\n\r\nsome body";
  EXPECT_EQ(feed(r, 1000).status, parse_status::need_more);
  const auto out = feed(r, 1000, true);
  EXPECT_EQ(out.status, parse_status::complete);
  EXPECT_FALSE(out.keep_alive[0]);
}

TEST(response_parser, no_body_statuses_and_bare_lf) {
  EXPECT_EQ(feed("HTTP/1.1 204 No Content\r\n\r\n", 1000).status, parse_status::complete);
  EXPECT_EQ(feed("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 1000).status,
            parse_status::complete);
  EXPECT_EQ(feed("HTTP/1.1 200\nContent-Length: 2\n\nok", 1000).status, parse_status::complete);
  const auto out = feed("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 1000);
  EXPECT_EQ(out.codes.at(0), 503);
}

TEST(response_parser, eof_mid_response_is_bad_and_idle_eof_is_not) {
  response_parser p;
  EXPECT_EQ(p.parse_eof().status, parse_status::need_more);
  p.parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel");
  EXPECT_FALSE(p.idle());
  EXPECT_EQ(p.parse_eof().status, parse_status::bad);
  EXPECT_NE(p.error(), nullptr);
}

TEST(response_parser, garbage_is_bad) {
  using namespace std::string_literals;
  for (const std::string& g : std::vector<std::string>{
           "garbage\r\n\r\n",
           "HTTP/2 200 OK\r\n\r\n",
           "HTTP/1.1 20 OK\r\n\r\n",
           "HTTP/1.1 2000 OK\r\n\r\n",
           "HTTP/1.1 099 OK\r\n\r\n",
           "HTTP/1.1 700 OK\r\n\r\n",
           "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
           "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
           "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
           "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
           "HTTP/1.1 200 OK\r\nX: nul\0byte\r\n\r\n"s,
           "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n",
           "HTTP/1.1 101 Switching Protocols\r\n\r\n",
       }) {
    const auto out = feed(g, 1000);
    EXPECT_EQ(out.status, parse_status::bad) << g;
    EXPECT_EQ(feed(g, 1).status, parse_status::bad) << "bytewise: " << g;
  }
  // Duplicate but equal Content-Length headers are fine.
  EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", 1000).status,
            parse_status::complete);
}

TEST(response_parser, oversized_headers_are_bad) {
  response_limits limits;
  limits.max_header_bytes = 4096;
  std::string huge = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(5000, 'a') + "\r\n\r\n";
  EXPECT_EQ(feed(huge, 100, false, limits).status, parse_status::bad);
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 1000; ++i) many += "X-H: v\r\n";
  EXPECT_EQ(feed(many, 7, false, limits).status, parse_status::bad);
  // The default limit holds against an endless header section, fed in pieces.
  response_parser p;
  p.parse("HTTP/1.1 200 OK\r\n");
  const std::string line = "X-Endless: " + std::string(1000, 'z') + "\r\n";
  parse_status last = parse_status::need_more;
  for (int i = 0; i < 1000 && last == parse_status::need_more; ++i) last = p.parse(line).status;
  EXPECT_EQ(last, parse_status::bad);
  EXPECT_STREQ(p.error(), "header section too large");
  // Too-long Connection / Transfer-Encoding values, and a chunk size line that never ends.
  EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nConnection: " + std::string(500, 'c') + "\r\n\r\n", 1000).status,
            parse_status::bad);
  EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" +
                     std::string(5000, 'e'), 1000).status,
            parse_status::bad);
}

TEST(response_parser, content_length_limit) {
  response_limits limits;
  limits.max_content_length = 1000;
  EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n", 1000, false, limits).status,
            parse_status::bad);
  EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x'), 1000,
                 false, limits).status,
            parse_status::complete);
}

TEST(response_parser, large_body_is_skipped_without_storing) {
  // 1 GB announced, fed in 64 KB pieces of the same buffer: needs no memory of its own.
  response_parser p;
  ASSERT_EQ(p.parse("HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n").status,
            parse_status::need_more);
  const std::string piece(65536, 'b');
  parse_status last = parse_status::need_more;
  for (int i = 0; i < 16384; ++i) last = p.parse(piece).status;
  EXPECT_EQ(last, parse_status::complete);
}

TEST(response_parser, bad_is_sticky_until_reset) {
  response_parser p;
  EXPECT_EQ(p.parse("XTTP").status, parse_status::bad);
  EXPECT_EQ(p.parse(simple).status, parse_status::bad);
  p.reset();
  EXPECT_EQ(p.parse(simple).status, parse_status::complete);
}

TEST(response_parser, random_bytes_never_crash_or_overrun) {
  // Random mutations of valid responses: whatever the verdict, consumed never exceeds input.
  std::mt19937 rng(1234);
  const std::vector<std::string> seeds = {
      simple, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc"};
  for (int trial = 0; trial < 20000; ++trial) {
    std::string s = seeds[trial % seeds.size()];
    const int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations; ++m) s[rng() % s.size()] = static_cast<char>(rng() & 0xff);
    response_parser p;
    std::string_view rest(s);
    for (int guard = 0; guard < 100 && !rest.empty(); ++guard) {
      const auto r = p.parse(rest);
      ASSERT_LE(r.consumed, rest.size());
      if (r.status != parse_status::complete) break;
      rest.remove_prefix(r.consumed);
    }
    p.parse_eof();
  }
}

}  // namespace
}  // namespace lab::load
