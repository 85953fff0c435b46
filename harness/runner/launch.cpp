#include "launch.h"

#include <stdlib.h>

#include <stdexcept>

namespace lab {

namespace fs = std::filesystem;

placeholders placeholders_for(const launch_settings& settings, int idle_timeout_s) {
  placeholders values;
  values.host = settings.host;
  values.threads = std::max<int>(1, static_cast<int>(settings.cpus.size()));
  values.idle_timeout_s = idle_timeout_s;
  values.bin = settings.bin;
  values.root = settings.root;
  if (!settings.downstream.empty()) values.downstream = settings.downstream;
  return values;
}

server_start_options start_options_for(const server_spec& spec, const launch_settings& settings,
                                       int idle_timeout_s, const std::string& log_stem) {
  server_start_options options;
  options.values = placeholders_for(settings, idle_timeout_s);
  fs::create_directories(settings.tmp_root);
  std::string pattern = (settings.tmp_root / (spec.name + "-XXXXXX")).string();
  if (!::mkdtemp(pattern.data()))
    throw std::runtime_error("cannot create a temporary folder under " + settings.tmp_root.string());
  options.values.tmp = pattern;
  options.cpus = settings.cpus;
  options.command_prefix = settings.server_prefix;
  fs::create_directories(settings.logs);
  options.stdout_path = settings.logs / (log_stem + ".stdout");
  options.stderr_path = settings.logs / (log_stem + ".stderr");
  return options;
}

launched_server launched_server::start(const server_spec& spec, const launch_settings& settings,
                                       int idle_timeout_s, const std::string& log_stem,
                                       std::chrono::milliseconds ready_timeout) {
  auto options = start_options_for(spec, settings, idle_timeout_s, log_stem);
  options.ready_timeout = ready_timeout;
  launched_server server;
  server.tmp_ = options.values.tmp;
  try {
    server.process_ = server_process::start(spec, options);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(server.tmp_, ec);
    server.tmp_.clear();
    server.exit_ = server_exit{};  // nothing left to stop
    throw;
  }
  return server;
}

launched_server::launched_server(launched_server&& other) noexcept
    : process_(std::move(other.process_)), tmp_(std::move(other.tmp_)), exit_(std::move(other.exit_)) {
  other.tmp_.clear();
  other.exit_ = server_exit{};
}

launched_server& launched_server::operator=(launched_server&& other) noexcept {
  if (this != &other) {
    if (!exit_) stop();
    process_ = std::move(other.process_);
    tmp_ = std::move(other.tmp_);
    exit_ = std::move(other.exit_);
    other.tmp_.clear();
    other.exit_ = server_exit{};
  }
  return *this;
}

launched_server::~launched_server() {
  if (!exit_) stop();
}

const server_exit& launched_server::stop(std::chrono::milliseconds grace) {
  if (!exit_) {
    exit_ = process_.stop(grace);
    std::error_code ec;
    if (!tmp_.empty()) fs::remove_all(tmp_, ec);
    tmp_.clear();
  }
  return *exit_;
}

std::string launched_server::death_report() {
  const auto& exit = stop();
  return exit.describe() + "; " + stderr_tail(800);
}

}  // namespace lab
