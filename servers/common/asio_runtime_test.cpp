#include "asio_runtime.h"

#include <gtest/gtest.h>

#include <optional>

namespace lab {
namespace {

// run_asio_server destroys its io_contexts right after the offload: the offload's destructor
// must wait until every task has posted its result and let go of its work guard (before, a
// oneTBB worker released it after the io_context was gone: ASan, at shutdown).
TEST(ComputeOffload, DestructorWaitsForTasksInFlight) {
  asio::io_context io;
  std::optional<std::uint32_t> result;
  {
    compute_offload offload(true);
    offload.async_compute(io.get_executor(), compute_max_n,
                          [&result](std::uint32_t r) { result = r; });
  }
  // The result is already posted: one poll delivers it, without waiting.
  EXPECT_EQ(io.poll(), 1u);
  EXPECT_EQ(result, compute_xorshift(compute_max_n));
}

}  // namespace
}  // namespace lab
