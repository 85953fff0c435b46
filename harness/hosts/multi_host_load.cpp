#include "multi_host_load.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "lab_load_generator.h"
#include "measurement.h"
#include "process.h"
#include "wrk.h"

namespace lab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs argv, stdout to `out`; the raw wait status, or nullopt on timeout (then killed).
std::optional<int> run_to_file(const std::vector<std::string>& argv, const fs::path& out,
                               std::chrono::milliseconds limit) {
  spawn_options so;
  so.stdout_path = out;
  so.stderr_path = out.string() + ".stderr";
  auto child = child_process::spawn(argv, so);
  auto status = child.wait_for(limit);
  if (!status) child.stop(std::chrono::milliseconds(500));
  return status;
}

// The line between a fetched report and its `times` output. The remote command echoes the
// marker alone: a newline inside the `sh -c` text ended the echo and left "; cat" a syntax
// error, so every load host's CPU read as 0 (testbed_e2e checks it is not).
constexpr const char* fetch_marker = "@@lab-fetch-cpu@@";

// "0m1.23s" (POSIX `times`) in seconds.
double times_field(const std::string& text) {
  const auto m = text.find('m');
  if (m == std::string::npos) return 0;
  return std::atof(text.substr(0, m).c_str()) * 60 + std::atof(text.c_str() + m + 1);
}

// The children's user + sys from `times` output (its second line).
double children_cpu_s(const std::string& times_output) {
  std::istringstream lines(times_output);
  std::string line;
  std::getline(lines, line);
  if (!std::getline(lines, line)) return 0;
  std::istringstream fields(line);
  std::string user, sys;
  fields >> user >> sys;
  return times_field(user) + times_field(sys);
}

}  // namespace

load_level share_of(const load_level& level, size_t i, size_t n) {
  load_level out = level;
  const int c = level.connections;
  if (level.open) {
    out.rate = level.rate / n;
    out.connections = std::max<int>(1, static_cast<int>((c + n - 1) / n));
  } else {
    out.connections = c / static_cast<int>(n) + (static_cast<int>(i) < c % static_cast<int>(n) ? 1 : 0);
  }
  return out;
}

std::string clush_quote(const std::string& arg) {
  std::string out = "'";
  for (char ch : arg) {
    if (ch == '\'') out += "'\\''";
    else if (ch == '%') out += "%%";
    else out += ch;
  }
  out += "'";
  for (size_t at; (at = out.find("@HOST@")) != std::string::npos;) out.replace(at, 6, "%h");
  return out;
}

multi_host_generator::multi_host_generator(std::string kind, hosts_layout layout, fs::path root, fs::path bin)
    : kind_(std::move(kind)), layout_(std::move(layout)), root_(std::move(root)), bin_(std::move(bin)),
      remote_dir_("/tmp/lab-load-" + std::to_string(::getpid())) {}

multi_host_generator::~multi_host_generator() {
  if (!launched_ && !hosts_file_sent_) return;
  // The reports are in the run folder already; all hosts at once, bounded in time.
  std::vector<child_process> children;
  for (const auto& host : layout_.load) {
    auto argv = layout_.command_prefix(host, root_);
    argv.insert(argv.end(), {"rm", "-rf", remote_dir_});
    try {
      children.push_back(child_process::spawn(argv, spawn_options{}));
    } catch (const std::exception&) {
    }
  }
  for (auto& child : children)
    if (!child.wait_for(std::chrono::seconds(20))) child.stop(std::chrono::milliseconds(500));
}

int multi_host_generator::cpus_of(const std::string& host) {
  for (const auto& [name, n] : cpus_)
    if (name == host) return n;
  int n = 1;
  const fs::path tmp = fs::temp_directory_path() / ("lab-nproc-" + std::to_string(::getpid()));
  auto argv = layout_.command_prefix(host, root_);
  argv.push_back("nproc");
  try {
    if (auto status = run_to_file(argv, tmp, std::chrono::seconds(20)); status && WIFEXITED(*status) &&
                                                                         WEXITSTATUS(*status) == 0)
      n = std::max(1, std::atoi(read_all(tmp).c_str()));
  } catch (const std::exception&) {
  }
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::remove(tmp.string() + ".stderr", ec);
  cpus_.emplace_back(host, n);
  return n;
}

std::vector<std::string> multi_host_generator::generator_argv(const load_request& request, const load_level& share,
                                                              const std::string& out_file) const {
  load_request r = request;
  r.level = share;
  if (kind_ == "lab_load") {
    auto argv = lab_load_argv(bin_ / "lab_load", r, out_file);
    // Not loopback: lab_load checks the target against the hosts file (a copy on each host).
    argv.insert(argv.end(), {"--hosts", remote_dir_ + "/hosts.json"});
    return argv;
  }
  wrk_generator wrk(root_ / "harness" / "runner" / "report.lua");
  auto job = wrk.job_for(r);
  job.output = out_file;
  std::vector<std::string> argv = {"env", "LAB_WRK_OUT=" + out_file, "LAB_WRK_PIPELINE=" + std::to_string(r.pipeline)};
  for (const auto& a : wrk_argv(job)) argv.push_back(a);
  return argv;
}

std::vector<std::pair<std::string, load_level>> multi_host_generator::launch(const load_request& request,
                                                                             double seconds,
                                                                             const std::string& remote_stem,
                                                                             bool keep_results) {
  if (kind_ == "lab_load") distribute_hosts_file();
  const size_t n = layout_.load.size();
  // Hosts with the same share run the same command line: one clush each, all started at once.
  std::map<std::pair<int, double>, std::vector<std::string>> groups;
  std::vector<std::pair<std::string, load_level>> hosts;
  for (size_t i = 0; i < n; ++i) {
    const auto share = share_of(request.level, i, n);
    if (share.connections <= 0) continue;
    groups[{share.connections, share.rate}].push_back(layout_.load[i]);
    hosts.emplace_back(layout_.load[i], share);
  }
  load_request bounded = request;
  bounded.duration_s = seconds;
  std::vector<child_process> running;
  launched_ = true;
  const fs::path console = request.logs / (request.log_stem + "." + kind_ + ".hosts.txt");
  for (const auto& [key, names] : groups) {
    load_level share = request.level;
    share.connections = key.first;
    share.rate = key.second;
    const std::string out = keep_results ? remote_dir_ + "/" + remote_stem + ".@HOST@.json" : "/dev/null";
    const std::string cpu = keep_results ? remote_dir_ + "/" + remote_stem + ".@HOST@.cpu" : "/dev/null";
    // On the host: the generator, then `times` (its children's CPU) into the .cpu file.
    std::vector<std::string> remote = {"sh", "-c", "mkdir -p \"$1\"; c=$2; shift 2; \"$@\"; s=$?; times > \"$c\"; exit $s",
                                       "lab-load", remote_dir_, cpu};
    const std::string report = keep_results ? out : kind_ == "wrk" ? "/dev/null" : "";
    for (const auto& a : generator_argv(bounded, share, report)) remote.push_back(a);
    std::string command;
    auto prefix = layout_.command_prefix(names.front(), root_);
    prefix[3] = "@HOST@";
    for (const auto& a : prefix) command += (command.empty() ? "" : " ") + clush_quote(a);
    for (const auto& a : remote) command += " " + clush_quote(a);
    std::string list;
    for (const auto& h : names) list += (list.empty() ? "" : ",") + h;
    spawn_options so;
    so.stdout_path = console;
    so.stderr_path = console;
    running.push_back(child_process::spawn({"clush", "-R", "exec", "-S", "-f", "64", "-w", list, command}, so));
  }
  const auto limit = std::chrono::milliseconds(static_cast<long>((seconds + request.timeout_s + 20) * 1000));
  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool timed_out = false;
  for (auto& child : running) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!child.wait_for(std::max(left, std::chrono::milliseconds(1)))) {
      child.stop(std::chrono::seconds(2));
      timed_out = true;
    }
  }
  if (timed_out && keep_results)
    throw load_error(kind_ + " on the load hosts did not finish within " + std::to_string(limit.count()) +
                     " ms; stopped (" + console.string() + ")");
  return hosts;
}

void multi_host_generator::distribute_hosts_file() {
  if (hosts_file_sent_) return;
  // lab_load on each host checks its target against the hosts file: a copy named hosts.json.
  const fs::path dir = fs::temp_directory_path() / ("lab-hosts-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(layout_.file, dir / "hosts.json", fs::copy_options::overwrite_existing);
  for (const auto& host : layout_.load) {
    auto argv = layout_.command_prefix(host, root_);
    argv.back() = "--copy";
    argv.insert(argv.end(), {(dir / "hosts.json").string(), remote_dir_});
    auto status = run_to_file(argv, dir / "copy.txt", std::chrono::seconds(30));
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
      throw load_error("cannot copy the hosts file to load host " + host + ": " +
                       read_all(dir.string() + "/copy.txt.stderr"));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  hosts_file_sent_ = true;
}

std::vector<std::pair<std::string, std::string>> multi_host_generator::fetch_reports(
    const std::vector<std::pair<std::string, load_level>>& hosts, const std::string& stem) {
  // One call per host, all at once (each ssh call costs a handshake and a login shell):
  // the report, a separator line, the `times` output.
  const std::string base = (fs::temp_directory_path() / ("lab-fetch-" + std::to_string(::getpid()) + "-")).string();
  std::vector<child_process> children;
  for (const auto& [host, share] : hosts) {
    auto argv = layout_.command_prefix(host, root_);
    argv.insert(argv.end(), {"sh", "-c", "cat \"$1\"; echo; echo " + std::string(fetch_marker) + "; cat \"$2\"",
                             "lab-fetch", remote_dir_ + "/" + stem + "." + host + ".json",
                             remote_dir_ + "/" + stem + "." + host + ".cpu"});
    spawn_options so;
    so.stdout_path = base + host;
    so.stderr_path = base + host + ".stderr";
    children.push_back(child_process::spawn(argv, so));
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (!children[i].wait_for(std::chrono::seconds(30))) children[i].stop(std::chrono::milliseconds(500));
    const std::string text = read_all(base + hosts[i].first);
    const std::string separator = std::string(fetch_marker) + "\n";
    const auto at = text.find(separator);
    out.emplace_back(at == std::string::npos ? "" : text.substr(0, at),
                     at == std::string::npos ? "" : text.substr(at + separator.size()));
    std::error_code ec;
    fs::remove(base + hosts[i].first, ec);
    fs::remove(base + hosts[i].first + ".stderr", ec);
  }
  return out;
}

load_result multi_host_generator::run(const load_request& request) {
  if (kind_ == "lab_load" && request.pipeline > 1) throw load_error("lab_load does not pipeline (use wrk)");
  const std::string stem = request.log_stem + "." + kind_;
  const auto hosts = launch(request, request.duration_s, stem, true);
  load_result merged;
  json per_host = json::array();
  std::vector<std::string> merge_argv = {(bin_ / "lab_load").string(), "merge"};
  std::vector<load_result> results;
  const auto reports = fetch_reports(hosts, stem);
  for (size_t i = 0; i < hosts.size(); ++i) {
    const auto& [host, share] = hosts[i];
    const std::string text = reports[i].first.find('{') == std::string::npos ? "" : reports[i].first;
    const fs::path local = request.logs / (stem + "." + host + ".json");
    { std::ofstream(local) << text; }
    if (text.empty()) throw load_error(kind_ + " on load host " + host + " wrote no report (see " +
                                       (request.logs / (stem + ".hosts.txt")).string() + ")");
    load_result r;
    if (kind_ == "lab_load") {
      r = parse_lab_load_report(text, local);
      merge_argv.push_back(local.string());
    } else {
      wrk_run w;
      w.result = parse_wrk_report(text);
      w.wall_s = w.result.duration_s;
      r = to_load_result(w, std::max(1, std::min(request.threads, share.connections)));
    }
    const double cpu = children_cpu_s(reports[i].second);
    if (cpu > 0 || kind_ == "wrk") r.client_cpu_s = cpu;
    const double wall = kind_ == "wrk" ? r.duration_s : r.wall_s;
    const int cpus = cpus_of(host);
    flag_inputs in;
    in.open = share.open;
    in.client_utilization = wall > 0 ? r.client_cpu_s / (wall * cpus) : 0;
    if (r.send_lag) in.send_lag_p99_us = r.send_lag->p99;
    per_host.push_back({{"host", host},
                        {"address", layout_.host(host).address},
                        {"connections", share.connections},
                        {"rate", share.open ? json(share.rate) : json(nullptr)},
                        {"requests", r.responses},
                        {"requests_sent", r.requests},
                        {"requests_per_s", r.achieved_rps},
                        {"errors", r.errors.total()},
                        {"latency_us", {{"p50", r.latency.p50}, {"p99", r.latency.p99}, {"max", r.latency.max}}},
                        {"cpu_s", r.client_cpu_s},
                        {"cpus", cpus},
                        {"cpu_utilization", in.client_utilization},
                        {"client_bound", is_client_bound(in)},
                        {"report", fs::relative(local, request.logs.parent_path()).string()}});
    results.push_back(r);
  }
  if (kind_ == "lab_load") {
    const fs::path out = request.logs / (stem + ".json");
    merge_argv.insert(merge_argv.end(), {"--json", out.string()});
    auto status = run_to_file(merge_argv, request.logs / (stem + ".merge.txt"), std::chrono::seconds(30));
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
      throw load_error("lab_load merge failed: " + read_all(request.logs / (stem + ".merge.txt.stderr")));
    merged = parse_lab_load_report(read_all(out), out);
    merged.client_cpu_s = 0;
    for (const auto& r : results) merged.client_cpu_s += r.client_cpu_s;
  } else {
    // wrk: counts summed; each percentile the maximum over hosts (no histogram to merge).
    merged = results.front();
    for (size_t i = 1; i < results.size(); ++i) {
      const auto& r = results[i];
      merged.requests += r.requests;
      merged.responses += r.responses;
      if (merged.bytes && r.bytes) *merged.bytes += *r.bytes;
      merged.errors.connect += r.errors.connect;
      merged.errors.read += r.errors.read;
      merged.errors.write += r.errors.write;
      merged.errors.timeout += r.errors.timeout;
      merged.errors.status += r.errors.status;
      auto& l = merged.latency;
      l.p50 = std::max(l.p50, r.latency.p50);
      l.p90 = std::max(l.p90, r.latency.p90);
      l.p99 = std::max(l.p99, r.latency.p99);
      l.p99_9 = std::max(l.p99_9, r.latency.p99_9);
      l.max = std::max(l.max, r.latency.max);
      if (l.p75 && r.latency.p75) l.p75 = std::max(*l.p75, *r.latency.p75);
      l.mean = std::max(l.mean, r.latency.mean);
      l.stdev.reset();
      merged.duration_s = std::max(merged.duration_s, r.duration_s);
      merged.client_cpu_s += r.client_cpu_s;
      merged.latency_reachable_fraction = std::min(merged.latency_reachable_fraction, r.latency_reachable_fraction);
    }
    merged.achieved_rps = merged.duration_s > 0 ? merged.responses / merged.duration_s : 0;
    merged.wall_s = merged.duration_s;
  }
  merged.per_host = per_host;
  merged.latency_merge = kind_ == "lab_load" ? "histograms summed (lab_load merge)"
                                             : "maximum over hosts (wrk has no mergeable histogram)";
  return merged;
}

void multi_host_generator::load_only(const load_request& request, double seconds) {
  try {
    launch(request, seconds, request.log_stem + "." + kind_, false);
  } catch (const std::exception&) {
    // Primer and warm-up results are not used; a failing server shows up when measured.
  }
}

}  // namespace lab
