#include "fingerprint.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace lab {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// The calling thread's CPU time. Single-thread figures are timed by it, not by the wall
// clock: while another process holds this CPU the thread does not run and its CPU time does
// not advance, so a busy machine inflates the figures far less (the noise it leaves is
// cache pollution and steal; the context switch, which needs two threads, stays on the wall
// clock).
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// A slice ends after `slice_s` of CPU time, or after 4 × slice_s of wall time on a machine so
// busy that the thread gets less than a quarter of its CPU (the figure, ops per CPU second,
// stays valid; the run stays within its budget).
struct slice_timer {
  explicit slice_timer(double slice_s) : slice_s_(slice_s), cpu0_(thread_cpu_s()), wall0_(clock_type::now()) {}
  double cpu_s() const { return thread_cpu_s() - cpu0_; }
  bool done(double cpu_s) const { return cpu_s >= slice_s_ || seconds_since(wall0_) >= 4 * slice_s_; }
  double slice_s_, cpu0_;
  clock_type::time_point wall0_;
};

// Keeps a value alive so the compiler cannot drop the loop that made it.
template <typename T>
void keep(T const& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

void pin_this_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set); rc != 0)
    throw std::runtime_error("cannot pin a fingerprint thread to CPU " + std::to_string(cpu) + ": " +
                             std::strerror(rc));
}

// Runs `body` on a new thread pinned to `cpu`, rethrowing what it throws.
template <typename F>
void on_cpu(int cpu, F&& body) {
  std::exception_ptr error;
  std::thread t([&] {
    try {
      pin_this_thread(cpu);
      body();
    } catch (...) {
      error = std::current_exception();
    }
  });
  t.join();
  if (error) std::rethrow_exception(error);
}

// Calls step(chunk) until `slice_s` has passed; returns ns per operation (chunk ops per call).
template <typename Step>
double ns_per_op(double slice_s, uint64_t chunk, Step&& step) {
  step(chunk);  // warm: code, data and the branch predictor
  uint64_t ops = 0;
  const slice_timer timer(slice_s);
  double elapsed = 0;
  do {
    step(chunk);
    ops += chunk;
    elapsed = timer.cpu_s();
  } while (!timer.done(elapsed));
  return elapsed * 1e9 / static_cast<double>(ops);
}

double measure_syscall(double slice_s) {
  return ns_per_op(slice_s, 1000, [](uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) keep(syscall(SYS_getppid));
  });
}

double measure_clock(double slice_s) {
  return ns_per_op(slice_s, 1000, [](uint64_t n) {
    timespec ts{};
    for (uint64_t i = 0; i < n; ++i) {
      clock_gettime(CLOCK_MONOTONIC, &ts);
      keep(ts.tv_nsec);
    }
  });
}

// A dependent chain of multiply-adds: the latency of the core's integer pipeline, so it tracks
// clock speed and how much of the core this vCPU really gets.
double measure_compute(double slice_s) {
  uint64_t x = 88172645463325252ull;
  double ns = ns_per_op(slice_s, 1 << 16, [&x](uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      asm volatile("" : "+r"(x));
    }
  });
  keep(x);
  return ns;
}

long futex(std::atomic<int>* word, int op, int value) {
  return syscall(SYS_futex, reinterpret_cast<int*>(word), op, value, nullptr, nullptr, 0);
}

void wait_while_equal(std::atomic<int>& word, int value) {
  while (word.load(std::memory_order_acquire) == value) futex(&word, FUTEX_WAIT_PRIVATE, value);
}

// Two threads on one CPU hand a token back and forth through a futex: every hand-over is a
// sleep, a wake-up and a switch. Returns ns per switch (half a round trip).
double measure_context_switch(int cpu, double slice_s) {
  std::atomic<int> turn{0};  // 0: the driver's turn, 1: the partner's
  std::atomic<bool> stop{false};
  std::exception_ptr error;
  std::thread partner([&] {
    try {
      pin_this_thread(cpu);
    } catch (...) {
      error = std::current_exception();
    }
    for (;;) {
      wait_while_equal(turn, 0);
      if (stop.load(std::memory_order_acquire)) break;
      turn.store(0, std::memory_order_release);
      futex(&turn, FUTEX_WAKE_PRIVATE, 1);
    }
  });
  uint64_t round_trips = 0;
  auto hand_over = [&] {
    turn.store(1, std::memory_order_release);
    futex(&turn, FUTEX_WAKE_PRIVATE, 1);
    wait_while_equal(turn, 1);
  };
  for (int i = 0; i < 100; ++i) hand_over();  // both threads running and settled
  auto t0 = clock_type::now();
  double elapsed = 0;
  do {
    for (int i = 0; i < 200; ++i) hand_over();
    round_trips += 200;
    elapsed = seconds_since(t0);
  } while (elapsed < slice_s);
  stop.store(true, std::memory_order_release);
  turn.store(1, std::memory_order_release);
  futex(&turn, FUTEX_WAKE_PRIVATE, 1);
  partner.join();
  if (error) std::rethrow_exception(error);
  return elapsed * 1e9 / static_cast<double>(2 * round_trips);
}

// One node per cache line, so every step of the chase is a new line.
struct alignas(64) chase_node {
  chase_node* next;
};

class chase_buffer {
 public:
  explicit chase_buffer(size_t bytes) : nodes_(std::max<size_t>(2, bytes / sizeof(chase_node))) {
    // Hugepages would hide the TLB misses a server's scattered heap pays for.
    madvise(nodes_.data(), nodes_.size() * sizeof(chase_node), MADV_NOHUGEPAGE);
    auto next = random_cycle(nodes_.size(), 0x5eed + nodes_.size());
    for (size_t i = 0; i < nodes_.size(); ++i) nodes_[i].next = &nodes_[next[i]];
  }
  double measure(double slice_s) {
    chase_node* p = &nodes_[0];
    // Bring it into the caches it fits (a bounded walk: far beyond the caches a full one would
    // cost a second of cache misses and warm nothing).
    for (size_t i = 0; i < std::min<size_t>(nodes_.size(), 1 << 16); ++i) p = p->next;
    double ns = ns_per_op(slice_s, 4096, [&p](uint64_t n) {
      for (uint64_t i = 0; i < n; ++i) p = p->next;
      keep(p);
    });
    keep(p);
    return ns;
  }

 private:
  std::vector<chase_node> nodes_;
};

double measure_read_gbps(const std::vector<uint64_t>& buffer, double slice_s) {
  const size_t words = buffer.size();
  uint64_t passes = 0;
  const slice_timer timer(slice_s);
  double elapsed = 0;
  uint64_t sum = 0;
  do {
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 3 < words; i += 4) {
      a += buffer[i];
      b += buffer[i + 1];
      c += buffer[i + 2];
      d += buffer[i + 3];
    }
    sum += a + b + c + d;
    keep(sum);
    ++passes;
    elapsed = timer.cpu_s();
  } while (!timer.done(elapsed));
  return static_cast<double>(passes * words * sizeof(uint64_t)) / elapsed / 1e9;
}

// Bytes copied per second (each byte is read once and written once).
double measure_copy_gbps(std::vector<uint64_t>& buffer, double slice_s) {
  const size_t half = buffer.size() / 2;
  uint64_t passes = 0;
  const slice_timer timer(slice_s);
  double elapsed = 0;
  do {
    std::memcpy(buffer.data() + (passes % 2 ? 0 : half), buffer.data() + (passes % 2 ? half : 0),
                half * sizeof(uint64_t));
    keep(buffer[passes % 2 ? 0 : half]);
    ++passes;
    elapsed = timer.cpu_s();
  } while (!timer.done(elapsed));
  return static_cast<double>(passes * half * sizeof(uint64_t)) / elapsed / 1e9;
}

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

figure_stats stats_from_json(const nlohmann::json& j, const std::string& name) {
  if (!j.is_object()) throw std::invalid_argument("fingerprint figure '" + name + "' is not an object");
  figure_stats s;
  for (const char* key : {"median", "min", "max"}) {
    if (!j.contains(key) || !j[key].is_number())
      throw std::invalid_argument("fingerprint figure '" + name + "' has no number '" + key + "'");
  }
  s.median = j["median"];
  s.min = j["min"];
  s.max = j["max"];
  if (j.contains("samples")) s.samples = j["samples"].get<std::vector<double>>();
  return s;
}

nlohmann::json figures_json(const std::map<std::string, figure_stats>& figures) {
  nlohmann::json out = nlohmann::json::object();
  auto round3 = [](double v) { return std::round(v * 1000) / 1000; };
  for (const auto& [name, s] : figures) {
    nlohmann::json samples = nlohmann::json::array();
    for (double v : s.samples) samples.push_back(round3(v));
    out[name] = {{"median", round3(s.median)}, {"min", round3(s.min)}, {"max", round3(s.max)},
                 {"samples", samples}};
  }
  return out;
}

}  // namespace

figure_stats summarize_samples(std::vector<double> samples) {
  figure_stats s;
  s.samples = samples;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  s.median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  s.min = samples.front();
  s.max = samples.back();
  return s;
}

std::map<std::string, std::string> cpu_identity(const std::string& cpuinfo) {
  std::map<std::string, std::string> fields;
  std::istringstream in(cpuinfo);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      if (!fields.empty()) break;  // the first CPU's block only
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto trim = [](std::string t) {
      const auto b = t.find_first_not_of(" \t");
      const auto e = t.find_last_not_of(" \t");
      return b == std::string::npos ? std::string{} : t.substr(b, e - b + 1);
    };
    fields.emplace(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  std::map<std::string, std::string> out;
  auto get = [&](const char* key) {
    auto it = fields.find(key);
    return it == fields.end() ? std::string{"?"} : it->second;
  };
  if (fields.empty()) return out;
  out["cpu_family_model_stepping"] = get("cpu family") + "/" + get("model") + "/" + get("stepping");
  out["cpu_microcode"] = get("microcode");
  out["cpu_cache_size"] = get("cache size");
  out["cpu_bogomips"] = get("bogomips");
  std::set<std::string> flags;
  {
    std::istringstream words(get("flags"));
    for (std::string w; words >> w;) flags.insert(w);
  }
  std::string features;
  for (const char* flag : {"avx2", "avx512f", "avx512_bf16", "avx512_vp2intersect", "sha_ni", "vaes", "erms",
                           "fsrm", "ibrs_enhanced", "constant_tsc", "nonstop_tsc", "hypervisor"}) {
    if (!flags.count(flag)) continue;
    if (!features.empty()) features += ' ';
    features += flag;
  }
  out["cpu_features"] = features;
  return out;
}

std::string format_size(size_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int unit = 0;
  while (unit < 3 && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return std::to_string(bytes) + units[unit];
}

std::vector<size_t> random_cycle(size_t n, unsigned long long seed) {
  // Sattolo's algorithm: like Fisher-Yates but j < i, which yields a single n-cycle.
  std::vector<size_t> next(n);
  std::iota(next.begin(), next.end(), size_t{0});
  std::mt19937_64 rng(seed);
  for (size_t i = n; i > 1; --i) {
    std::uniform_int_distribution<size_t> pick(0, i - 2);
    std::swap(next[i - 1], next[pick(rng)]);
  }
  return next;
}

fingerprint run_fingerprint(const fingerprint_options& options) {
  if (options.repetitions < 1) throw std::invalid_argument("fingerprint repetitions must be >= 1");
  if (options.seconds <= 0) throw std::invalid_argument("fingerprint seconds must be > 0");
  fingerprint fp;
  fp.cpu = options.cpu;
  fp.repetitions = options.repetitions;
  fp.system["clocksource"] = first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  fp.system["clocksources_available"] =
      first_line("/sys/devices/system/clocksource/clocksource0/available_clocksource");
  fp.system["transparent_hugepage"] = first_line("/sys/kernel/mm/transparent_hugepage/enabled");
  {
    std::ifstream in("/proc/cpuinfo");
    std::stringstream text;
    text << in.rdbuf();
    for (auto& [key, value] : cpu_identity(text.str())) fp.system[key] = value;
  }
  // Another kernel build may mitigate CPU vulnerabilities differently: syscalls, context
  // switches and indirect branches (interpreters, JITs) pay for it.
  {
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator("/sys/devices/system/cpu/vulnerabilities", ec)) {
      const std::string text = first_line(entry.path().string());
      if (text != "Not affected") fp.system["vulnerability_" + entry.path().filename().string()] = text;
    }
  }
  auto t0 = clock_type::now();

  const size_t full_figures = 6 + options.chase_bytes.size();
  const size_t short_figures = 2 * options.other_cpus.size();
  double slice_s = 0;

  std::map<std::string, std::vector<double>> samples;
  on_cpu(options.cpu, [&] {
    std::vector<chase_buffer> chases;
    for (size_t bytes : options.chase_bytes) chases.emplace_back(bytes);
    std::vector<uint64_t> stream(std::max<size_t>(8, options.bandwidth_bytes / sizeof(uint64_t)), 1);
    // The slices share what setting up the buffers left of the budget (90 % of it: each slice
    // overshoots a little), at least a millisecond each.
    slice_s = std::max(0.001, 0.9 * (options.seconds - seconds_since(t0)) /
                                  static_cast<double>((full_figures + short_figures) * options.repetitions));
    // Repetitions interleave the figures, so a disturbance of a moment spreads over all of them
    // instead of spoiling one figure's every sample.
    for (int rep = 0; rep < options.repetitions; ++rep) {
      samples["syscall_ns"].push_back(measure_syscall(slice_s));
      samples["clock_gettime_ns"].push_back(measure_clock(slice_s));
      samples["compute_ns"].push_back(measure_compute(slice_s));
      samples["context_switch_ns"].push_back(measure_context_switch(options.cpu, slice_s));
      for (size_t i = 0; i < chases.size(); ++i)
        samples["chase_" + format_size(options.chase_bytes[i]) + "_ns"].push_back(chases[i].measure(slice_s));
      samples["read_gbps"].push_back(measure_read_gbps(stream, slice_s));
      samples["copy_gbps"].push_back(measure_copy_gbps(stream, slice_s));
    }
  });
  for (auto& [name, values] : samples) fp.figures[name] = summarize_samples(values);

  for (int cpu : options.other_cpus) {
    std::map<std::string, std::vector<double>> other;
    on_cpu(cpu, [&] {
      for (int rep = 0; rep < options.repetitions; ++rep) {
        other["syscall_ns"].push_back(measure_syscall(slice_s));
        other["compute_ns"].push_back(measure_compute(slice_s));
      }
    });
    for (auto& [name, values] : other) fp.other_cpus[cpu][name] = summarize_samples(values);
  }
  fp.wall_s = seconds_since(t0);
  return fp;
}

nlohmann::json fingerprint::to_json() const {
  nlohmann::json others = nlohmann::json::object();
  for (const auto& [c, figs] : other_cpus) others[std::to_string(c)] = figures_json(figs);
  nlohmann::json sys = nlohmann::json::object();
  for (const auto& [k, v] : system) sys[k] = v.empty() ? nlohmann::json(nullptr) : nlohmann::json(v);
  return {{"version", 1},
          {"cpu", cpu},
          {"repetitions", repetitions},
          {"wall_s", std::round(wall_s * 1000) / 1000},
          {"figures", figures_json(figures)},
          {"other_cpus", others},
          {"system", sys}};
}

fingerprint fingerprint_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("fingerprint is not an object");
  for (const char* key : {"cpu", "repetitions", "figures"})
    if (!j.contains(key)) throw std::invalid_argument(std::string("fingerprint has no '") + key + "'");
  fingerprint fp;
  fp.cpu = j["cpu"].get<int>();
  fp.repetitions = j["repetitions"].get<int>();
  fp.wall_s = j.value("wall_s", 0.0);
  if (!j["figures"].is_object()) throw std::invalid_argument("fingerprint 'figures' is not an object");
  for (const auto& [name, value] : j["figures"].items()) fp.figures[name] = stats_from_json(value, name);
  if (j.contains("other_cpus"))
    for (const auto& [c, figs] : j["other_cpus"].items())
      for (const auto& [name, value] : figs.items())
        fp.other_cpus[std::stoi(c)][name] = stats_from_json(value, name);
  if (j.contains("system"))
    for (const auto& [k, v] : j["system"].items()) fp.system[k] = v.is_string() ? v.get<std::string>() : "";
  return fp;
}

}  // namespace lab
