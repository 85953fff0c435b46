// What `lab_harness run --hosts FILE` changes in a run (docs/several-machines.md): the blocks
// start the server on the server host (listening on its address: {host}) and the downstream on
// its host, both through the transport; the load comes from every load host at once
// (multi_host_load.h); the server is sampled on its host (remote_sampler.h). Verification
// stays on this machine's loopback (the same binaries; nothing is measured there) and cold
// starts are skipped (a start through ssh times the transport, not the server). Without
// --hosts none of this exists. Single-threaded use, like the run.
#pragma once

#include <filesystem>
#include <memory>

#include "block.h"
#include "hosts_file.h"
#include "multi_host_load.h"

namespace lab {

class hosts_run {
 public:
  hosts_run(hosts_layout layout, std::filesystem::path root, std::filesystem::path bin);
  // Points a run's block settings at the hosts: addresses, prefixes, generators, sampler.
  void apply(block_settings& settings);
  const hosts_layout& layout() const { return layout_; }

 private:
  hosts_layout layout_;
  std::filesystem::path root_, bin_;
  std::unique_ptr<multi_host_generator> wrk_, lab_load_;
};

}  // namespace lab
