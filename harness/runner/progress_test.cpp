// The progress line: done/total, time left from the nominal costs, notes on their own line,
// and the duration format.
#include "progress.h"

#include <gtest/gtest.h>

#include <sstream>

TEST(RunnerProgress, FormatsDurations) {
  EXPECT_EQ(lab::format_duration(0), "0s");
  EXPECT_EQ(lab::format_duration(-3), "0s");
  EXPECT_EQ(lab::format_duration(59.4), "59s");
  EXPECT_EQ(lab::format_duration(59.6), "1m00s");
  EXPECT_EQ(lab::format_duration(291), "4m51s");
  EXPECT_EQ(lab::format_duration(5430), "90m30s");
  EXPECT_EQ(lab::utc_stamp().size(), 16u);  // 20261123T050000Z
}

TEST(RunnerProgress, LineByLineWithTimeLeftFromTheEstimate) {
  std::ostringstream out;
  lab::progress p(out, false);
  p.plan(3, 10);
  p.step("a plaintext c=16 rep 1", 2.3);
  p.advance();
  p.step("a plaintext c=256 rep 1", 2.3);
  p.note("a: something happened");
  p.advance();
  EXPECT_EQ(p.done(), 2u);
  EXPECT_EQ(p.total(), 3u);
  EXPECT_NEAR(p.seconds_left(), 5.4, 1e-9);
  p.step("over budget", 100);
  EXPECT_EQ(p.seconds_left(), 0);
  p.finish();
  EXPECT_EQ(out.str(),
            "[0/3] a plaintext c=16 rep 1  (~10s left)\n"
            "[1/3] a plaintext c=256 rep 1  (~8s left)\n"
            "a: something happened\n"
            "[2/3] over budget  (~5s left)\n");
}

TEST(RunnerProgress, RewrittenInPlaceOnATerminal) {
  std::ostringstream out;
  lab::progress p(out, true);
  p.plan(1, 3);
  p.step("x", 1);
  p.note("n");
  p.step("y", 1);
  p.finish();
  EXPECT_EQ(out.str(), "\r\x1b[K[0/1] x  (~3s left)\r\x1b[Kn\n\r\x1b[K[0/1] y  (~2s left)\n");
}
