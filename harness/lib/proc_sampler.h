// What a server costs while it runs, read from /proc: every process of its process group
// (node cluster and nginx have several) is summed — RSS, peak RSS (VmHWM), threads, user and
// system CPU time, voluntary and involuntary context switches (summed over live threads;
// switches of threads that already exited are lost, so thread-per-request undercounts them).
// sample_* are pure reads; group_sampler runs one background thread, its methods are called
// from one owning thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace lab {

struct proc_sample {
  int processes = 0;
  uint64_t rss_kb = 0, hwm_kb = 0;
  int threads = 0;
  double utime_s = 0, stime_s = 0;  // includes exited threads of live processes
  uint64_t voluntary_ctxt_switches = 0, nonvoluntary_ctxt_switches = 0;
};

// One process (all its threads). processes = 0 if it does not exist.
proc_sample sample_process(pid_t pid);
// Every process whose process group is pgid.
proc_sample sample_process_group(pid_t pgid);
// Process ids in group pgid.
std::vector<pid_t> process_group_members(pid_t pgid);

struct timed_sample {
  double t_s;  // since start()
  proc_sample sample;
};

// Samples a process group every `interval` on a background thread between start() and stop().
class group_sampler {
 public:
  explicit group_sampler(pid_t pgid, std::chrono::milliseconds interval = std::chrono::milliseconds(100));
  ~group_sampler();
  void start();
  // Stops the thread, takes a final sample and returns every sample (first at t = 0).
  std::vector<timed_sample> stop();

 private:
  void loop();
  pid_t pgid_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<timed_sample> samples_;
};

}  // namespace lab
