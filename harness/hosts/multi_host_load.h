// Load from several hosts (--hosts): a load_generator that runs wrk or lab_load on every load
// host of a hosts file at once — ClusterShell (clush -R exec) starts them all together, each
// through the transport (on_host) — with the level split between them: R/N req/s each (open
// loop), C/N connections each (closed loop; the remainder goes to the first hosts, and never
// fewer than one connection per host: with C < N only C hosts load). Each host measures its own
// latencies, so clock skew between hosts does not matter. lab_load's reports are merged with
// `lab_load merge` (histograms summed, percentiles recomputed: never averaged); wrk keeps no
// mergeable histogram, so a merged wrk result sums counts and takes each percentile's maximum
// over hosts (an upper bound, recorded as such). Every host's own result, CPU and client_bound
// go to load_result::per_host. Not thread-safe (one load at a time).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "hosts_file.h"
#include "load_generator.h"

namespace lab {

// The share of `level` host i of n gets (connections 0: host i sends nothing).
load_level share_of(const load_level& level, size_t i, size_t n);

// Quotes `arg` for a POSIX shell and escapes '%' for clush; "@HOST@" becomes clush's %h.
std::string clush_quote(const std::string& arg);

class multi_host_generator : public load_generator {
 public:
  // kind: "wrk" | "lab_load". `root` and `bin` are the same paths on every host (./lab hosts
  // prepare copies them); `report_lua` is wrk's report script.
  multi_host_generator(std::string kind, hosts_layout layout, std::filesystem::path root,
                       std::filesystem::path bin);
  ~multi_host_generator() override;  // removes its folder on the load hosts it used
  std::string name() const override { return kind_; }
  load_result run(const load_request& request) override;
  void load_only(const load_request& request, double seconds) override;

  // Per load host: its CPU count (nproc through the transport, asked once).
  int cpus_of(const std::string& host);

 private:
  // Starts every host's share at once; returns the hosts that ran (name, share) and the
  // remote file stem. Throws load_error when clush fails to run or times out.
  std::vector<std::pair<std::string, load_level>> launch(const load_request& request, double seconds,
                                                         const std::string& remote_stem, bool keep_results);
  std::vector<std::string> generator_argv(const load_request& request, const load_level& share,
                                          const std::string& out_file) const;
  // Each host's (report, `times` output) of the run `stem`, fetched from all hosts at once;
  // "" where a host has none.
  std::vector<std::pair<std::string, std::string>> fetch_reports(
      const std::vector<std::pair<std::string, load_level>>& hosts, const std::string& stem);
  void distribute_hosts_file();  // once: the hosts file to every load host (lab_load checks it)

  std::string kind_;
  hosts_layout layout_;
  std::filesystem::path root_, bin_;
  std::string remote_dir_;
  std::vector<std::pair<std::string, int>> cpus_;
  bool hosts_file_sent_ = false;
  bool launched_ = false;  // something ran on the load hosts: their remote_dir_ exists
};

}  // namespace lab
