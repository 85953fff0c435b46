// The io_uring server as a process: its listening line names the features the probe finds
// here, and a client that pipelines far more than one connection may hold unread while a
// /sleep runs (the 64 KiB inbox fills, the multishot receive is cancelled, then re-armed) gets
// every answer, in order, on the multishot path and on the one-shot fallback.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "registry.h"
#include "server_process.h"
#include "uring.h"

namespace lab {
namespace {
namespace fs = std::filesystem;

fs::path lab_root() {
  if (const char* root = std::getenv("LAB_ROOT"); root && *root) return root;
  return LAB_SOURCE_ROOT;
}

server_spec io_uring_spec(const std::string& name) {
  for (const auto& spec : expand_variants(load_registry(lab_root())))
    if (spec.name == name) return spec;
  throw std::runtime_error("no server " + name);
}

struct started {
  fs::path dir;
  server_process server;
  explicit started(const std::string& name) {
    char pattern[] = "/tmp/lab-io-uring-e2e-XXXXXX";
    dir = ::mkdtemp(pattern);
    server_start_options o;
    o.values.root = lab_root();
    o.values.bin = default_bin_dir(lab_root());
    o.values.tmp = dir;
    o.stdout_path = dir / "stdout.txt";
    o.stderr_path = dir / "stderr.txt";
    server = server_process::start(io_uring_spec(name), o);
  }
  ~started() {
    const server_exit exit = server.stop();
    EXPECT_TRUE(exit.clean()) << exit.describe();
    fs::remove_all(dir);
  }
};

#define SKIP_WITHOUT_IO_URING()                     \
  if (auto why = io_uring_unavailable_reason()) GTEST_SKIP() << "allowed: " << *why

TEST(io_uring_server, listening_line_names_the_features_found_here) {
  SKIP_WITHOUT_IO_URING();
  std::string error;
  const auto found = uring::probe_features(error);
  ASSERT_TRUE(found) << error;
  started s("io_uring");
  EXPECT_NE(s.server.listening_line().find("features: " + found->describe()), std::string::npos)
      << s.server.listening_line();
  started fallback("io_uring+oneshot");
  EXPECT_NE(fallback.server.listening_line().find("one-shot accept, one-shot recv"), std::string::npos)
      << fallback.server.listening_line();
}

// Sends `count` pipelined requests from a second thread while this one reads the answers.
// `what` says how the exchange ended, for the failure message.
std::size_t answers_to_a_pipelined_flood(int port, int count, std::string& what) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    what = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return 0;
  }
  timeval limit{.tv_sec = 20, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  // The /sleep first: while it runs, the whole flood arrives and piles up in the inbox.
  std::string requests = "GET /sleep?ms=300 HTTP/1.1\r\nHost: lab\r\n\r\n";
  for (int i = 0; i < count; ++i) requests += "GET /plaintext HTTP/1.1\r\nHost: lab\r\n\r\n";
  requests += "GET /plaintext HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n";
  std::thread sender([&] {
    std::size_t sent = 0;
    while (sent < requests.size()) {
      const ssize_t n = ::send(fd, requests.data() + sent, requests.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  });
  std::string received;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;  // SIGCHLD of an earlier server
    if (n <= 0) {  // the server closes after the last (Connection: close) answer
      what = n == 0 ? "EOF" : std::string("recv: ") + std::strerror(errno);
      break;
    }
    received.append(buffer, static_cast<std::size_t>(n));
  }
  what += " after " + std::to_string(received.size()) + " bytes: " + received.substr(0, 120);
  sender.join();
  ::close(fd);
  std::size_t answers = 0;
  for (std::size_t at = received.find("Hello, World!"); at != std::string::npos;
       at = received.find("Hello, World!", at + 1))
    ++answers;
  return answers;
}

TEST(io_uring_server, a_pipelined_flood_beyond_the_inbox_limit_is_answered_in_full) {
  SKIP_WITHOUT_IO_URING();
  constexpr int flood = 5000;  // ~195 KB of requests: three times the 64 KiB inbox limit
  for (const char* name : {"io_uring", "io_uring+oneshot"}) {
    started s(name);
    std::string what;
    EXPECT_EQ(answers_to_a_pipelined_flood(s.server.port(), flood, what), flood + 1u) << name << ": " << what;
  }
}

}  // namespace
}  // namespace lab
