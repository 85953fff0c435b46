// hostile_fake: a small in-process HTTP/1.1 server for the hostile suite's self-test. With no
// fault switched on it refuses what the contract refuses (strict request line and header
// syntax, 8 KiB header limit, any Transfer-Encoding, bodies over 1 MiB) and serves
// GET /plaintext with keep-alive and pipelining, a thread per connection. Each switch makes it
// fall over to one kind of attack the way a naive server would; the self-test expects the
// check aimed at it to fail. Test-only. The constructor listens on an ephemeral loopback port;
// the destructor stops the listener and joins every thread (they notice within ~50 ms).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lab {

struct hostile_faults {
  bool accepts_control_bytes = false;  // header values unchecked: NUL and DEL are served 200
  bool dies_on_garbage = false;        // an unparsable request line stops the listener
  bool no_header_limit = false;        // buffers a header forever, never answering 431
  bool first_content_length = false;   // conflicting Content-Length: the first one wins
  bool leaks_threads = false;          // a connection's thread outlives its connection
  int fixed_pool = 0;                  // > 0: this many threads, each held by one connection
};

class hostile_fake {
 public:
  explicit hostile_fake(hostile_faults faults = {});
  ~hostile_fake();
  hostile_fake(const hostile_fake&) = delete;
  hostile_fake& operator=(const hostile_fake&) = delete;
  int port() const { return port_; }

 private:
  void accept_loop();
  void worker_loop();
  void serve(int fd);
  hostile_faults faults_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> fallen_{false};  // dies_on_garbage struck: the acceptor closes the listener
  std::thread acceptor_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<int> queue_;             // accepted connections waiting for the fixed pool
  std::vector<std::thread> threads_;  // connection threads and the pool
};

}  // namespace lab
