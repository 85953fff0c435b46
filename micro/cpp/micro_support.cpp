#include "micro_support.hpp"

#include <fstream>
#include <pthread.h>
#include <string>
#include <unistd.h>

namespace micro {

memory_snapshot read_statm() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size_pages = 0, resident_pages = 0;
  statm >> size_pages >> resident_pages;
  const std::int64_t page = sysconf(_SC_PAGESIZE);
  return {resident_pages * page, size_pages * page};
}

void report_memory(benchmark::State& state, const memory_snapshot& before,
                   const memory_snapshot& after, std::int64_t units) {
  state.counters["units"] = static_cast<double>(units);
  state.counters["bytes_per_unit"] =
      static_cast<double>(after.resident_bytes - before.resident_bytes) / units;
  state.counters["virtual_bytes_per_unit"] =
      static_cast<double>(after.virtual_bytes - before.virtual_bytes) / units;
  if (after.resident_bytes <= before.resident_bytes) {
    state.SkipWithError("RSS did not grow: the units were not measured");
  }
}

scoped_pin::scoped_pin(int cpu) {
  restore_ = pthread_getaffinity_np(pthread_self(), sizeof previous_, &previous_) == 0;
  cpu_set_t only{};
  CPU_ZERO(&only);
  CPU_SET(cpu, &only);
  pthread_setaffinity_np(pthread_self(), sizeof only, &only);
}

scoped_pin::~scoped_pin() {
  if (restore_) pthread_setaffinity_np(pthread_self(), sizeof previous_, &previous_);
}

int pin_target_cpu() {
  const int cpu = sched_getcpu();
  return cpu < 0 ? 0 : cpu;
}

void report_skynet(benchmark::State& state, std::int64_t leaves, std::int64_t answer) {
  state.counters["leaves"] = static_cast<double>(leaves);
  state.counters["answer"] = static_cast<double>(answer);
  if (answer != skynet_expected(leaves)) {
    state.SkipWithError(("skynet answer wrong: " + std::to_string(answer)).c_str());
  }
}

}  // namespace micro
