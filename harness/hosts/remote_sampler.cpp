#include "remote_sampler.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "process.h"

namespace lab {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t line_count(const fs::path& p) {
  const auto text = read_all(p);
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

// Waits until `p` has more than `lines` complete lines, up to `limit`.
bool wait_for_line(const fs::path& p, size_t lines, std::chrono::milliseconds limit, child_process& child) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (line_count(p) > lines) return true;
    if (!child.running()) return false;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

}  // namespace

const std::string& remote_sampler_script() {
  // stat after "pid (comm) ": $1 state, $3 pgrp, $12 utime, $13 stime (clock ticks). Files of
  // processes that exit meanwhile are skipped by cat; status sums over the process's threads
  // for the context switches (a process's own status has only its main thread's).
  static const std::string script = R"SH(pg=$1; iv=$2; tck=$(getconf CLK_TCK)
while :; do
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v pg="$pg" -v tck="$tck" '
    { pid = $1; s = $0; sub(/^.*\) /, "", s); split(s, f, " ")
      if (f[3] != pg) next
      procs++; ut += f[12]; st += f[13]
      file = "/proc/" pid "/status"
      while ((getline line < file) > 0) { split(line, kv, ":[ \t]*")
        if (kv[1] == "VmRSS") rss += kv[2] + 0; else if (kv[1] == "VmHWM") hwm += kv[2] + 0
        else if (kv[1] == "Threads") thr += kv[2] + 0 }
      close(file)
      cmd = "cat /proc/" pid "/task/*/status 2>/dev/null"
      while ((cmd | getline line) > 0) { split(line, kv, ":[ \t]*")
        if (kv[1] == "voluntary_ctxt_switches") vol += kv[2]
        else if (kv[1] == "nonvoluntary_ctxt_switches") nv += kv[2] }
      close(cmd) }
    END { getline up < "/proc/uptime"; split(up, u, " ")
      printf "%s %d %d %d %d %.2f %.2f %.0f %.0f\n", u[1], procs, rss, hwm, thr, ut / tck, st / tck, vol, nv }'
  sleep "$iv"
done)SH";
  return script;
}

std::vector<timed_sample> parse_remote_samples(const std::string& text) {
  std::vector<timed_sample> out;
  std::istringstream lines(text);
  std::string line;
  double first = -1;
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    double up = 0;
    proc_sample s;
    if (!(in >> up >> s.processes >> s.rss_kb >> s.hwm_kb >> s.threads >> s.utime_s >> s.stime_s >>
          s.voluntary_ctxt_switches >> s.nonvoluntary_ctxt_switches))
      continue;
    if (first < 0) first = up;
    out.push_back({up - first, s});
  }
  return out;
}

int remote_pid_in(const std::string& stderr_text) {
  const std::string marker = "lab-remote-pid ";
  const auto at = stderr_text.rfind(marker);  // the last start's (a retried start appends)
  if (at == std::string::npos) return 0;
  return std::atoi(stderr_text.c_str() + at + marker.size());
}

void remote_group_sampler::start() {
  const int pgid = remote_pid_in(read_all(process_stderr_));
  if (pgid <= 0) return;
  std::vector<std::string> argv = prefix_;
  argv.insert(argv.end(), {"sh", "-c", remote_sampler_script(), "lab-sampler", std::to_string(pgid), "0.2"});
  spawn_options so;
  so.stdout_path = out_;
  so.stderr_path = out_.string() + ".stderr";
  try {
    child_.emplace(child_process::spawn(argv, so));
  } catch (const std::exception&) {
    return;
  }
  wait_for_line(out_, 0, 5s, *child_);  // the first sample before the load
}

std::vector<timed_sample> remote_group_sampler::stop() {
  if (!child_) return {};
  wait_for_line(out_, line_count(out_), 2s, *child_);  // and one after it
  child_->stop(1s);
  child_.reset();
  return parse_remote_samples(read_all(out_));
}

}  // namespace lab
