#include "load_engine.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <cmath>
#include <exception>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "response_parser.h"

namespace lab::load {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using error_code = boost::system::error_code;
using ns_t = std::int64_t;  // nanoseconds since the run's epoch (the first intended send)

// The housekeeping timer looks for timeouts and for the end of the run this often.
constexpr ns_t sweep_period_ns = 10'000'000;
// The schedule timer never sleeps for less than this: at high rates one wake-up sends a batch
// of due requests (adding at most this much send lag) instead of one timer expiry per request.
constexpr ns_t min_tick_ns = 50'000;
// A request that finds no idle connection waits this long for one to free up before a new
// connection is opened for it (counted from when the generator took the request up, so that
// a generator that was itself late does not open a connection per overdue request). Opening a connection costs both sides far more than a request
// (socket, handshake, accept, epoll registration); opening one for every queued request at
// once lets a 1 ms hiccup of the server (or of a busy machine) snowball into thousands of
// connections whose accepts slow the server further. The wait counts in the request's latency
// either way. With no connection at all, one is opened at once.
constexpr ns_t connect_patience_ns = 250'000;
// At most this many connects in flight per worker: a damper on the same feedback when the
// generator itself is slow to see connects complete (loopback handshakes take microseconds,
// so a stalled server still gets thousands of new connections per second if it needs them).
constexpr std::size_t max_connecting = 16;
// Grace after send end + timeout before a worker stops, whatever is left.
constexpr ns_t stop_grace_ns = 100'000'000;
// Bound on the requests one worker keeps waiting for a connection (64 MB of them).
// Beyond it a due request fails at once as a timeout: it would wait behind millions of others
// (at 1M req/s, 4 s of them), and memory must stay bounded whatever the server does.
constexpr std::size_t max_pending = std::size_t{1} << 22;
// One read buffer per worker: a connection reads only when epoll says it is readable, so no
// connection needs a buffer of its own (c10k runs would otherwise need 10000 of them).
constexpr std::size_t read_buffer_size = 64 * 1024;

// What all workers share, read-only, for the whole run.
struct run_plan {
  steady::time_point epoch;
  ns_t warmup_end = 0, send_end = 0, hard_end = 0, timeout = 0;
  tcp::endpoint endpoint;
  std::string request;  // the GET request's bytes, built once
  load_mode mode = load_mode::open;
  arrival_process arrivals = arrival_process::uniform;
  double rate = 0;  // all threads together
  int threads = 1;
  std::uint64_t seed = 1;
  // When the next send is due sooner than this, the worker does not sleep: it polls (epoll
  // with zero timeout) until then. A sleep and wake-up costs 10-30 us of CPU (most in a VM);
  // a generator that sleeps between sends 50 us apart spends more than that on waking up and
  // falls behind its own schedule. (--spin-us, default 100 us: from 10k requests/s a thread.)
  ns_t spin_window = 0;
};

struct worker_stats {
  std::uint64_t requests = 0, responses = 0, connections_opened = 0;
  error_counts errors;
  latency_histogram latency, send_lag;
  std::vector<std::uint64_t> responses_per_second;  // by completion time, from the window's start
  std::string first_connect_error;
};

// A request picked up from the schedule, waiting for a connection.
struct waiting_request {
  ns_t intended;  // its place in the schedule: the latency clock starts here
  ns_t picked;    // when the generator took it up (connect patience counts from here)
};

// A FIFO of waiting requests. Grows by doubling (only when the server falls behind), never
// shrinks: no allocation in the steady state.
class request_queue {
 public:
  request_queue() : buf_(1024) {}
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  const waiting_request& front() const { return buf_[head_]; }
  const waiting_request& at(std::size_t i) const { return buf_[(head_ + i) & (buf_.size() - 1)]; }
  void pop() {
    head_ = (head_ + 1) & (buf_.size() - 1);
    --size_;
  }
  void push(waiting_request r) {
    if (size_ == buf_.size()) grow();
    buf_[(head_ + size_) & (buf_.size() - 1)] = r;
    ++size_;
  }

 private:
  void grow() {
    std::vector<waiting_request> bigger(buf_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = buf_[(head_ + i) & (buf_.size() - 1)];
    buf_.swap(bigger);
    head_ = 0;
  }
  std::vector<waiting_request> buf_;  // size is a power of two
  std::size_t head_ = 0, size_ = 0;
};

class worker {
 public:
  worker(const run_plan& plan, int index, int connections)
      : plan_(plan), index_(index), cap_(connections), io_(1), tick_timer_(io_),
        sweep_timer_(io_), read_buffer_(read_buffer_size),
        rng_(plan.seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(index)) {
    if (plan_.mode == load_mode::open) {
      slots_.reserve(64);
      idle_.reserve(64);
    }
  }

  void run() {
    sweep_timer_.expires_at(plan_.epoch + std::chrono::nanoseconds(sweep_period_ns));
    sweep_timer_.async_wait([this](const error_code& ec) { on_sweep(ec); });
    if (plan_.mode == load_mode::open) {
      next_ = first_intended();
      arm_tick(next_);
    } else {
      tick_timer_.expires_at(plan_.epoch);
      tick_timer_.async_wait([this](const error_code& ec) {
        if (ec || finished_) return;
        for (int i = 0; i < cap_; ++i) {
          slots_.push_back(std::make_unique<connection>(io_));
          connect(*slots_.back(), now());
        }
      });
    }
    io_.run();
  }

  worker_stats& stats() { return stats_; }

 private:
  struct connection {
    explicit connection(asio::io_context& io) : socket(io) {}
    enum class phase : std::uint8_t { closed, connecting, idle, busy };
    tcp::socket socket;
    response_parser parser;
    std::uint32_t generation = 0;  // bumped on close: completions of an older socket are stale
    phase state = phase::closed;
    bool measured = false;  // busy: the request belongs to the measured window
    bool retry = false;     // closed loop: reconnect at the next sweep (after a connect failure)
    ns_t start = 0;     // busy: latency origin (intended time, or write time when closed loop)
    ns_t deadline = 0;  // busy or connecting: when it times out
  };
  using phase = connection::phase;
  using error_member = std::uint64_t error_counts::*;

  ns_t now() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - plan_.epoch)
        .count();
  }
  bool open_loop() const { return plan_.mode == load_mode::open; }

  // --- the open-loop schedule -------------------------------------------------------------

  // Thread k of T sends requests k, k+T, k+2T, ... of the evenly spaced global schedule;
  // with Poisson arrivals each thread is a Poisson process of rate R/T (their sum is one of
  // rate R).
  ns_t first_intended() {
    if (plan_.arrivals == arrival_process::uniform) return uniform_time(0);
    exp_time_ = 0;
    return advance_exponential();
  }
  ns_t uniform_time(std::uint64_t seq) const {
    const double period = 1e9 / plan_.rate;
    return static_cast<ns_t>(
        std::llround((static_cast<double>(index_) + static_cast<double>(seq) * plan_.threads) *
                     period));
  }
  ns_t advance_exponential() {
    exp_time_ += exp_gap_(rng_) * 1e9 * plan_.threads / plan_.rate;
    return static_cast<ns_t>(exp_time_);
  }
  ns_t next_after_current() {
    return plan_.arrivals == arrival_process::uniform ? uniform_time(++seq_)
                                                      : advance_exponential();
  }

  void arm_tick(ns_t at) {
    tick_timer_.expires_at(plan_.epoch + std::chrono::nanoseconds(at));
    tick_timer_.async_wait([this](const error_code& ec) { on_tick(ec); });
  }

  void on_tick(const error_code& ec) {
    if (ec || finished_) return;
    const ns_t t = now();
    // Every request whose time has come is picked up in this one wake-up.
    while (next_ <= t && next_ < plan_.send_end) {
      ++outstanding_;
      const bool measured = next_ >= plan_.warmup_end;
      if (measured) {
        ++stats_.requests;
        stats_.send_lag.record(static_cast<std::uint64_t>(t - next_));
      }
      if (pending_.size() < max_pending) pending_.push({next_, t});
      else fail_request(measured, &error_counts::timeout);  // it would wait behind millions
      next_ = next_after_current();
    }
    if (next_ >= plan_.send_end) sending_done_ = true;
    dispatch(t);
    if (!sending_done_) {
      if (next_ - now() <= plan_.spin_window) asio::post(io_, [this] { on_tick({}); });
      else arm_tick(std::max(next_, t + min_tick_ns));
    }
    maybe_finish();
  }

  // Sends waiting requests on idle connections, then opens connections (up to the cap) for
  // the requests that have waited connect_patience_ns and that no connection being opened
  // will take (the oldest `connecting_` waiting requests are spoken for).
  void dispatch(ns_t t) {
    while (!pending_.empty()) {
      connection* c = pop_idle();
      if (!c) break;
      const ns_t intended = pending_.front().intended;
      pending_.pop();
      send(*c, intended, intended >= plan_.warmup_end, t);
    }
    for (std::size_t i = connecting_;
         i < pending_.size() && connecting_ < max_connecting && open_ < cap_ && !finished_; ++i) {
      if (open_ > 0 && pending_.at(i).picked + connect_patience_ns > t) break;
      connection* c = acquire_slot();
      ++open_;
      connect(*c, t);
    }
  }

  connection* pop_idle() {
    while (!idle_.empty()) {
      const auto [c, generation] = idle_.back();
      idle_.pop_back();
      if (c->generation == generation && c->state == phase::idle) return c;  // else: stale
    }
    return nullptr;
  }

  connection* acquire_slot() {
    if (!free_slots_.empty()) {
      connection* c = free_slots_.back();
      free_slots_.pop_back();
      return c;
    }
    slots_.push_back(std::make_unique<connection>(io_));
    return slots_.back().get();
  }

  // --- connections ------------------------------------------------------------------------

  void connect(connection& c, ns_t t) {
    c.state = phase::connecting;
    c.retry = false;
    c.deadline = t + plan_.timeout;
    ++connecting_;
    c.socket.async_connect(plan_.endpoint,
                           [this, &c, generation = c.generation](const error_code& ec) {
                             on_connect(c, generation, ec);
                           });
  }

  void on_connect(connection& c, std::uint32_t generation, const error_code& ec) {
    if (c.generation != generation || finished_) return;
    const ns_t t = now();
    if (ec) {
      note_connect_error(ec.message());
      close(c);
      if (open_loop()) {
        // The request this connection was opened for is lost.
        if (!pending_.empty()) {
          const ns_t intended = pending_.front().intended;
          pending_.pop();
          fail_request(intended >= plan_.warmup_end, &error_counts::connect);
        }
        release(c);
        dispatch(t);
      } else {
        closed_loop_connect_failed(c, t);
      }
      maybe_finish();
      return;
    }
    --connecting_;
    error_code ignored;
    c.socket.set_option(tcp::no_delay(true), ignored);
    c.socket.non_blocking(true, ignored);
    ++stats_.connections_opened;
    c.state = phase::idle;
    c.parser.reset();
    wait_readable(c);
    if (open_loop()) {
      make_idle(c);
      dispatch(t);
    } else if (closed_loop_may_send(t)) {
      send(c, t, t >= plan_.warmup_end, t);
    }
  }

  // Closed loop: connections send until the end of the window, not a sweep later.
  bool closed_loop_may_send(ns_t t) {
    if (t >= plan_.send_end) sending_done_ = true;
    return !sending_done_ && !finished_;
  }

  void closed_loop_connect_failed(connection& c, ns_t t) {
    // The request this connection was about to send is lost; retry at the next sweep.
    if (t >= plan_.warmup_end && t < plan_.send_end) {
      ++stats_.requests;
      ++stats_.errors.connect;
    }
    c.retry = true;
  }

  void note_connect_error(const std::string& message) {
    if (stats_.first_connect_error.empty()) stats_.first_connect_error = message;
  }

  void make_idle(connection& c) {
    c.state = phase::idle;
    idle_.emplace_back(&c, c.generation);
  }

  // Closes the socket; completions still queued for it see a new generation and do nothing.
  void close(connection& c) {
    if (c.state == phase::connecting) --connecting_;
    ++c.generation;
    error_code ignored;
    c.socket.close(ignored);
    c.state = phase::closed;
  }

  // Open loop: the slot goes back to the pool (reopened lazily when a request needs it).
  void release(connection& c) {
    --open_;
    free_slots_.push_back(&c);
  }

  // After a close that was not a failed connect: open loop frees the slot; closed loop
  // reconnects at once, as wrk does.
  void recycle(connection& c, ns_t t) {
    close(c);
    if (open_loop()) release(c);
    else if (closed_loop_may_send(t)) connect(c, t);
  }

  // --- requests ---------------------------------------------------------------------------

  void send(connection& c, ns_t start, bool measured, ns_t t) {
    c.state = phase::busy;
    c.start = start;
    c.measured = measured;
    c.deadline = start + plan_.timeout;
    if (!open_loop()) {
      ++outstanding_;
      if (measured) ++stats_.requests;
    }
    // The request is small and the socket's send buffer empty (one request in flight), so a
    // plain non-blocking write nearly always takes it all; the rest, if any, goes async.
    error_code ec;
    std::size_t written = c.socket.write_some(asio::buffer(plan_.request), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      written = 0;
    }
    if (ec) {
      fail_request(c.measured, &error_counts::write);
      recycle(c, t);
      return;
    }
    if (written < plan_.request.size()) {
      asio::async_write(
          c.socket, asio::buffer(plan_.request.data() + written, plan_.request.size() - written),
          [this, &c, generation = c.generation](const error_code& ec, std::size_t) {
            if (c.generation != generation || finished_ || !ec) return;
            fail_request(c.measured, &error_counts::write);
            recycle(c, now());
            after_event(now());
          });
    }
  }

  void fail_request(bool measured, error_member kind) {
    --outstanding_;
    if (measured) ++(stats_.errors.*kind);
  }

  void complete_request(connection& c, ns_t t) {
    --outstanding_;
    if (c.measured) {
      ++stats_.responses;
      stats_.latency.record(static_cast<std::uint64_t>(std::max<ns_t>(t - c.start, 0)));
      count_in_second(stats_.responses_per_second, t - plan_.warmup_end);
      const int status = c.parser.status_code();
      if (status < 200 || status > 299) ++stats_.errors.status;
    }
    c.state = phase::idle;
  }

  void wait_readable(connection& c) {
    c.socket.async_wait(tcp::socket::wait_read,
                        [this, &c, generation = c.generation](const error_code& ec) {
                          on_readable(c, generation, ec);
                        });
  }

  void on_readable(connection& c, std::uint32_t generation, const error_code& wait_error) {
    if (c.generation != generation || finished_) return;
    if (wait_error) {
      connection_failed(c, now());
      after_event(now());
      return;
    }
    for (;;) {
      error_code ec;
      const std::size_t n = c.socket.read_some(asio::buffer(read_buffer_), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec == asio::error::eof) {
        on_eof(c, now());
        after_event(now());
        return;
      }
      if (ec) {
        connection_failed(c, now());
        after_event(now());
        return;
      }
      if (!consume(c, n)) {
        after_event(now());
        return;
      }
      if (n < read_buffer_.size()) break;
    }
    wait_readable(c);
    after_event(now());
  }

  // Feeds n bytes of read_buffer_ to c's parser. False if c was closed (or reopened).
  bool consume(connection& c, std::size_t n) {
    const std::uint32_t generation = c.generation;
    if (c.state != phase::busy) {
      // Bytes nobody asked for: the connection cannot be trusted any more.
      recycle(c, now());
      return false;
    }
    const auto r = c.parser.parse(std::string_view(read_buffer_.data(), n));
    if (r.status == parse_status::need_more) return true;
    const ns_t t = now();
    if (r.status == parse_status::bad) {
      fail_request(c.measured, &error_counts::read);
      recycle(c, t);
      return false;
    }
    complete_request(c, t);
    // Bytes after the response (one request in flight) or Connection: close end the connection.
    if (!c.parser.keep_alive() || r.consumed != n) {
      recycle(c, t);
      return false;
    }
    if (open_loop()) {
      make_idle(c);
      dispatch(t);
    } else if (closed_loop_may_send(t)) {
      send(c, t, t >= plan_.warmup_end, t);
    }
    return c.generation == generation;
  }

  void on_eof(connection& c, ns_t t) {
    if (c.state == phase::busy) {
      if (c.parser.parse_eof().status == parse_status::complete) complete_request(c, t);
      else fail_request(c.measured, &error_counts::read);
    }
    recycle(c, t);  // an idle keep-alive connection closed by the server is no error
  }

  void connection_failed(connection& c, ns_t t) {
    if (c.state == phase::busy) fail_request(c.measured, &error_counts::read);
    recycle(c, t);
  }

  // After any completion: open loop hands waiting requests to connections; both modes check
  // whether the run is over.
  void after_event(ns_t t) {
    if (finished_) return;
    if (open_loop() && !pending_.empty()) dispatch(t);
    maybe_finish();
  }

  // --- housekeeping -----------------------------------------------------------------------

  void on_sweep(const error_code& ec) {
    if (ec || finished_) return;
    const ns_t t = now();
    if (!open_loop() && t >= plan_.send_end) sending_done_ = true;
    // Requests that waited for a connection longer than the timeout.
    while (!pending_.empty() && pending_.front().intended + plan_.timeout <= t) {
      const ns_t intended = pending_.front().intended;
      pending_.pop();
      fail_request(intended >= plan_.warmup_end, &error_counts::timeout);
    }
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      connection& c = *slots_[i];
      if (c.state == phase::busy && c.deadline <= t) {
        fail_request(c.measured, &error_counts::timeout);
        recycle(c, t);
      } else if (c.state == phase::connecting && c.deadline <= t) {
        note_connect_error("connect timed out");
        close(c);
        if (open_loop()) release(c);  // the requests waiting for it time out on their own
        else closed_loop_connect_failed(c, t);
      } else if (c.state == phase::closed && c.retry && !sending_done_) {
        connect(c, t);
      }
    }
    if (open_loop()) dispatch(t);
    if (sending_done_ && (outstanding_ == 0 || t >= plan_.hard_end)) {
      finish();
      return;
    }
    sweep_timer_.expires_at(plan_.epoch + std::chrono::nanoseconds(t + sweep_period_ns));
    sweep_timer_.async_wait([this](const error_code& e) { on_sweep(e); });
  }

  void maybe_finish() {
    if (sending_done_ && outstanding_ == 0 && !finished_) finish();
  }

  // Ends the run: whatever is still unanswered counts as a timeout, never silently dropped.
  void finish() {
    finished_ = true;
    while (!pending_.empty()) {
      const ns_t intended = pending_.front().intended;
      pending_.pop();
      fail_request(intended >= plan_.warmup_end, &error_counts::timeout);
    }
    for (auto& slot : slots_) {
      if (slot->state == phase::busy) fail_request(slot->measured, &error_counts::timeout);
      if (slot->state != phase::closed) close(*slot);
    }
    tick_timer_.cancel();
    sweep_timer_.cancel();
    io_.stop();
  }

  const run_plan& plan_;
  const int index_;
  const int cap_;  // open: connection cap of this thread; closed: its connections
  asio::io_context io_;
  asio::steady_timer tick_timer_, sweep_timer_;
  std::vector<char> read_buffer_;
  std::vector<std::unique_ptr<connection>> slots_;
  std::vector<connection*> free_slots_;
  std::vector<std::pair<connection*, std::uint32_t>> idle_;  // LIFO; stale entries skipped
  request_queue pending_;  // requests waiting for a connection
  std::size_t connecting_ = 0;
  int open_ = 0;  // open loop: connections connecting, idle or busy
  std::int64_t outstanding_ = 0;  // requests picked up (or sent) and not yet ended
  bool sending_done_ = false, finished_ = false;
  ns_t next_ = 0;  // next intended send time
  std::uint64_t seq_ = 0;
  double exp_time_ = 0;
  std::mt19937_64 rng_;
  std::exponential_distribution<double> exp_gap_{1.0};
  worker_stats stats_;
};

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

ns_t to_ns(double seconds) { return static_cast<ns_t>(std::llround(seconds * 1e9)); }

}  // namespace

load_result run_load(const load_options& options) {
  run_plan plan;
  plan.endpoint = tcp::endpoint(asio::ip::make_address(options.url.address),
                                static_cast<unsigned short>(options.url.port));
  plan.request = "GET " + options.url.target + " HTTP/1.1\r\nHost: " +
                 options.url.host_header() + "\r\n\r\n";
  plan.mode = options.mode;
  plan.arrivals = options.arrivals;
  plan.rate = options.rate;
  plan.threads = options.threads;
  plan.seed = options.seed;
  plan.spin_window = to_ns(options.spin_us / 1e6);
  plan.timeout = to_ns(options.timeout_s);
  plan.warmup_end = to_ns(options.warmup_s);
  plan.send_end = plan.warmup_end + to_ns(options.duration_s);
  plan.hard_end = plan.send_end + plan.timeout + stop_grace_ns;

  std::vector<std::unique_ptr<worker>> workers;
  for (int k = 0; k < options.threads; ++k) {
    const int share = options.connections / options.threads +
                      (k < options.connections % options.threads ? 1 : 0);
    workers.push_back(std::make_unique<worker>(plan, k, share));
  }
  // Threads start a little before the epoch so that none begins late.
  plan.epoch = steady::now() + std::chrono::milliseconds(20);
  std::vector<std::exception_ptr> failures(workers.size());
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < workers.size(); ++k) {
    threads.emplace_back([&, k] {
      // Sleeps of the schedule timer should end on time, not up to 50 us late (the default
      // timer slack of a normal thread).
      prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
      try {
        workers[k]->run();
      } catch (...) {
        failures[k] = std::current_exception();
      }
    });
  }
  // CPU and wall time cover the measured window and the drain, not the warm-up.
  std::this_thread::sleep_until(plan.epoch + std::chrono::nanoseconds(plan.warmup_end));
  const double cpu_start = cpu_seconds();
  const auto wall_start = steady::now();
  for (auto& t : threads) t.join();
  const double cpu_end = cpu_seconds();
  const auto wall_end = steady::now();
  for (auto& f : failures)
    if (f) std::rethrow_exception(f);

  load_result r;
  r.mode = to_string(options.mode);
  r.url = options.url.text;
  if (options.mode == load_mode::open) {
    r.offered_rate = options.rate;
    r.arrivals = to_string(options.arrivals);
    r.seed = options.seed;
    r.spin_us = options.spin_us;
  }
  r.duration_s = options.duration_s;
  r.warmup_s = options.warmup_s;
  r.timeout_s = options.timeout_s;
  r.connections_cap = static_cast<std::uint64_t>(options.connections);
  r.threads = options.threads;
  for (auto& w : workers) {
    worker_stats& s = w->stats();
    r.requests += s.requests;
    r.responses += s.responses;
    r.connections_opened += s.connections_opened;
    r.errors.add(s.errors);
    r.latency.merge(s.latency);
    r.send_lag.merge(s.send_lag);
    if (r.first_error.empty()) r.first_error = s.first_connect_error;
    add_per_second(r.responses_per_second, s.responses_per_second);
  }
  r.achieved_rate = static_cast<double>(r.responses) / options.duration_s;
  r.client_cpu_s = cpu_end - cpu_start;
  r.wall_s = std::chrono::duration<double>(wall_end - wall_start).count();
  return r;
}

}  // namespace lab::load
