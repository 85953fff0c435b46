// Helpers shared by the C++ micro-benchmarks: process memory from /proc/self/statm, CPU
// pinning, the skynet answer, and the conventions every benchmark follows when it reports.
//
// Reporting conventions (micro/run reads these from Google Benchmark's JSON, never its text):
//   name            "<primitive>/<measurement>[/<arg>:<value>]", the vocabulary of
//                   docs/results-schema.md
//   per_iteration   how many units (hand-offs, creations) one benchmark iteration performs;
//                   micro/run divides real time per iteration by it
//   bytes_per_unit  memory benchmarks: RSS growth / units; virtual_bytes_per_unit likewise
//   leaves, answer  skynet: the tree size and the sum it computed (checked by micro/run)
// Not thread-safe unless a function says so; each benchmark calls them from its own thread.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <sched.h>

namespace micro {

// Resident and virtual size of this process in bytes (fields 2 and 1 of /proc/self/statm).
struct memory_snapshot {
  std::int64_t resident_bytes = 0;
  std::int64_t virtual_bytes = 0;
};
memory_snapshot read_statm();

// Records the memory counters for `units` idle units between two snapshots.
void report_memory(benchmark::State& state, const memory_snapshot& before,
                   const memory_snapshot& after, std::int64_t units);

// Pins the calling thread to one CPU for its lifetime; restores the old mask on destruction.
// "Pinned" in the thread switch benchmarks means both threads on the same CPU.
class scoped_pin {
 public:
  explicit scoped_pin(int cpu);
  ~scoped_pin();
  scoped_pin(const scoped_pin&) = delete;
  scoped_pin& operator=(const scoped_pin&) = delete;

 private:
  cpu_set_t previous_{};
  bool restore_ = false;
};

// The CPU both threads of a pinned ping-pong share: the CPU the benchmark thread is on now.
int pin_target_cpu();

// Sum of 0..leaves-1: what skynet must return.
constexpr std::int64_t skynet_expected(std::int64_t leaves) { return leaves * (leaves - 1) / 2; }

// Marks the run as failed (micro/run then fails the check) when skynet computed `answer`.
void report_skynet(benchmark::State& state, std::int64_t leaves, std::int64_t answer);

// How many units the memory benchmarks start (the issue: 10,000).
inline constexpr int idle_units = 10'000;
// Leaves in the skynet tree for primitives that can afford a million units, and for threads.
inline constexpr std::int64_t skynet_leaves = 1'000'000;
inline constexpr std::int64_t skynet_thread_leaves = 10'000;

}  // namespace micro
