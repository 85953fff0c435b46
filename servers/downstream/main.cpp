// downstream — the service /gateway calls (docs/service-contract.md, "The downstream
// service"): GET /delay?ms=M&i=I answers {"i":I,"ms":M} after a delay drawn from --delay,
// GET /stats counts what it served. It must be cheap, so that the gateway under test and not
// the downstream is what a run measures: Boost.Asio completion handlers, one timer per waiting
// request, no thread per request. While a /delay waits, a read stays pending on its
// connection, so a caller that gives up (closes) is seen at once and counted as `cancelled`.
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include "asio_runtime.h"
#include "query.h"
#include "request_parser.h"
#include "response_writer.h"
#include "service.h"
#include "target.h"

namespace {
using namespace lab;

constexpr std::uint32_t max_ms = 60'000;
constexpr std::uint32_t max_index = 1'000'000;

struct counters {
  std::atomic<std::uint64_t> served{0}, in_flight{0}, cancelled{0};
};

// --delay: how long /delay?ms=M really waits. The answer always echoes M.
struct delay_profile {
  enum class kind { fixed, lognormal, tail } what = kind::fixed;
  double sigma = 0;     // lognormal: M * exp(sigma * Z), Z standard normal (median M)
  double p = 0;         // tail: with probability p ...
  double extra_ms = 0;  // ... wait extra_ms more

  static delay_profile parse(const std::string& text) {
    delay_profile profile;
    const auto number = [&text](std::string_view part) {
      double value = -1;
      const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
      if (ec != std::errc() || end != part.data() + part.size() || !(value >= 0))
        throw std::invalid_argument("--delay " + text + ": '" + std::string(part) +
                                    "' is not a number >= 0");
      return value;
    };
    const std::string_view t = text;
    if (t == "fixed") return profile;
    if (t.starts_with("lognormal:")) {
      profile.what = kind::lognormal;
      profile.sigma = number(t.substr(10));
      return profile;
    }
    if (t.starts_with("tail:") && t.find(':', 5) != std::string_view::npos) {
      const auto colon = t.find(':', 5);
      profile.what = kind::tail;
      profile.p = number(t.substr(5, colon - 5));
      profile.extra_ms = number(t.substr(colon + 1));
      if (profile.p > 1) throw std::invalid_argument("--delay " + text + ": P must be in [0, 1]");
      return profile;
    }
    throw std::invalid_argument("--delay must be fixed, lognormal:SIGMA or tail:P:EXTRA_MS, got " +
                                text);
  }

  std::chrono::microseconds draw(std::uint32_t ms, std::mt19937_64& random) const {
    double waited = ms;
    if (what == kind::lognormal)
      waited = ms * std::exp(sigma * std::normal_distribution<double>()(random));
    if (what == kind::tail && std::uniform_real_distribution<double>()(random) < p)
      waited += extra_ms;
    return std::chrono::microseconds(static_cast<std::int64_t>(std::min(waited, 3.6e6) * 1000));
  }
};

struct shared_state {
  delay_profile profile;
  std::uint64_t seed = 1;
  std::chrono::seconds idle_timeout{30};
  counters count;
  std::atomic<std::uint64_t> next_thread{0};

  // One generator per I/O thread, seeded from --seed and the thread's order of first use.
  std::mt19937_64& random() {
    thread_local std::mt19937_64 generator(seed + 0x9E3779B97F4A7C15ull * next_thread.fetch_add(1));
    return generator;
  }
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(tcp::socket socket, shared_state& shared)
      : socket_(std::move(socket)),
        shared_(shared),
        input_(new char[capacity]),
        timer_(socket_.get_executor()),
        watchdog_(socket_, shared.idle_timeout) {}

  void start() {
    watchdog_.waiting_for_request();
    do_read();
  }

 private:
  static constexpr std::size_t capacity = http::max_header_bytes + 512;

  // Answers the buffered requests in order until one has to wait, then writes.
  void process() {
    while (!waiting_ && !closing_ && begin_ < end_) {
      const http::parse_result parsed = parser_.parse({input_.get() + begin_, end_ - begin_});
      begin_ += parsed.consumed;
      if (parsed.status == http::parse_status::need_more) break;
      if (parsed.status == http::parse_status::bad) {
        append_error_response(parsed.error_status, output_);
        closing_ = true;
        break;
      }
      route(parser_.request());
    }
    if (!waiting_ && !closing_) watchdog_.waiting_for_request();
    flush();
    do_read();  // the buffer may have had no room while requests were queued in it
  }

  void route(const http::request& request) {
    const auto [path, query] = split_target(request.target);
    reply_ = {request.verb == http::method::head,
              !request.keep_alive     ? http::connection_header::close
              : request.version == 10 ? http::connection_header::keep_alive
                                      : http::connection_header::none};
    if (reply_.connection == http::connection_header::close) closing_ = true;
    const bool known = path == "/delay" || path == "/stats";
    if (!known) return answer(404, "Not Found");
    if (request.verb == http::method::other)
      return answer(405, "Method Not Allowed", "text/plain", true);
    if (path == "/stats") {
      std::string body = "{\"served\":" + std::to_string(shared_.count.served.load()) +
                         ",\"in_flight\":" + std::to_string(shared_.count.in_flight.load()) +
                         ",\"cancelled\":" + std::to_string(shared_.count.cancelled.load()) + "}";
      return answer(200, body, "application/json");
    }
    const auto ms = parse_query_uint(query, "ms", max_ms);
    const auto index = parse_query_uint(query, "i", max_index);
    if (!ms || !index) return answer(400, "Bad Request");
    // Wait; the pending read goes on meanwhile so that a close is noticed.
    waiting_ = true;
    delay_ms_ = *ms;
    delay_index_ = *index;
    ++shared_.count.in_flight;
    watchdog_.busy();
    timer_.expires_after(shared_.profile.draw(*ms, shared_.random()));
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->closed_) return;  // cancelled because the caller left
      self->waiting_ = false;
      --self->shared_.count.in_flight;
      ++self->shared_.count.served;
      self->answer(200,
                   "{\"i\":" + std::to_string(self->delay_index_) +
                       ",\"ms\":" + std::to_string(self->delay_ms_) + "}",
                   "application/json");
      self->process();
    });
  }

  void answer(int status, std::string_view body, std::string_view type = "text/plain",
              bool allow = false) {
    http::append_response(output_, {status, type, reply_.connection, allow, reply_.head_only},
                          body);
  }

  void do_read() {
    if (reading_ || closed_) return;
    if (begin_ > 0) {  // slide unparsed bytes to the front (at most one partial request)
      std::memmove(input_.get(), input_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == capacity) return;  // full of queued requests: read again once they are answered
    reading_ = true;
    socket_.async_read_some(
        asio::buffer(input_.get() + end_, capacity - end_),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          self->reading_ = false;
          if (ec) return self->gone();
          self->watchdog_.busy();
          self->end_ += n;
          if (self->waiting_) return self->do_read();
          self->process();
        });
  }

  void flush() {
    if (writing_ || closed_) return;
    if (output_.empty()) {
      if (closing_ && !waiting_) {  // after the last answer, not before a pending one
        boost::system::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);  // the pending read ends with operation_aborted
      }
      return;
    }
    writing_ = true;
    sending_.swap(output_);
    asio::async_write(socket_, asio::buffer(sending_),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->writing_ = false;
                        self->sending_.clear();
                        if (ec) return self->gone();
                        self->flush();
                      });
  }

  // The peer closed or reset the connection, or it failed: a waiting /delay is cancelled.
  void gone() {
    if (closed_) return;
    closed_ = true;
    if (waiting_) {
      waiting_ = false;
      --shared_.count.in_flight;
      ++shared_.count.cancelled;
    }
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  tcp::socket socket_;
  shared_state& shared_;
  std::unique_ptr<char[]> input_;
  std::size_t begin_ = 0, end_ = 0;
  http::request_parser parser_;
  std::string output_, sending_;
  asio::steady_timer timer_;
  idle_watchdog watchdog_;
  reply_context reply_;
  std::uint32_t delay_ms_ = 0, delay_index_ = 0;
  bool waiting_ = false, reading_ = false, writing_ = false, closing_ = false, closed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"downstream: the service /gateway calls (GET /delay?ms=M&i=I, GET /stats)"};
  server_options options;
  std::string delay = "fixed";
  std::uint64_t seed = 1;
  app.add_option("--port", options.port, "TCP port to listen on (0: any free port)")
      ->capture_default_str();
  app.add_option("--host", options.host, "address to bind")->capture_default_str();
  app.add_option("--threads", options.threads, "I/O threads (one io_context each)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--idle-timeout", options.idle_timeout_s,
                 "seconds an idle keep-alive connection stays open")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--delay", delay, "delay profile: fixed, lognormal:SIGMA or tail:P:EXTRA_MS")
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of the delay profile's random numbers")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  shared_state shared;
  try {
    shared.profile = delay_profile::parse(delay);
  } catch (const std::invalid_argument& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 2;
  }
  shared.seed = seed;
  shared.idle_timeout = options.idle_timeout();

  io_context_pool pool(options.threads);
  tcp_acceptor acceptor(pool, options, [&shared](tcp::socket socket) {
    auto executor = socket.get_executor();
    asio::post(executor, [&shared, socket = std::move(socket)]() mutable {
      std::make_shared<connection>(std::move(socket), shared)->start();
    });
  });
  acceptor.start();
  print_listening(options, acceptor.port(), "downstream");
  pool.run();
  return 0;
}
