// The canary: one extra keep-alive connection opened while a load generator runs, sending a plain GET at a
// slow pace (one at a time, >= 50 ms apart) and timing each answer. wrk counts only late
// responses, never a connection that gets none; a server that binds workers to connections
// (thread_pool with fewer workers than the generator's connections) leaves some connections unserved for
// the whole run while wrk reports no error. A canary that waits without an answer exposes it.
// canary_probe runs on its own thread; its methods are called from one (owning) thread.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "load_generator.h"

namespace lab {

struct canary_result {
  int requests_sent = 0;
  int responses = 0;
  std::optional<double> first_response_ms;  // wait for the first answer (from connect start)
  double max_wait_ms = 0;  // longest wait of any request, including one still unanswered
  nlohmann::json to_json() const;
};

// How long the canary's first request may wait before the measurement is flagged `starved`:
// max(2 s, 50 % of the duration), but at most 60 % of the duration — the canary only starts at
// 20 % of the run, so for short runs (2 s) a 2 s limit could never be reached.
double starvation_limit_s(double duration_s);

// True if the canary's first request went unanswered for longer than starvation_limit_s
// (answered late, or never answered while the run lasted).
bool is_starved(const canary_result& canary, double duration_s);

class canary_probe {
 public:
  // Starts the probe thread: it sleeps `delay`, connects to host:port and GETs `path` until
  // finish() is called or `hard_limit` (from now) passes, whichever comes first.
  canary_probe(std::string host, int port, std::string path, std::chrono::milliseconds delay,
               std::chrono::milliseconds hard_limit);
  canary_probe(const canary_probe&) = delete;
  canary_probe& operator=(const canary_probe&) = delete;
  ~canary_probe();  // finish()

  // Stops the probe (within ~20 ms, or the connect timeout if it is connecting) and returns what
  // it saw. Idempotent.
  canary_result finish();

 private:
  void run();
  bool stopping() const;

  std::string host_, path_;
  int port_;
  std::chrono::steady_clock::time_point start_at_, hard_deadline_;
  std::atomic<bool> stop_{false};
  canary_result result_;
  std::thread thread_;
};

// A measured load with its canary, for any generator: the probe joins at 20 % of the request's
// duration, on host:port and `path`, and stops when the generator has exited. Throws what the
// generator's run() throws.
struct canary_run {
  load_result load;
  canary_result canary;
  bool starved = false;  // is_starved(canary, request.duration_s)
};
canary_run run_with_canary(load_generator& generator, const load_request& request,
                           const std::string& host, int port, const std::string& path);

}  // namespace lab
