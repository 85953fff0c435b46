#include "proc_sampler.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace lab {
namespace {

const double ticks_per_s = static_cast<double>(sysconf(_SC_CLK_TCK));

// Fields of /proc/<pid>/stat after the command (which may hold spaces and parentheses).
bool read_stat_fields(const std::string& path, std::vector<std::string>& fields) {
  std::ifstream in(path);
  std::string text;
  if (!std::getline(in, text)) return false;
  auto close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(text.substr(close + 2));
  fields.clear();
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields.size() > 20;
}

// Adds "Key:\t<number>" lines of a status file to the sample.
void add_status(const std::string& path, proc_sample& s, bool memory_too) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    const uint64_t value = std::strtoull(line.c_str() + colon + 1, nullptr, 10);
    if (key == "voluntary_ctxt_switches") s.voluntary_ctxt_switches += value;
    else if (key == "nonvoluntary_ctxt_switches") s.nonvoluntary_ctxt_switches += value;
    else if (memory_too && key == "VmRSS") s.rss_kb += value;
    else if (memory_too && key == "VmHWM") s.hwm_kb += value;
    else if (memory_too && key == "Threads") s.threads += static_cast<int>(value);
  }
}

std::vector<std::string> numeric_entries(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] >= '0' && e->d_name[0] <= '9') names.emplace_back(e->d_name);
    }
    closedir(d);
  }
  return names;
}

void add_process(pid_t pid, proc_sample& s) {
  const std::string base = "/proc/" + std::to_string(pid);
  std::vector<std::string> fields;
  if (!read_stat_fields(base + "/stat", fields)) return;  // gone meanwhile
  // After "pid (comm) ": state=0 ppid=1 pgrp=2 ... utime=11 stime=12 (man 5 proc, minus 3).
  s.processes += 1;
  s.utime_s += std::strtod(fields[11].c_str(), nullptr) / ticks_per_s;
  s.stime_s += std::strtod(fields[12].c_str(), nullptr) / ticks_per_s;
  s.minor_faults += std::strtoull(fields[7].c_str(), nullptr, 10);
  s.major_faults += std::strtoull(fields[9].c_str(), nullptr, 10);
  proc_sample memory;
  add_status(base + "/status", memory, true);
  s.rss_kb += memory.rss_kb;
  s.hwm_kb += memory.hwm_kb;
  s.threads += memory.threads;
  // The process's status holds only its main thread's switches: sum over its threads.
  for (const auto& tid : numeric_entries(base + "/task")) {
    add_status(base + "/task/" + tid + "/status", s, false);
  }
}

}  // namespace

system_cpu_times parse_proc_stat(const std::string& text) {
  system_cpu_times t;
  bool found = false;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("cpu ", 0) == 0) {
      std::istringstream fields(line.substr(4));
      // user nice system idle iowait irq softirq steal (guest, guest_nice: inside user, nice)
      double v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (double& x : v) fields >> x;
      t.busy_s = (v[0] + v[1] + v[2] + v[5] + v[6]) / ticks_per_s;
      t.idle_s = v[3] / ticks_per_s;
      t.iowait_s = v[4] / ticks_per_s;
      t.steal_s = v[7] / ticks_per_s;
      found = true;
    } else if (line.rfind("cpu", 0) == 0 && line.size() > 3 && line[3] >= '0' && line[3] <= '9') {
      ++t.cpus;
    }
  }
  if (!found) throw std::invalid_argument("/proc/stat has no 'cpu ' line");
  return t;
}

system_cpu_times read_system_cpu() {
  std::ifstream in("/proc/stat");
  std::stringstream text;
  text << in.rdbuf();
  return parse_proc_stat(text.str());
}

double own_cpu_s() {
  std::vector<std::string> fields;
  if (!read_stat_fields("/proc/self/stat", fields)) return 0;
  return (std::strtod(fields[11].c_str(), nullptr) + std::strtod(fields[12].c_str(), nullptr)) / ticks_per_s;
}

std::vector<pid_t> process_group_members(pid_t pgid) {
  std::vector<pid_t> members;
  std::vector<std::string> fields;
  for (const auto& name : numeric_entries("/proc")) {
    if (!read_stat_fields("/proc/" + name + "/stat", fields)) continue;
    if (std::atoi(fields[2].c_str()) == pgid) members.push_back(std::atoi(name.c_str()));
  }
  return members;
}

proc_sample sample_process(pid_t pid) {
  proc_sample s;
  add_process(pid, s);
  return s;
}

proc_sample sample_process_group(pid_t pgid) {
  proc_sample s;
  for (pid_t pid : process_group_members(pgid)) add_process(pid, s);
  return s;
}

group_sampler::group_sampler(pid_t pgid, std::chrono::milliseconds interval)
    : pgid_(pgid), interval_(interval) {}

group_sampler::~group_sampler() {
  if (thread_.joinable()) stop();
}

void group_sampler::start() {
  start_ = std::chrono::steady_clock::now();
  samples_.push_back({0.0, sample_process_group(pgid_)});
  stop_ = false;
  thread_ = std::thread([this] { loop(); });
}

void group_sampler::loop() {
  auto next = start_ + interval_;
  while (!stop_) {
    std::this_thread::sleep_until(next);
    if (stop_) break;
    auto s = sample_process_group(pgid_);
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    {
      std::lock_guard lock(mutex_);
      samples_.push_back({t, s});
    }
    next += interval_;
    auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + interval_;  // fell behind: do not burst
  }
}

std::vector<timed_sample> group_sampler::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  auto s = sample_process_group(pgid_);
  double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::lock_guard lock(mutex_);
  samples_.push_back({t, s});
  return std::move(samples_);
}

}  // namespace lab
