// The attack primitives the hostile-input suite and `lab_attack` share: a raw exchange (send
// any bytes, read whatever comes back until the peer closes), a lenient splitter of the
// responses read, a swarm of idle or slowloris connections driven by one background thread,
// and a normal GET /plaintext probe. Loopback targets only (callers check). A swarm is owned
// by one thread; the free functions are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace lab::attack {

using std::chrono::milliseconds;

// What came back from one raw exchange.
struct raw_reply {
  std::string bytes;         // everything received
  bool closed = false;       // the peer closed (EOF or reset) before the time ran out
  bool reset = false;        // ... with a reset
  bool send_failed = false;  // a send failed (the peer closed or reset while we sent)
  bool connected = false;    // the connection was made at all
  double close_ms = 0;       // when the peer closed, since the first byte was sent
};

// How a raw exchange ends the sending side once every piece is sent.
enum class finish { wait, shutdown_write, reset };

// Connects, sends the pieces in order (pause between them), then reads until the peer closes
// or `timeout` (counted from the last piece) runs out. Send errors end the sending, not the
// exchange: a server may answer and close before it has read everything.
raw_reply exchange(const std::string& host, int port, const std::vector<std::string>& pieces,
                   milliseconds timeout, milliseconds pause = milliseconds(0),
                   finish how = finish::wait);

// One response split from raw bytes: status, whether it asked to close, its body.
struct split_response {
  int status = 0;
  bool says_close = false;
  std::string body;
};
// Splits a stream of HTTP/1.x responses (Content-Length framed; a response without one runs
// to the end). garbled = the bytes after the last whole response are not a response.
std::vector<split_response> split_responses(std::string_view bytes, bool& garbled);

// GET /plaintext on a new connection; answered = a 200 "Hello, World!" within timeout.
struct probe_result {
  bool answered = false;
  double ms = 0;
  std::string error;  // why not
};
probe_result probe_plaintext(const std::string& host, int port, milliseconds timeout);

// Raises the soft descriptor limit towards `wanted` (up to the hard limit); returns the limit.
long raise_fd_limit(long wanted);

// A swarm of connections held open by one background thread: idle (connect, send nothing) or
// slowloris (connect, send a request line and one header byte at a time every `interval`,
// never ending the header). Connections the server closes are counted, not reopened.
class swarm {
 public:
  enum class kind { idle, slowloris };
  swarm(std::string host, int port, kind k, int connections,
        milliseconds interval = milliseconds(100));
  ~swarm();  // stop()
  swarm(const swarm&) = delete;
  swarm& operator=(const swarm&) = delete;

  // Opens the connections (in batches, each connect bounded to 2 s) and starts the thread.
  // Returns once every connect has been tried.
  void start();
  // Closes every connection and joins the thread.
  void stop();

  int opened() const { return opened_; }                 // connections established
  int failed() const { return failed_; }                 // connects that failed or timed out
  int closed_by_server() const { return closed_by_server_.load(); }
  long bytes_sent() const { return bytes_sent_.load(); }

 private:
  void loop();
  std::string host_;
  int port_;
  kind kind_;
  int wanted_;
  milliseconds interval_;
  std::vector<int> fds_;
  int opened_ = 0, failed_ = 0;
  std::atomic<int> closed_by_server_{0};
  std::atomic<long> bytes_sent_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace lab::attack
