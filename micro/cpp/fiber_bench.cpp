// Stackful fibers: Boost.Fiber (with its scheduler) and raw Boost.Context (the floor a fiber
// switch cannot go below). Create+join, switch, memory per idle unit by stack size, skynet.
#include "micro_support.hpp"

#include <boost/context/fiber.hpp>
#include <boost/context/fixedsize_stack.hpp>
#include <boost/fiber/all.hpp>

#include <vector>

namespace {

namespace ctx = boost::context;
namespace fibers = boost::fibers;

void fiber_create_join(benchmark::State& state) {
  for (auto _ : state) {
    fibers::fiber f([] {});
    f.join();
  }
  state.counters["per_iteration"] = 1;
  state.counters["stack_size"] = static_cast<double>(ctx::stack_traits::default_size());
}

// The benchmark thread's main fiber and one partner fiber yield to each other: with the
// default round-robin scheduler each yield hands the CPU to the other fiber.
void fiber_switch(benchmark::State& state) {
  bool stop = false;
  fibers::fiber partner([&] {
    while (!stop) boost::this_fiber::yield();
  });
  for (auto _ : state) boost::this_fiber::yield();
  stop = true;
  partner.join();
  state.counters["per_iteration"] = 2;
}

// 10,000 fibers with the given stack size, all started and blocked on one fiber condition
// variable. Stacks come from fixedsize_stack (malloc): pages never touched are not resident.
void fiber_memory_per_idle_unit(benchmark::State& state) {
  const auto stack_size = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    fibers::mutex mutex;
    fibers::condition_variable changed;
    int started = 0;
    bool go = false;
    std::vector<fibers::fiber> units;
    units.reserve(micro::idle_units);
    const auto before = micro::read_statm();
    for (int i = 0; i < micro::idle_units; ++i) {
      units.emplace_back(std::allocator_arg, fibers::fixedsize_stack(stack_size), [&] {
        std::unique_lock lock(mutex);
        if (++started == micro::idle_units) changed.notify_all();
        changed.wait(lock, [&] { return go; });
      });
    }
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return started == micro::idle_units; });
    }
    const auto after = micro::read_statm();
    {
      std::unique_lock lock(mutex);
      go = true;
    }
    changed.notify_all();
    for (auto& f : units) f.join();
    micro::report_memory(state, before, after, micro::idle_units);
  }
  state.counters["stack_size"] = static_cast<double>(stack_size);
}

// Each child is launched with launch::dispatch (it runs at once) and joined before the next
// one starts, so the tree is walked depth-first and only ~7 fibers are alive at a time. The
// classic shape — start ten children, then join ten — keeps almost the whole tree of 1.1 M
// fibers alive with Boost.Fiber's FIFO scheduler (gigabytes of stacks, ~30 s here), which is
// not what a micro-benchmark of the primitive should measure. The C++20 coroutine skynet has
// the same depth-first shape; see docs/micro-benchmarks.md. Stacks come from a pool of 16 KiB
// stacks: the default 128 KiB malloc'ed stack makes glibc map and unmap memory for many
// fibers, and the run measures page faults rather than fibers.
inline constexpr std::size_t skynet_stack_size = 16 << 10;

std::int64_t fiber_skynet(fibers::pooled_fixedsize_stack& stacks, std::int64_t num,
                          std::int64_t size) {
  if (size == 1) return num;
  std::int64_t sum = 0;
  for (int i = 0; i < 10; ++i) {
    std::int64_t child_sum = 0;
    fibers::fiber child(fibers::launch::dispatch, std::allocator_arg, stacks,
                        [&stacks, &child_sum, i, num, size] {
                          child_sum = fiber_skynet(stacks, num + i * (size / 10), size / 10);
                        });
    child.join();
    sum += child_sum;
  }
  return sum;
}

void fiber_skynet_bench(benchmark::State& state) {
  fibers::pooled_fixedsize_stack stacks(skynet_stack_size);
  std::int64_t answer = 0;
  for (auto _ : state) answer = fiber_skynet(stacks, 0, micro::skynet_leaves);
  micro::report_skynet(state, micro::skynet_leaves, answer);
  state.counters["stack_size"] = static_cast<double>(skynet_stack_size);
}

// Raw Boost.Context: create a fiber (allocates its stack), run it to completion.
void context_create_join(benchmark::State& state) {
  for (auto _ : state) {
    ctx::fiber f([](ctx::fiber&& caller) { return std::move(caller); });
    f = std::move(f).resume();
    benchmark::DoNotOptimize(f);
  }
  state.counters["per_iteration"] = 1;
  state.counters["stack_size"] = static_cast<double>(ctx::stack_traits::default_size());
}

// Main context and one fiber resume each other: two fcontext switches per iteration.
void context_switch(benchmark::State& state) {
  bool stop = false;
  ctx::fiber partner([&stop](ctx::fiber&& caller) {
    while (!stop) caller = std::move(caller).resume();
    return std::move(caller);
  });
  for (auto _ : state) partner = std::move(partner).resume();
  stop = true;
  partner = std::move(partner).resume();
  state.counters["per_iteration"] = 2;
}

// 10,000 contexts with the default fixedsize stack, each resumed once so that it is suspended
// inside its own function (its top stack page touched).
void context_memory_per_idle_unit(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<ctx::fiber> units;
    units.reserve(micro::idle_units);
    bool go = false;
    const auto before = micro::read_statm();
    for (int i = 0; i < micro::idle_units; ++i) {
      ctx::fiber f([&go](ctx::fiber&& caller) {
        while (!go) caller = std::move(caller).resume();
        return std::move(caller);
      });
      units.push_back(std::move(f).resume());
    }
    const auto after = micro::read_statm();
    go = true;
    for (auto& f : units) f = std::move(f).resume();
    micro::report_memory(state, before, after, micro::idle_units);
  }
  state.counters["stack_size"] = static_cast<double>(ctx::stack_traits::default_size());
}

}  // namespace

BENCHMARK(fiber_create_join)->Name("boost_fiber/create_join");
BENCHMARK(fiber_switch)->Name("boost_fiber/switch");
BENCHMARK(fiber_memory_per_idle_unit)->Name("boost_fiber/memory_per_idle_unit")
    ->ArgName("stack_size")->Arg(8 << 10)->Arg(64 << 10)->Arg(256 << 10)->Arg(1 << 20)
    ->Iterations(1);
BENCHMARK(fiber_skynet_bench)->Name("boost_fiber/skynet")->Unit(benchmark::kMillisecond);
BENCHMARK(context_create_join)->Name("boost_context/create_join");
BENCHMARK(context_switch)->Name("boost_context/switch");
BENCHMARK(context_memory_per_idle_unit)->Name("boost_context/memory_per_idle_unit")->Iterations(1);
