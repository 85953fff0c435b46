// Checks that measure time: the idle timeout, time in /sleep and /compute that is not idle,
// the sleep's duration and how many sleeps run at once. Margins are sized for a busy 2-core
// machine that also runs the client; each says why in a comment.
#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "checks.h"

namespace lab::checks {

// The server closes a connection that waited idle_timeout_s for its next request, silently.
// Window: from S − 0.25 s (our clock starts when the response arrived; a server may start its
// own when it read the request, a few ms earlier) to S + 2 s (a server may sweep idle
// connections once a second, and a busy machine may delay the sweep by another second).
void check_idle_timeout(context& ctx) {
  const long long idle_ms = 1000LL * ctx.options.idle_timeout_s;
  const long long earliest = idle_ms - 250, latest = idle_ms + 2000;
  const std::string idle = std::to_string(ctx.options.idle_timeout_s) + " s idle timeout";
  auto c = ctx.connect();
  expect_response(ctx, ask(c, get("/plaintext"), "GET /plaintext"), 200, "text/plain",
                  "Hello, World!", "GET /plaintext");
  auto start = clock::now();
  bool closed = c.wait_closed(std::chrono::milliseconds(latest + 1000));
  long long elapsed = ms_since(start);
  std::string took = std::to_string(elapsed) + " ms";
  expect(closed, "idle connection still open after " + took + " (" + idle + ")");
  expect(elapsed >= earliest, "idle connection closed too early, after " + took + " (" + idle +
                                  "; allowed from " + std::to_string(earliest) + " ms)");
  expect(elapsed <= latest, "idle connection closed too late, after " + took + " (" + idle +
                                "; allowed until " + std::to_string(latest) + " ms)");
  expect(c.buffered().empty(),
         "server sent bytes before closing an idle connection: " + show(c.buffered()));
  ctx.note = "closed after " + took;
}

// Time spent computing is not idle: requests pipelined in one write whose answers take longer
// than S + 1 s in all must all be answered. A server whose idle timer keeps running while it
// works through the requests it has read closes the connection part-way. The batch is sized
// from one compute's time, aiming at S + 2 s; if the machine got faster and the batch took no
// more than S + 1 s, it is re-sized from what it took and sent again (at most 3 batches).
void check_compute_is_not_idle(context& ctx) {
  const std::string request = "GET /compute?n=10000000 HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string expected = "3882214040";
  const long long need_ms = 1000LL * ctx.options.idle_timeout_s + 1000;
  constexpr long long max_batch = 3000;  // about 140 kB of requests
  auto c = ctx.connect();
  // One compute's time here, the fastest of three (a slow outlier would make the batch short).
  long long one_us = -1;
  for (int i = 0; i < 3; ++i) {
    auto start = clock::now();
    auto r = ask(c, request, "GET /compute?n=10000000", 15s);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start).count();
    expect_response(ctx, r, 200, "text/plain", expected, "GET /compute?n=10000000");
    one_us = one_us < 0 ? us : std::min<long long>(one_us, us);
  }
  std::string tried;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    one_us = std::max<long long>(one_us, 1);
    long long batch = std::max<long long>(2, (1000 * (need_ms + 1000) + one_us - 1) / one_us);
    expect(batch <= max_batch,
           "cannot check: one /compute?n=10000000 takes " + std::to_string(one_us) +
               " us here, so " + std::to_string(max_batch) + " pipelined (the cap) take about " +
               std::to_string(max_batch * one_us / 1000) +
               " ms, not more than the idle timeout + 1 s (" + std::to_string(need_ms) + " ms)");
    std::string bytes;
    for (long long i = 0; i < batch; ++i) bytes += request;
    const std::string what = std::to_string(batch) + " pipelined GET /compute?n=10000000";
    auto start = clock::now();
    send(c, bytes, what);
    // A server may compute the whole batch before any answer leaves (Node's event loop is
    // busy until the last one), so any one answer may wait for about the whole batch: allow 3x
    // the batch's planned time on a busy machine. A connection closed as idle fails at once.
    auto each = std::chrono::milliseconds(std::max<long long>(5000, 3 * (need_ms + 1000)));
    for (long long i = 0; i < batch; ++i) {
      std::string which =
          what + ": response " + std::to_string(i + 1) + " of " + std::to_string(batch);
      http_response r;
      try {
        r = c.read_response(each);
      } catch (const http_error& e) {
        throw check_failure(which + ": " + e.what() + " after " + std::to_string(ms_since(start)) +
                            " ms of computing (" + std::to_string(ctx.options.idle_timeout_s) +
                            " s idle timeout; was the time spent computing counted as idle?)");
      }
      expect_response(ctx, r, 200, "text/plain", expected, which);
    }
    long long elapsed = ms_since(start);
    if (elapsed > need_ms) {
      ctx.note = what + " answered in " + std::to_string(elapsed) + " ms";
      return;
    }
    tried += (tried.empty() ? "" : ", ") + what + " in " + std::to_string(elapsed) + " ms";
    one_us = std::min(one_us, 1000 * elapsed / batch);
  }
  throw check_failure("inconclusive: no batch took more than the idle timeout + 1 s (" +
                      std::to_string(need_ms) + " ms): " + tried);
}

// Time spent in /sleep is not idle time: a sleep longer than the idle timeout is answered.
void check_busy_is_not_idle(context& ctx) {
  const int ms = 1000 * ctx.options.idle_timeout_s + 500;
  const std::string target = "/sleep?ms=" + std::to_string(ms);
  auto c = ctx.connect();
  auto r = ask(c, get(target),
               "GET " + target + " (longer than the " + std::to_string(ctx.options.idle_timeout_s) +
                   " s idle timeout)",
               std::chrono::milliseconds(ms + 5000), "was the sleeping connection closed as idle?");
  expect_response(ctx, r, 200, "text/plain", std::to_string(ms), "GET " + target);
}

void check_sleep_duration(context& ctx) {
  auto c = ctx.connect();
  auto start = clock::now();
  auto r = ask(c, get("/sleep?ms=300"), "GET /sleep?ms=300", 10s);
  long long elapsed = ms_since(start);
  expect_response(ctx, r, 200, "text/plain", "300", "GET /sleep?ms=300");
  expect(elapsed >= 300,
         "GET /sleep?ms=300 answered after only " + std::to_string(elapsed) + " ms");
  ctx.note = "took " + std::to_string(elapsed) + " ms";
}

// Every sleep runs at once: 100 connections each sleeping 1000 ms finish within 1.9 s. A server
// that runs at most 50 at a time needs 2 s at least; 0.9 s is the margin for a busy machine
// (accepting, 100 client threads, scheduling). Connections are opened first, untimed.
void check_concurrent_sleep(context& ctx) {
  constexpr int connections = 100;
  constexpr long long limit_ms = 1900;
  std::vector<std::optional<http_connection>> conns(connections);
  for (int i = 0; i < connections; ++i) {
    try {
      conns[i].emplace(ctx.connect());
    } catch (const http_error& e) {
      throw check_failure("connection " + std::to_string(i + 1) + " of " +
                          std::to_string(connections) + ": " + e.what());
    }
  }
  std::vector<std::string> errors(connections);
  std::vector<long long> done_ms(connections, -1);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  clock::time_point start;
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i) {
    threads.emplace_back([&, i] {
      ready++;
      while (!go) std::this_thread::yield();
      try {
        auto r = conns[i]->request(get("/sleep?ms=1000"), 10s);
        done_ms[i] = ms_since(start);
        if (r.status != 200 || r.body != "1000") errors[i] = "got " + describe(r);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  while (ready < connections) std::this_thread::yield();
  start = clock::now();
  go = true;
  for (auto& t : threads) t.join();
  long long elapsed = ms_since(start);
  for (int i = 0; i < connections; ++i)
    expect(errors[i].empty(),
           "connection " + std::to_string(i + 1) + " (GET /sleep?ms=1000): " + errors[i]);
  int late = static_cast<int>(
      std::count_if(done_ms.begin(), done_ms.end(), [](long long ms) { return ms > limit_ms; }));
  expect(elapsed <= limit_ms, std::to_string(connections) + " concurrent GET /sleep?ms=1000 took " +
                                  std::to_string(elapsed) + " ms (limit " +
                                  std::to_string(limit_ms) + " ms; " + std::to_string(late) +
                                  " answered after it: fewer sleeps run at once than connections)");
  ctx.note = "took " + std::to_string(elapsed) + " ms";
}

}  // namespace lab::checks
