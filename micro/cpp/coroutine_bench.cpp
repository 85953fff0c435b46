// C++20 coroutines (the lab's own minimal task/generator, coro.hpp): create+complete, switch
// (resume/suspend hand-offs), memory per suspended coroutine, skynet with a million leaves.
#include "coro.hpp"
#include "micro_support.hpp"

#include <vector>

namespace {

using micro::generator;
using micro::task;

task<int> empty_task() { co_return 1; }

void coroutine_create_join(benchmark::State& state) {
  for (auto _ : state) {
    auto t = empty_task();
    benchmark::DoNotOptimize(t.run());
  }
  state.counters["per_iteration"] = 1;
}

generator counter() {
  for (long i = 0;; ++i) co_yield i;
}

// One iteration = resume (caller -> coroutine) + co_yield (coroutine -> caller): two
// hand-offs. The "resume < 20 ns" expectation is checked against both together.
void coroutine_switch(benchmark::State& state) {
  auto g = counter();
  for (auto _ : state) benchmark::DoNotOptimize(g.next());
  state.counters["per_iteration"] = 2;
}

// An event that suspended coroutines wait on; set() resumes them all.
class event {
 public:
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> waiter) { waiters_.push_back(waiter); }
  void await_resume() const noexcept {}
  void set() {
    auto waiters = std::move(waiters_);
    for (auto h : waiters) h.resume();
  }
  void reserve(std::size_t n) { waiters_.reserve(n); }

 private:
  std::vector<std::coroutine_handle<>> waiters_;
};

task<int> waiter(event& e) {
  co_await e;
  co_return 1;
}

// 10,000 coroutines suspended on one event: RSS growth / 10,000. The frame is a heap
// allocation of frame_bytes; the task and waiter-list entries are included in the growth.
void coroutine_memory_per_idle_unit(benchmark::State& state) {
  for (auto _ : state) {
    event e;
    std::vector<task<int>> units;
    const auto before = micro::read_statm();
    units.reserve(micro::idle_units);
    e.reserve(micro::idle_units);
    for (int i = 0; i < micro::idle_units; ++i) {
      units.push_back(waiter(e));
      units.back().resume();
    }
    const auto after = micro::read_statm();
    e.set();
    for (auto& t : units) {
      if (!t.done()) state.SkipWithError("a waiting coroutine did not finish");
    }
    micro::report_memory(state, before, after, micro::idle_units);
  }
  state.counters["frame_bytes"] = static_cast<double>(micro::last_frame_bytes());
}

task<std::int64_t> coroutine_skynet(std::int64_t num, std::int64_t size) {
  if (size == 1) co_return num;
  std::int64_t sum = 0;
  for (int i = 0; i < 10; ++i) sum += co_await coroutine_skynet(num + i * (size / 10), size / 10);
  co_return sum;
}

void coroutine_skynet_bench(benchmark::State& state) {
  std::int64_t answer = 0;
  for (auto _ : state) answer = coroutine_skynet(0, micro::skynet_leaves).run();
  micro::report_skynet(state, micro::skynet_leaves, answer);
}

}  // namespace

BENCHMARK(coroutine_create_join)->Name("cpp20_coroutine/create_join");
BENCHMARK(coroutine_switch)->Name("cpp20_coroutine/switch");
BENCHMARK(coroutine_memory_per_idle_unit)->Name("cpp20_coroutine/memory_per_idle_unit")->Iterations(1);
BENCHMARK(coroutine_skynet_bench)->Name("cpp20_coroutine/skynet")->Unit(benchmark::kMillisecond);
