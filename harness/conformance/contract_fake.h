// contract_fake: a small in-process HTTP/1.1 server that serves the service contract
// (docs/service-contract.md) well enough for the conformance self-test, plus switches that
// each inject one fault a real server could have. All switches off = a correct server; the
// self-test flips one at a time and expects the check aimed at that fault to fail.
//
// A thread per connection; requests are parsed from the connection's buffer (pipelining,
// Content-Length and chunked bodies, limits), answered in order and written as soon as each
// is ready. Test-only: it trusts its client and favours clarity over speed.
// The constructor listens on an ephemeral loopback port; the destructor stops the listener
// and waits for every connection thread to end (they notice within ~50 ms).
// /gateway calls the downstream given to the constructor (fake_downstream below, or the real
// one) from the connection's thread: one new connection per call, all polled at once; a call
// is cancelled by closing its connection. Port 0: a downstream that refuses (502).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lab {

struct fake_request;  // one parsed request (contract_fake.cpp)

struct fake_faults {
  // Endpoints and values.
  bool query_in_path = false;         // routes on the whole target: /plaintext?x=1 is 404
  bool decodes_path = false;          // %XX in the path decoded before routing: /%63ompute is 200
  bool wrong_json = false;            // {"message":"Hello World!"}
  bool signed_shift = false;          // xorshift32 with an arithmetic >> (Java's >> for >>>)
  bool lenient_numbers = false;       // n and ms read like atoi: "abc" is 0, "12x" is 12
  bool reject_leading_zeros = false;  // n=0000000001 is 400
  bool no_percent_decoding = false;   // n=%31 is 400
  bool whole_query_decoded = false;   // the query is decoded before it is split: a bad escape
                                      // anywhere is 400, names are decoded (%6E=1 is n=1)
  bool bad_request_closes = false;    // a 400 for a bad n or ms closes the connection
  bool not_found_closes = false;      // a 404 closes the connection
  bool short_content_length = false;  // 404 says Content-Length: 8 for "Not Found"
  bool no_allow_header = false;       // 405 without Allow
  bool head_body = false;             // HEAD answered with the GET's body
  bool head_zero_length = false;      // HEAD answered with Content-Length: 0
  bool no_date_on_errors = false;     // 4xx responses without Date
  bool date_not_imf = false;          // Date in asctime() format
  bool bare_closing_errors = false;   // 400/413/431 as "status line, Connection: close, body"
  bool date_before_server = false;    // header order differs from the C++ servers' bytes
  // Not a fault: headers reordered, extra headers, "; charset=utf-8", Allow: HEAD, GET and
  // spaced JSON, as a reference server may send. Passes every check but the exact-bytes ones.
  bool reference_style = false;

  // Framing and connections.
  bool close_after_each = false;          // closes after every response, silently
  bool reorder_pipeline = false;          // the answers to one read go out last first
  bool drop_pipelined = false;            // answers the first request of each read, drops the rest
  bool split_breaks = false;              // an incomplete request at the end of a read is dropped
  bool answers_after_close = false;       // answers what follows Connection: close in the same read
  bool ignores_connection_close = false;  // keeps a Connection: close connection open
  bool http10_keeps_open = false;         // HTTP/1.0 without keep-alive is not closed
  bool http10_no_keep_alive = false;      // HTTP/1.0 keep-alive answered without the header
  bool malformed_keeps_open = false;      // malformed request: 400 without close, kept open
  bool control_chars_accepted = false;    // NUL, DEL, CR, LF... in the target or a value are fine
  bool ignores_body = false;              // request bodies are parsed as the next request
  std::size_t header_limit = 8192;        // largest accepted header section, CRLFCRLF included
  bool header_limit_per_part = false;     // the limit applies to the request line and to the
                                          // header fields separately (Beast's one-read path)
  bool request_line_unlimited = false;    // with header_limit_per_part: only the fields count
  bool header_limit_per_line = false;     // each line is limited, the section is not
  bool header_limit_per_read = false;     // lines complete in an earlier read are not counted
  std::uint64_t body_limit = 1 << 20;     // largest accepted body
  bool chunked_unlimited = false;         // no limit on chunked bodies

  // Time.
  int idle_close_ms = -1;  // when an idle connection is closed: -1 the idle timeout, 0 never
  bool sleep_counts_as_idle = false;    // the idle clock runs from the last read, through /sleep
  bool compute_counts_as_idle = false;  // ... and through /compute
  double sleep_factor = 1.0;            // /sleep?ms=M waits M * factor
  int max_concurrent_sleeps = 0;        // 0: unlimited

  // /gateway.
  bool gateway_sequential = false;        // parallel calls made one after another
  bool gateway_at_once = false;           // sequential calls made all at once
  bool gateway_reversed = false;          // calls listed last first in the body
  bool gateway_no_deadline = false;       // deadline_ms ignored: waits for every call
  bool gateway_no_cancel = false;         // at the deadline, 504 but the calls' connections
                                          // stay open (until the fake is destroyed)
  bool gateway_504_without_calls = false;  // with a deadline shorter than the calls: waits
                                           // for it and answers 504, no call made
  bool gateway_fanout_unlimited = false;  // fanout up to 1000 accepted
  bool gateway_500 = false;               // 500 Internal Server Error instead of 502
};

class contract_fake {
 public:
  explicit contract_fake(fake_faults faults = {}, int idle_timeout_ms = 1000,
                         int downstream_port = 0);
  ~contract_fake();
  contract_fake(const contract_fake&) = delete;
  contract_fake& operator=(const contract_fake&) = delete;

  int port() const { return port_; }

 private:
  struct answer;
  void serve(int fd);
  answer respond(const fake_request& request, std::chrono::steady_clock::time_point last_read);
  void sleep_for_request(int ms);
  // The gateway's status (200, 502, 504) and, for 200, its body.
  int gateway(int fanout, int ms, bool sequential, int deadline_ms, std::string& body);

  const fake_faults faults_;
  const int idle_timeout_ms_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::atomic<bool> stop_{false};
  std::atomic<int> active_{0};
  std::mutex sleep_mutex_;
  std::condition_variable sleep_slot_freed_;
  int sleeping_ = 0;
  const int downstream_port_;
  std::mutex leaked_mutex_;
  std::vector<int> leaked_fds_;  // gateway_no_cancel: calls' connections left open
};

// The downstream service, as far as the /gateway checks need it: GET /delay?ms=M&i=I answers
// {"i":I,"ms":M} after M ms, GET /stats {"served":N,"in_flight":N,"cancelled":N}; a caller
// that closes its connection while its /delay waits counts as cancelled. Keep-alive; a thread
// per connection. The destructor waits for every connection thread (they notice within ~20 ms).
class fake_downstream {
 public:
  fake_downstream();
  ~fake_downstream();
  fake_downstream(const fake_downstream&) = delete;
  fake_downstream& operator=(const fake_downstream&) = delete;

  int port() const { return port_; }

 private:
  void serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::atomic<bool> stop_{false};
  std::atomic<int> active_{0};
  std::atomic<long long> served_{0}, in_flight_{0}, cancelled_{0};
};

}  // namespace lab
