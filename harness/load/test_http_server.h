// test_http_server: a tiny HTTP/1.1 server for lab_load's end-to-end tests, on an ephemeral
// loopback port, run by its own thread. It counts requests (a request is anything ending in an
// empty line: GETs only) and answers each with a fixed byte string, or misbehaves on purpose:
// never answers, never accepts, or holds every answer back during a stall window. Its methods
// may be called from the test's thread; the server's state lives on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace lab::load::testing {

struct test_server_options {
  enum class behavior {
    answer,        // answer every request at once with `response`
    silent,        // read requests, never answer
    never_accept,  // listen, never accept (the kernel still completes handshakes)
    stall,         // like answer, but hold answers for `stall_for` from first request + stall_after
  };
  behavior mode = behavior::answer;
  std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  bool close_after_response = false;  // close the connection after each answer
  std::chrono::milliseconds stall_after{1000};
  std::chrono::milliseconds stall_for{300};
};

class test_http_server {
 public:
  explicit test_http_server(test_server_options options = {});
  ~test_http_server();  // stops and joins
  test_http_server(const test_http_server&) = delete;
  test_http_server& operator=(const test_http_server&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/") const;
  std::uint64_t requests() const { return requests_.load(); }
  std::uint64_t connections() const { return connections_.load(); }

 private:
  class session;
  void do_accept();

  test_server_options options_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<std::uint64_t> requests_{0}, connections_{0};
  std::chrono::steady_clock::time_point stall_start_{}, stall_end_{};
  bool stall_armed_ = false;
  std::thread thread_;
};

}  // namespace lab::load::testing
