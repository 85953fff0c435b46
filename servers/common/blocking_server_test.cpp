#include "blocking_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

namespace lab {
namespace {

using namespace std::chrono_literals;

// thread_per_request admits a connection on its accepting thread and serves it on a new one.
// A stop between the two must still wait for that connection: before, the new thread
// registered itself, after stop() had returned and the registry was destroyed (UBSan).
TEST(BlockingConnections, StopWaitsForAnAdmittedConnectionWhoseThreadStartsLate) {
  const server_options options;  // no --downstream: /gateway disabled
  downstream_client client(options);
  blocking_connections connections(5s, client, [](std::uint32_t, const auto&, deadline_point) {});
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ASSERT_TRUE(connections.admit(fds[0]));
  std::thread late([&] {
    std::this_thread::sleep_for(300ms);
    connections.serve_admitted(fds[0]);
  });
  connections.stop(30s);
  // stop() returned only once the connection had left the registry, which closes its socket.
  EXPECT_EQ(::fcntl(fds[0], F_GETFD), -1) << "stop() returned before the connection was served";
  late.join();
  // After the stop, a new connection is refused and closed.
  int more[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, more), 0);
  EXPECT_FALSE(connections.admit(more[0]));
  EXPECT_EQ(::fcntl(more[0], F_GETFD), -1);
  ::close(more[1]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace lab
