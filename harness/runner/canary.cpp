#include "canary.h"

#include <poll.h>

#include <algorithm>
#include <cmath>

#include "http_client.h"

namespace lab {
namespace {

using clock_type = std::chrono::steady_clock;
constexpr auto poll_slice = std::chrono::milliseconds(20);
constexpr auto probe_interval = std::chrono::milliseconds(50);

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

nlohmann::json canary_result::to_json() const {
  auto round1 = [](double v) { return std::round(v * 10) / 10; };
  return {{"requests_sent", requests_sent},
          {"responses", responses},
          {"first_response_ms", first_response_ms ? nlohmann::json(round1(*first_response_ms))
                                                  : nlohmann::json(nullptr)},
          {"max_wait_ms", round1(max_wait_ms)}};
}

double starvation_limit_s(double duration_s) {
  return std::min(std::max(2.0, 0.5 * duration_s), 0.6 * duration_s);
}

bool is_starved(const canary_result& canary, double duration_s) {
  const double limit_ms = starvation_limit_s(duration_s) * 1000;
  if (canary.first_response_ms) return *canary.first_response_ms > limit_ms;
  // Never answered: max_wait_ms is how long the first request (or the connect) waited.
  return canary.max_wait_ms > limit_ms;
}

canary_probe::canary_probe(std::string host, int port, std::string path,
                           std::chrono::milliseconds delay, std::chrono::milliseconds hard_limit)
    : host_(std::move(host)), path_(std::move(path)), port_(port) {
  const auto now = clock_type::now();
  start_at_ = now + delay;
  hard_deadline_ = now + hard_limit;
  thread_ = std::thread([this] { run(); });
}

canary_probe::~canary_probe() { finish(); }

canary_result canary_probe::finish() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return result_;
}

bool canary_probe::stopping() const { return stop_ || clock_type::now() >= hard_deadline_; }

void canary_probe::run() {
  while (clock_type::now() < start_at_) {
    if (stopping()) return;
    std::this_thread::sleep_for(std::min<clock_type::duration>(poll_slice, start_at_ - clock_type::now()));
  }
  // The first wait counts from the connect: a connection the server never accepts is starved too.
  auto waiting_since = clock_type::now();
  auto note_wait = [&](clock_type::time_point now) {
    result_.max_wait_ms = std::max(result_.max_wait_ms, ms_between(waiting_since, now));
  };
  std::optional<http_connection> conn;
  try {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(hard_deadline_ - waiting_since);
    conn.emplace(host_, port_, std::clamp(left, std::chrono::milliseconds(1), std::chrono::milliseconds(5000)));
  } catch (const std::exception&) {
    note_wait(clock_type::now());
    return;
  }
  const std::string request = "GET " + path_ + " HTTP/1.1\r\nHost: " + host_ + ":" +
                              std::to_string(port_) + "\r\n\r\n";
  while (!stopping()) {
    if (result_.requests_sent > 0) waiting_since = clock_type::now();
    try {
      conn->send(request);
    } catch (const std::exception&) {
      return;
    }
    ++result_.requests_sent;
    bool answered = false;
    while (!answered) {
      const auto now = clock_type::now();
      note_wait(now);
      if (stopping()) return;  // still waiting: counted in max_wait_ms
      pollfd p{conn->fd(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(poll_slice.count())) <= 0) continue;
      try {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(hard_deadline_ - clock_type::now());
        conn->read_response(std::max(left, std::chrono::milliseconds(1)));
      } catch (const std::exception&) {
        note_wait(clock_type::now());
        return;  // closed, malformed or timed out: the probe ends with what it saw
      }
      const auto got = clock_type::now();
      note_wait(got);
      if (!result_.first_response_ms) result_.first_response_ms = ms_between(waiting_since, got);
      ++result_.responses;
      answered = true;
    }
    const auto next = clock_type::now() + probe_interval;
    while (clock_type::now() < next && !stopping()) std::this_thread::sleep_for(poll_slice);
  }
}

canary_run run_with_canary(load_generator& generator, const load_request& request,
                           const std::string& host, int port, const std::string& path) {
  const auto ms = [](double s) { return std::chrono::milliseconds(std::lround(s * 1000)); };
  // Bounded like the generator itself (duration + timeout + 10 s), and stopped as soon as it exits.
  canary_probe probe(host, port, path, ms(0.2 * request.duration_s),
                     ms(request.duration_s + request.timeout_s + 10));
  canary_run out;
  out.load = generator.run(request);
  out.canary = probe.finish();
  out.starved = is_starved(out.canary, request.duration_s);
  return out;
}

}  // namespace lab
