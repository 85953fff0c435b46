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
  const auto prefix = launch.server_prefix;
  const fs::path logs = launch.logs;
  const bool remote = layout_.server_host().is_ssh();
  if (!remote) return;  // local and netns: the server is a process of this machine; sample it here
  settings.sample_server = [prefix, logs, n = 0](server_process& server,
                                                 const std::function<void()>& load) mutable {
    remote_group_sampler sampler(prefix, server.stderr_path(), logs / ("server-samples-" + std::to_string(n++) + ".txt"));
    return sampler.sample_during(load);
  };
}

}  // namespace lab
