// http_session.h — one HTTP/1.1 connection's protocol state, with no I/O of its own.
//
// Every C++ model drives the same loop; only *how* each step waits differs:
//
//   for (;;) {
//     next_step step = session.advance();      // parse + answer what is buffered
//     write all of session.output(); session.output_written();
//     switch (step.what) {
//       case read:    read into session.read_space(); session.commit_read(n); break;  // EOF/idle → close
//       case sleep:   wait step.amount ms;   session.finish_sleep(); break;
//       case compute: r = compute_xorshift(step.amount); session.finish_compute(r); break;
//       case gateway: call the downstream step.gateway.fanout times; session.finish_gateway(result);
//       case close:   close the socket; return;
//     }
//   }
//
// Pipelined requests are answered in order into one output buffer, so a batch of 16 goes
// out in one write. Not thread-safe: one session per connection, used by one thread at a time.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "request_parser.h"
#include "service.h"

namespace lab {

struct next_step {
  enum class kind { read, sleep, compute, gateway, close };
  kind what = kind::read;
  std::uint32_t amount = 0;  // ms for sleep, n for compute
  gateway_call gateway{};    // for gateway: what to call
};

class http_session {
 public:
  http_session();

  // Input: read into read_space() (never empty), then report how many bytes arrived.
  std::span<char> read_space();
  void commit_read(std::size_t n);

  // Answers every complete buffered request it can; stops at the first one that needs the
  // model (sleep/compute/gateway), when more input is needed, or when the connection must close.
  next_step advance();
  void finish_sleep();
  void finish_compute(std::uint32_t result);
  void finish_gateway(const gateway_result& result);

  // Output: bytes to send before acting on the step advance() returned.
  std::string_view output() const { return output_; }
  void output_written() { output_.clear(); }

  static constexpr std::size_t input_capacity = http::max_header_bytes + 512;

 private:
  http::request_parser parser_;
  std::unique_ptr<char[]> input_;
  std::size_t input_begin_ = 0;  // first unparsed byte
  std::size_t input_end_ = 0;    // one past the last received byte
  std::string output_;
  service_action pending_;       // the deferred action advance() last returned
  bool closing_ = false;
};

}  // namespace lab
