// The server's cost sampled on its own host (--hosts): a small POSIX sh + awk loop started there
// through the transport (on_host) reads /proc for every process of the server's process group
// every 200 ms — CPU, RSS, peak RSS, threads, context switches, as harness/lib's group_sampler
// does here — and prints one line per sample; the harness reads the lines back. The group is
// the one on_host's remote side printed as "lab-remote-pid N" in the server's stderr. Clock
// skew does not matter: times are the server host's /proc/uptime, only their differences are
// used. One owner; not thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <optional>

#include "block.h"
#include "process.h"
#include "proc_sampler.h"

namespace lab {

// The sh script (arguments: PGID INTERVAL_S) that prints
// "uptime_s processes rss_kb hwm_kb threads utime_s stime_s voluntary nonvoluntary" lines.
const std::string& remote_sampler_script();

// Parses the script's lines into samples (t from the first line); malformed lines are skipped.
std::vector<timed_sample> parse_remote_samples(const std::string& text);

// The last "lab-remote-pid N" in a stderr text: N, or 0.
int remote_pid_in(const std::string& stderr_text);

class remote_group_sampler : public usage_sampler {
 public:
  // `prefix` runs a command on the process's host; its stderr log holds its pgid; the
  // samples go to `out`.
  remote_group_sampler(std::vector<std::string> prefix, std::filesystem::path process_stderr,
                       std::filesystem::path out)
      : prefix_(std::move(prefix)), process_stderr_(std::move(process_stderr)), out_(std::move(out)) {}
  // Starts the loop there and waits for its first sample (the load comes after it). If the
  // group is unknown or the loop cannot start, stop() returns no samples.
  void start() override;
  // Waits for one more sample (after the load), stops the loop, returns every sample.
  std::vector<timed_sample> stop() override;

 private:
  std::vector<std::string> prefix_;
  std::filesystem::path process_stderr_, out_;
  std::optional<child_process> child_;
};

}  // namespace lab
