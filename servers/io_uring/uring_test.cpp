// The ring layer against the running kernel: the probe names what it found, a multishot
// receive fills ring-mapped buffers that go back to the kernel, a timeout completes with
// -ETIME and a cancelled one with -ECANCELED.
#include "uring.h"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "registry.h"  // io_uring_unavailable_reason: the harness decides the same way

namespace lab::uring {
namespace {

struct recorder final : completion {
  void complete(const io_uring_cqe& cqe) override { seen.push_back(cqe); }
  std::vector<io_uring_cqe> seen;
};

// io_uring forbidden here is a machine's choice: the tests say so instead of failing.
#define SKIP_WITHOUT_IO_URING()                                                  \
  if (auto why = io_uring_unavailable_reason()) GTEST_SKIP() << "allowed: " << *why

TEST(io_uring_ring, probe_reports_what_the_kernel_does) {
  SKIP_WITHOUT_IO_URING();
  std::string error;
  const auto found = probe_features(error);
  ASSERT_TRUE(found.has_value()) << error;
  EXPECT_EQ(found->provided_buffers, found->multishot_recv);
  const std::string text = found->describe();
  EXPECT_NE(text.find(found->multishot_accept ? "multishot accept" : "one-shot accept"), std::string::npos) << text;
  EXPECT_NE(text.find(found->multishot_recv ? "multishot recv" : "one-shot recv"), std::string::npos) << text;
}

TEST(io_uring_ring, multishot_receive_recycles_ring_mapped_buffers) {
  SKIP_WITHOUT_IO_URING();
  std::string error;
  const auto found = probe_features(error);
  ASSERT_TRUE(found.has_value()) << error;
  if (!found->multishot_recv) GTEST_SKIP() << "allowed: kernel without multishot receive";
  ring r(16, found->single_issuer);
  buffer_group buffers(r, 2, 8);  // two buffers of 8 bytes: the third message needs a recycled one
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  recorder receive;
  io_uring_sqe* sqe = r.prepare(&receive);
  io_uring_prep_recv_multishot(sqe, pair[0], nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffer_group::group_id;
  std::string got;
  for (const char* message : {"first", "second", "third", "fourth"}) {
    ASSERT_EQ(::write(pair[1], message, std::strlen(message)), static_cast<ssize_t>(std::strlen(message)));
    while (receive.seen.empty()) r.run_once();
    const io_uring_cqe cqe = receive.seen.front();
    receive.seen.clear();
    ASSERT_GT(cqe.res, 0);
    ASSERT_TRUE(cqe.flags & IORING_CQE_F_BUFFER);
    EXPECT_TRUE(cqe.flags & IORING_CQE_F_MORE) << "the one receive stays armed";
    const auto bytes = buffers.received(cqe);
    got.append(bytes.data(), bytes.size());
    buffers.recycle(cqe);
  }
  EXPECT_EQ(got, "firstsecondthirdfourth");
  ::close(pair[1]);
  while (receive.seen.empty()) r.run_once();
  EXPECT_EQ(receive.seen.front().res, 0) << "EOF ends it";
  EXPECT_FALSE(receive.seen.front().flags & IORING_CQE_F_MORE);
  ::close(pair[0]);
}

TEST(io_uring_ring, timeout_expires_and_cancel_ends_it_early) {
  SKIP_WITHOUT_IO_URING();
  ring r(8, false);
  recorder short_timer, long_timer;
  __kernel_timespec short_wait{.tv_sec = 0, .tv_nsec = 1'000'000}, long_wait{.tv_sec = 60, .tv_nsec = 0};
  io_uring_prep_timeout(r.prepare(&short_timer), &short_wait, 0, 0);
  io_uring_prep_timeout(r.prepare(&long_timer), &long_wait, 0, 0);
  while (short_timer.seen.empty()) r.run_once();
  EXPECT_EQ(short_timer.seen.front().res, -ETIME);
  const auto start = std::chrono::steady_clock::now();
  r.cancel(&long_timer);
  while (long_timer.seen.empty()) r.run_once();
  EXPECT_EQ(long_timer.seen.front().res, -ECANCELED);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_GE(r.enter_calls(), 2u);
}

}  // namespace
}  // namespace lab::uring
