#include "hosts_run.h"

#include "remote_sampler.h"

namespace lab {

namespace fs = std::filesystem;

hosts_run::hosts_run(hosts_layout layout, fs::path root, fs::path bin)
    : layout_(std::move(layout)), root_(std::move(root)), bin_(std::move(bin)),
      wrk_(std::make_unique<multi_host_generator>("wrk", layout_, root_, bin_)),
      lab_load_(std::make_unique<multi_host_generator>("lab_load", layout_, root_, bin_)) {}

void hosts_run::apply(block_settings& settings) {
  auto& launch = settings.launch;
  launch.host = layout_.server_host().address;
  launch.server_prefix = layout_.command_prefix(layout_.server, root_);
  const std::string downstream = layout_.downstream.empty() ? layout_.server : layout_.downstream;
  launch.downstream_prefix = layout_.command_prefix(downstream, root_);
  launch.downstream_host = layout_.host(downstream).address;
  settings.wrk = wrk_.get();
  if (settings.lab_load) settings.lab_load = lab_load_.get();
  // An ssh host's processes are sampled there; local and netns ones are processes of this
  // machine, sampled here (a null sampler).
  struct target {
    std::vector<std::string> prefix;
    bool remote;
  };
  const target server{launch.server_prefix, layout_.server_host().is_ssh()};
  const target downstream_target{launch.downstream_prefix, layout_.host(downstream).is_ssh()};
  const fs::path logs = launch.logs;
  settings.remote_sampler = [server, downstream_target, logs, n = 0](server_process& p) mutable
      -> std::unique_ptr<usage_sampler> {
    // The downstream is started from {bin}/downstream; anything else is the server.
    const bool is_downstream = p.command().find("/downstream ") != std::string::npos;
    const target& t = is_downstream ? downstream_target : server;
    if (!t.remote) return nullptr;
    const std::string name = std::string(is_downstream ? "downstream" : "server") + "-samples-" + std::to_string(n++);
    return std::make_unique<remote_group_sampler>(t.prefix, p.stderr_path(), logs / (name + ".txt"));
  };
}

}  // namespace lab
