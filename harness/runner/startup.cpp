#include "startup.h"

#include <atomic>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "http_client.h"
#include "proc_sampler.h"
#include "stats.h"

namespace lab {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using nlohmann::json;

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Polls from `t0` until a 200 from GET /plaintext (on the port the server announces) or
// `deadline`; runs on its own thread beside server_process::start.
class first_response_watcher {
 public:
  first_response_watcher(std::string host, fs::path stdout_path, clock_type::time_point t0,
                         clock_type::time_point deadline)
      : host_(std::move(host)), stdout_path_(std::move(stdout_path)), t0_(t0), deadline_(deadline) {
    thread_ = std::thread([this] { run(); });
  }
  ~first_response_watcher() { finish(); }
  void finish() {
    if (thread_.joinable()) thread_.join();
  }
  void cancel() { stop_ = true; }
  std::optional<double> ms() const { return ms_; }
  std::optional<int> port() const { return port_; }

 private:
  void run() {
    while (!stop_ && clock_type::now() < deadline_) {
      if (!port_) port_ = announced_port(read_all(stdout_path_));
      if (port_) {
        try {
          auto response = http_get(host_, *port_, "/plaintext", std::chrono::milliseconds(500));
          if (response.status == 200) {
            ms_ = std::chrono::duration<double, std::milli>(clock_type::now() - t0_).count();
            return;
          }
        } catch (const std::exception&) {
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  std::string host_;
  fs::path stdout_path_;
  clock_type::time_point t0_, deadline_;
  std::atomic<bool> stop_{false};
  std::optional<double> ms_;
  std::optional<int> port_;
  std::thread thread_;
};

}  // namespace

std::optional<int> announced_port(const std::string& stdout_text) {
  static const std::regex pattern(R"(^listening on \S+:([0-9]+)\b)");
  std::istringstream lines(stdout_text);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_search(line, m, pattern)) {
      try {
        return std::stoi(m[1].str());
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

cold_start measure_cold_start(const server_spec& spec, const launch_settings& settings,
                              int idle_timeout_s, std::chrono::milliseconds timeout) {
  const std::string stem = spec.name + "-startup";
  // The watcher must not read the previous run's listening line before the spawn truncates it.
  std::error_code ec;
  fs::remove(settings.logs / (stem + ".stdout"), ec);
  const auto t0 = clock_type::now();
  first_response_watcher watcher(settings.host, settings.logs / (stem + ".stdout"), t0, t0 + timeout);
  std::optional<launched_server> server;
  try {
    server.emplace(launched_server::start(spec, settings, idle_timeout_s, stem, timeout));
  } catch (const std::exception& e) {
    watcher.cancel();
    throw std::runtime_error(e.what());
  }
  watcher.finish();
  if (!watcher.ms()) {
    const bool alive = server->running();
    const std::string why = alive ? "no 200 from /plaintext within " +
                                        std::to_string(timeout.count() / 1000) + " s"
                                  : "exited before answering (" + server->death_report() + ")";
    throw std::runtime_error(why);
  }
  if (watcher.port() != server->port())
    throw std::runtime_error("answered on port " + std::to_string(*watcher.port()) +
                             ", but server_process judged port " + std::to_string(server->port()) +
                             " ready");
  cold_start out;
  out.time_to_first_response_ms = *watcher.ms();
  out.idle_rss_kb = sample_process_group(server->pid()).rss_kb;
  server->stop();
  return out;
}

json measure_cold_starts(const server_spec& spec, const launch_settings& settings,
                         int idle_timeout_s, int runs, const std::function<void(int)>& before_each) {
  std::vector<double> times_ms, rss_kb;
  std::string failure;
  for (int i = 0; i < runs && failure.empty(); ++i) {
    if (before_each) before_each(i);
    try {
      auto c = measure_cold_start(spec, settings, idle_timeout_s);
      times_ms.push_back(c.time_to_first_response_ms);
      rss_kb.push_back(static_cast<double>(c.idle_rss_kb));
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  auto with_samples = [](const std::vector<double>& values) {
    if (values.empty()) return json(nullptr);
    json j = spread_to_json(summarize(values));
    j["samples"] = values;
    return j;
  };
  return {{"server", spec.name},
          {"model", spec.model},
          {"language", spec.language},
          {"runs", static_cast<int>(times_ms.size())},
          {"status", failure.empty() ? "ok" : "failed"},
          {"reason", failure.empty() ? json(nullptr) : json(failure)},
          {"time_to_first_response_ms", with_samples(times_ms)},
          {"idle_rss_kb", with_samples(rss_kb)}};
}

}  // namespace lab
