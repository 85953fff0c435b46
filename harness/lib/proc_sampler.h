// What a server costs while it runs, read from /proc: every process of its process group
// (node cluster and nginx have several) is summed — RSS, peak RSS (VmHWM), threads, user and
// system CPU time, voluntary and involuntary context switches (summed over live threads;
// switches of threads that already exited are lost, so thread-per-request undercounts them),
// minor and major page faults (per process, exited threads included). Also the whole machine's
// CPU time from /proc/stat (busy, steal) and this process's own CPU time, so a measurement can
// tell how much of the machine others used meanwhile.
// sample_* are pure reads; group_sampler runs one background thread, its methods are called
// from one owning thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lab {

struct proc_sample {
  int processes = 0;
  uint64_t rss_kb = 0, hwm_kb = 0;
  int threads = 0;
  double utime_s = 0, stime_s = 0;  // includes exited threads of live processes
  uint64_t voluntary_ctxt_switches = 0, nonvoluntary_ctxt_switches = 0;
  uint64_t minor_faults = 0, major_faults = 0;
};

// The machine's CPU time since boot, summed over CPUs (the "cpu" line of /proc/stat), seconds.
// busy = user + nice + system + irq + softirq (guest time is already inside user); steal is
// time a vCPU wanted to run while the hypervisor ran something else.
struct system_cpu_times {
  double busy_s = 0, idle_s = 0, iowait_s = 0, steal_s = 0;
  int cpus = 0;  // "cpuN" lines
};
// Parses /proc/stat's text; throws std::invalid_argument if it has no "cpu " line.
system_cpu_times parse_proc_stat(const std::string& text);
system_cpu_times read_system_cpu();  // /proc/stat now
double own_cpu_s();                  // this process's user + system time, all its threads

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
