#include "downstream.h"

#include <nlohmann/json.hpp>

#include "http_client.h"

namespace lab {

downstream_stats parse_downstream_stats(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) throw std::runtime_error("downstream /stats: not a JSON object: " + body.substr(0, 200));
  downstream_stats s;
  for (auto [key, field] : {std::pair{"served", &s.served}, std::pair{"in_flight", &s.in_flight},
                            std::pair{"cancelled", &s.cancelled}}) {
    if (!j.contains(key) || !j[key].is_number_unsigned())
      throw std::runtime_error(std::string("downstream /stats: \"") + key +
                               "\" missing or not a count: " + body.substr(0, 200));
    *field = j[key].get<uint64_t>();
  }
  return s;
}

server_spec downstream_spec(const downstream_config& config) {
  server_spec spec;
  spec.name = "downstream";
  spec.model = "event_loop";
  spec.language = "cpp";
  spec.start = {"{bin}/downstream", "--host", "{host}", "--port", "{port}",
                "--threads", std::to_string(config.threads), "--delay", config.delay,
                "--idle-timeout", std::to_string(downstream_idle_timeout_s)};
  spec.built_file = "{bin}/downstream";
  spec.source = "harness/runner/downstream.cpp";
  return spec;
}

running_downstream running_downstream::start(const downstream_config& config,
                                             const launch_settings& settings,
                                             const std::vector<int>& cpus, const std::string& log_stem) {
  const server_spec spec = downstream_spec(config);
  server_start_options options;
  options.values = placeholders_for(settings, downstream_idle_timeout_s);
  if (!settings.downstream_host.empty()) options.values.host = settings.downstream_host;
  options.command_prefix = settings.downstream_prefix;
  options.cpus = cpus;
  std::filesystem::create_directories(settings.logs);
  options.stdout_path = settings.logs / (log_stem + ".stdout");
  options.stderr_path = settings.logs / (log_stem + ".stderr");
  options.ready_timeout = std::chrono::seconds(10);
  if (auto why = unavailable_reason(spec, options.values))
    throw server_start_error("downstream: " + *why + " (build target downstream)", false);
  running_downstream d;
  d.config_ = config;
  d.host_ = options.values.host;
  d.process_ = server_process::start(spec, options);
  try {
    d.stats();
  } catch (const std::exception& e) {
    d.stop();
    throw std::runtime_error(std::string("downstream started but GET /stats failed: ") + e.what());
  }
  return d;
}

running_downstream::~running_downstream() {
  if (!stopped_ && process_.pid() > 0) stop();
}

downstream_stats running_downstream::stats(std::chrono::milliseconds timeout) const {
  auto r = http_get(host_, process_.port(), "/stats", timeout);
  if (r.status != 200)
    throw std::runtime_error("downstream GET /stats answered " + std::to_string(r.status));
  return parse_downstream_stats(r.body);
}

server_exit running_downstream::stop(std::chrono::milliseconds grace) {
  if (!stopped_) {
    exit_ = process_.stop(grace);
    stopped_ = true;
  }
  return exit_;
}

}  // namespace lab
