#include "downstream_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/http/write.hpp>
#include <sstream>

namespace lab {
namespace {
namespace bhttp = boost::beast::http;

bhttp::response<bhttp::string_body> answer(unsigned status, std::string body) {
  bhttp::response<bhttp::string_body> r{static_cast<bhttp::status>(status), 11};
  r.body() = std::move(body);
  return r;
}

TEST(DownstreamClient, DecodesTheDelayAnswer) {
  const auto ok = decode_delay_answer(answer(200, R"({"i":3,"ms":250})"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->i, 3u);
  EXPECT_EQ(ok->ms, 250u);
  EXPECT_TRUE(decode_delay_answer(answer(200, R"( {"ms":1, "i":0, "x":[1]} )")));
  for (const char* bad : {"", "{", "[]", R"({"i":1})", R"({"i":-1,"ms":1})", R"({"i":1.5,"ms":1})",
                          R"({"i":"1","ms":1})", R"({"i":4294967296,"ms":1})"})
    EXPECT_FALSE(decode_delay_answer(answer(200, bad))) << bad;
  EXPECT_FALSE(decode_delay_answer(answer(500, R"({"i":3,"ms":250})")));
}

TEST(DownstreamClient, WritesTheDelayRequest) {
  std::ostringstream bytes;
  bytes << make_delay_request("127.0.0.1:9000", 63, 60000);
  EXPECT_EQ(bytes.str(), "GET /delay?ms=60000&i=63 HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n\r\n");
}

struct recorded_waiter final : downstream_pool::waiter {
  void grant(int fd) override { granted.push_back(fd); }
  std::vector<int> granted;
};

TEST(DownstreamPool, BoundsOpenConnectionsAndHandsThemOverInOrder) {
  downstream_pool pool(2);
  EXPECT_EQ(pool.acquire(nullptr), -1);  // a slot: open a connection
  EXPECT_EQ(pool.acquire(nullptr), -1);
  EXPECT_EQ(pool.open_count(), 2u);
  recorded_waiter first, second;
  EXPECT_FALSE(pool.acquire(&first));
  EXPECT_FALSE(pool.acquire(&second));
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  pool.release(pair[0], true);  // a reusable connection goes to the first waiter
  EXPECT_EQ(first.granted, std::vector<int>{pair[0]});
  EXPECT_TRUE(second.granted.empty());
  EXPECT_TRUE(pool.withdraw(&second));  // still queued: leaves
  EXPECT_FALSE(pool.withdraw(&first));  // already granted
  pool.release(pair[0], true);          // no waiter: kept idle
  EXPECT_EQ(pool.acquire(nullptr), pair[0]);
  pool.release(pair[0], false);  // closed, slot freed
  EXPECT_EQ(pool.open_count(), 1u);
  EXPECT_EQ(::send(pair[1], "x", 1, MSG_NOSIGNAL), -1);  // its peer sees the close
  ::close(pair[1]);
  pool.release(-1, false);
  EXPECT_EQ(pool.open_count(), 0u);
}

TEST(DownstreamPool, BlockingAcquireGivesUpAtTheDeadlineOrWhenCancelled) {
  downstream_pool pool(1);
  ASSERT_EQ(pool.acquire(nullptr), -1);
  std::atomic<bool> cancelled{false};
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(pool.acquire_until(start + std::chrono::milliseconds(30), cancelled));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
  cancelled = true;
  EXPECT_FALSE(pool.acquire_until(std::nullopt, cancelled));  // returns at once
}

TEST(DownstreamClient, StaleIdleConnectionsAreDetected) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  EXPECT_FALSE(idle_connection_is_stale(pair[0]));
  ::close(pair[1]);
  EXPECT_TRUE(idle_connection_is_stale(pair[0]));
  ::close(pair[0]);
}

}  // namespace
}  // namespace lab
