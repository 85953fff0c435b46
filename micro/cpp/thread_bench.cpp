// OS threads (std::thread): create+join, switch over a pipe and over a futex-based condition
// variable (pinned to one CPU and unpinned), memory per idle thread, skynet at 10,000 leaves.
#include "micro_support.hpp"

#include <condition_variable>
#include <latch>
#include <mutex>
#include <optional>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

void thread_create_join(benchmark::State& state) {
  for (auto _ : state) {
    std::thread t([] {});
    t.join();
  }
  state.counters["per_iteration"] = 1;
}

// Ping-pong over two pipes, one byte each way: the partner blocks in read(), so every hand-off
// is a wake-up plus a context switch (Bendersky 2018 measures the same thing).
void thread_switch_pipe(benchmark::State& state, bool pinned) {
  int to_partner[2], to_main[2];
  if (pipe(to_partner) != 0 || pipe(to_main) != 0) {
    state.SkipWithError("pipe() failed");
    return;
  }
  const int cpu = micro::pin_target_cpu();
  std::thread partner([&] {
    std::optional<micro::scoped_pin> pin;
    if (pinned) pin.emplace(cpu);
    char c;
    while (read(to_partner[0], &c, 1) == 1) {  // 0 (end of file) when the main side closes
      if (write(to_main[1], &c, 1) != 1) break;
    }
  });
  {
    std::optional<micro::scoped_pin> pin;
    if (pinned) pin.emplace(cpu);
    char c = 'x';
    for (auto _ : state) {
      if (write(to_partner[1], &c, 1) != 1 || read(to_main[0], &c, 1) != 1) {
        state.SkipWithError("pipe hand-off failed");
        break;
      }
    }
  }
  close(to_partner[1]);
  partner.join();
  for (int fd : {to_partner[0], to_main[0], to_main[1]}) close(fd);
  state.counters["per_iteration"] = 2;
}

// Ping-pong through one mutex + condition variable (glibc: a futex wait/wake per hand-off,
// no spinning), with a turn flag saying whose move it is.
void thread_switch_futex(benchmark::State& state, bool pinned) {
  std::mutex mutex;
  std::condition_variable turn_changed;
  int turn = 0;  // 0: main thread's move, 1: partner's move
  bool stop = false;
  const int cpu = micro::pin_target_cpu();
  std::thread partner([&] {
    std::optional<micro::scoped_pin> pin;
    if (pinned) pin.emplace(cpu);
    std::unique_lock lock(mutex);
    for (;;) {
      turn_changed.wait(lock, [&] { return turn == 1 || stop; });
      if (stop) return;
      turn = 0;
      turn_changed.notify_one();
    }
  });
  {
    std::optional<micro::scoped_pin> pin;
    if (pinned) pin.emplace(cpu);
    for (auto _ : state) {
      std::unique_lock lock(mutex);
      turn = 1;
      turn_changed.notify_one();
      turn_changed.wait(lock, [&] { return turn == 0; });
    }
  }
  {
    std::lock_guard lock(mutex);
    stop = true;
  }
  turn_changed.notify_one();
  partner.join();
  state.counters["per_iteration"] = 2;
}

// 10,000 threads that have all started and block on one condition variable. Kernel memory
// (task_struct, the 16 KiB kernel stack) is not in RSS; see docs/micro-benchmarks.md.
void thread_memory_per_idle_unit(benchmark::State& state) {
  for (auto _ : state) {
    std::mutex mutex;
    std::condition_variable go_signal;
    bool go = false;
    std::latch started(micro::idle_units);
    std::vector<std::thread> threads;
    threads.reserve(micro::idle_units);
    const auto before = micro::read_statm();
    for (int i = 0; i < micro::idle_units; ++i) {
      threads.emplace_back([&] {
        std::unique_lock lock(mutex);
        started.count_down();
        go_signal.wait(lock, [&] { return go; });
      });
    }
    started.wait();
    const auto after = micro::read_statm();
    {
      std::lock_guard lock(mutex);
      go = true;
    }
    go_signal.notify_all();
    for (auto& t : threads) t.join();
    micro::report_memory(state, before, after, micro::idle_units);
  }
}

std::int64_t thread_skynet(std::int64_t num, std::int64_t size) {
  if (size == 1) return num;
  std::int64_t sums[10] = {};
  std::vector<std::thread> children;
  children.reserve(10);
  for (int i = 0; i < 10; ++i) {
    children.emplace_back([&sums, i, num, size] {
      sums[i] = thread_skynet(num + i * (size / 10), size / 10);
    });
  }
  std::int64_t sum = 0;
  for (int i = 0; i < 10; ++i) {
    children[i].join();
    sum += sums[i];
  }
  return sum;
}

void thread_skynet_bench(benchmark::State& state) {
  std::int64_t answer = 0;
  for (auto _ : state) answer = thread_skynet(0, micro::skynet_thread_leaves);
  micro::report_skynet(state, micro::skynet_thread_leaves, answer);
}

}  // namespace

BENCHMARK(thread_create_join)->Name("std_thread/create_join")->UseRealTime();
BENCHMARK_CAPTURE(thread_switch_pipe, pinned, true)->Name("std_thread/switch_pipe_pinned")->UseRealTime();
BENCHMARK_CAPTURE(thread_switch_pipe, unpinned, false)->Name("std_thread/switch_pipe_unpinned")->UseRealTime();
BENCHMARK_CAPTURE(thread_switch_futex, pinned, true)->Name("std_thread/switch_futex_pinned")->UseRealTime();
BENCHMARK_CAPTURE(thread_switch_futex, unpinned, false)->Name("std_thread/switch_futex_unpinned")->UseRealTime();
BENCHMARK(thread_memory_per_idle_unit)->Name("std_thread/memory_per_idle_unit")->Iterations(1)->UseRealTime();
BENCHMARK(thread_skynet_bench)->Name("std_thread/skynet")->Unit(benchmark::kMillisecond)->UseRealTime();
