#include "http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "process.h"

namespace lab {
namespace {

using namespace std::chrono_literals;

// A one-connection socket server: accepts, then runs `script` on the connected socket.
class tiny_server {
 public:
  explicit tiny_server(std::function<void(int fd)> script) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, script] {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      script(fd);
      ::close(fd);
    });
  }
  ~tiny_server() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// Reads until the request head ends; returns it.
std::string read_request(int fd) {
  std::string data;
  char buf[4096];
  while (data.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

void write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

const std::string hello =
    "HTTP/1.1 200 OK\r\nServer: tiny\r\ncontent-type: text/plain\r\nContent-Length: 13\r\n"
    "X-Twice: a\r\nX-Twice: b\r\n\r\nHello, World!";

TEST(http_client, reads_one_response_with_headers_and_body) {
  std::string seen;
  tiny_server server([&](int fd) {
    seen = read_request(fd);
    write_all(fd, hello);
    read_request(fd);  // hold the connection until the client closes
  });
  http_connection c("127.0.0.1", server.port());
  auto r = c.request("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.version, "HTTP/1.1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.reason, "OK");
  EXPECT_EQ(r.body, "Hello, World!");
  EXPECT_EQ(r.header("Content-Type"), "text/plain");  // case-insensitive lookup
  EXPECT_EQ(r.header("CONTENT-LENGTH"), "13");
  EXPECT_EQ(r.headers.count("x-twice"), 2u);
  EXPECT_FALSE(r.header("Date").has_value());
  EXPECT_EQ(r.raw, hello);
  EXPECT_TRUE(c.buffered().empty());
  EXPECT_EQ(seen, "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
}

TEST(http_client, pipelined_responses_in_one_write_are_split) {
  tiny_server server([&](int fd) {
    read_request(fd);
    write_all(fd, hello + "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nNot Found" + hello);
    read_request(fd);
  });
  http_connection c("127.0.0.1", server.port());
  c.send("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.read_response().body, "Hello, World!");
  auto second = c.read_response();
  EXPECT_EQ(second.status, 404);
  EXPECT_EQ(second.reason, "Not Found");
  EXPECT_EQ(second.body, "Not Found");
  EXPECT_EQ(c.read_response().raw, hello);
}

TEST(http_client, response_arriving_byte_by_byte) {
  tiny_server server([&](int fd) {
    read_request(fd);
    for (char ch : hello) {
      write_all(fd, std::string(1, ch));
      std::this_thread::sleep_for(1ms);
    }
    read_request(fd);
  });
  http_connection c("127.0.0.1", server.port());
  EXPECT_EQ(c.request("GET / HTTP/1.1\r\n\r\n").raw, hello);
}

TEST(http_client, head_response_has_no_body) {
  tiny_server server([&](int fd) {
    read_request(fd);
    write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n" + hello);
    read_request(fd);
  });
  http_connection c("127.0.0.1", server.port());
  auto head = c.request("HEAD /plaintext HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.header("Content-Length"), "13");
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(c.read_response().body, "Hello, World!");
}

TEST(http_client, body_without_length_runs_to_close) {
  tiny_server server([&](int fd) {
    read_request(fd);
    write_all(fd, "HTTP/1.0 200 OK\r\n\r\nuntil the end");
  });
  http_connection c("127.0.0.1", server.port());
  auto r = c.request("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.version, "HTTP/1.0");
  EXPECT_EQ(r.body, "until the end");
}

TEST(http_client, malformed_responses_are_errors) {
  for (const std::string bad :
       {"HTTP/1.1 2x0 OK\r\n\r\n", "SPDY/3 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nshort"}) {
    tiny_server server([&](int fd) {
      read_request(fd);
      write_all(fd, bad);
    });
    http_connection c("127.0.0.1", server.port());
    EXPECT_THROW(c.request("GET / HTTP/1.1\r\n\r\n", 2s), http_error) << bad;
  }
}

TEST(http_client, read_times_out) {
  tiny_server server([&](int fd) { read_request(fd); read_request(fd); });
  http_connection c("127.0.0.1", server.port());
  auto start = std::chrono::steady_clock::now();
  try {
    c.request("GET / HTTP/1.1\r\n\r\n", 200ms);
    FAIL() << "expected a timeout";
  } catch (const http_error& e) {
    EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 190ms);
  EXPECT_LT(elapsed, 2s);
}

TEST(http_client, wait_closed_sees_close_and_open) {
  {
    tiny_server server([&](int fd) {
      read_request(fd);
      write_all(fd, hello);
      std::this_thread::sleep_for(100ms);
      // closing is done by tiny_server after the script
    });
    http_connection c("127.0.0.1", server.port());
    c.request("GET / HTTP/1.1\r\n\r\n");
    auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(c.wait_closed(3s));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
    EXPECT_THROW(c.read_response(1s), http_error);
  }
  {
    tiny_server server([&](int fd) {
      read_request(fd);
      write_all(fd, hello);
      read_request(fd);  // until the client goes away
    });
    http_connection c("127.0.0.1", server.port());
    c.request("GET / HTTP/1.1\r\n\r\n");
    EXPECT_FALSE(c.wait_closed(150ms));
  }
}

TEST(http_client, connect_to_closed_port_fails) {
  int port = pick_free_port();
  EXPECT_THROW(http_connection("127.0.0.1", port, 1s), http_error);
  EXPECT_THROW(http_connection("not-an-ip", 80, 1s), http_error);
}

}  // namespace
}  // namespace lab
