// Run-to-completion tasks: oneTBB (task_group in the default arena) and Asio handlers posted
// to an io_context run by one thread. Neither can switch away mid-function, so "switch" for
// Asio is one post-and-dispatch hand-off between two handlers, and TBB has no switch or idle
// measurement (a TBB task cannot wait without blocking its worker thread).
#include "micro_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <tbb/task_group.h>

#include <chrono>
#include <memory>
#include <vector>

namespace {

namespace asio = boost::asio;

void tbb_create_join(benchmark::State& state) {
  tbb::task_group group;
  group.run([] {});  // the first task starts TBB's worker threads: keep that out of the timing
  group.wait();
  for (auto _ : state) {
    group.run([] {});
    group.wait();
  }
  state.counters["per_iteration"] = 1;
}

std::int64_t tbb_skynet(std::int64_t num, std::int64_t size) {
  if (size == 1) return num;
  std::int64_t sums[10] = {};
  tbb::task_group children;
  for (int i = 0; i < 10; ++i) {
    children.run([&sums, i, num, size] { sums[i] = tbb_skynet(num + i * (size / 10), size / 10); });
  }
  children.wait();
  std::int64_t sum = 0;
  for (auto s : sums) sum += s;
  return sum;
}

void tbb_skynet_bench(benchmark::State& state) {
  std::int64_t answer = 0;
  for (auto _ : state) answer = tbb_skynet(0, micro::skynet_leaves);
  micro::report_skynet(state, micro::skynet_leaves, answer);
}

// post() one handler and run it: the event loop's "create and complete a unit of work".
void asio_create_join(benchmark::State& state) {
  asio::io_context io(1);
  auto guard = asio::make_work_guard(io);
  long ran = 0;
  for (auto _ : state) {
    asio::post(io, [&ran] { ++ran; });
    io.run_one();
  }
  if (ran != static_cast<long>(state.iterations())) state.SkipWithError("handlers lost");
  state.counters["per_iteration"] = 1;
}

// Two handlers that post each other; each run_one() executes one and queues the other.
struct ping_pong {
  asio::io_context& io;
  long hand_offs = 0;
  void ping() { ++hand_offs; asio::post(io, [this] { pong(); }); }
  void pong() { ++hand_offs; asio::post(io, [this] { ping(); }); }
};

void asio_switch(benchmark::State& state) {
  asio::io_context io(1);
  ping_pong players{io};
  asio::post(io, [&players] { players.ping(); });
  for (auto _ : state) io.run_one();
  state.counters["per_iteration"] = 1;
}

// 10,000 steady_timers with a pending async_wait: an event loop's idle unit (a waiting
// operation, like an idle keep-alive connection) is an object plus a queued handler.
void asio_memory_per_idle_unit(benchmark::State& state) {
  for (auto _ : state) {
    asio::io_context io(1);
    std::vector<std::unique_ptr<asio::steady_timer>> timers;
    long completed = 0;
    const auto before = micro::read_statm();
    timers.reserve(micro::idle_units);
    for (int i = 0; i < micro::idle_units; ++i) {
      timers.push_back(std::make_unique<asio::steady_timer>(io, std::chrono::hours(1)));
      timers.back()->async_wait([&completed](const boost::system::error_code&) { ++completed; });
    }
    io.poll();  // nothing is due: every unit stays waiting
    const auto after = micro::read_statm();
    for (auto& t : timers) t->cancel();
    io.run();
    if (completed != micro::idle_units) state.SkipWithError("timers did not all complete");
    micro::report_memory(state, before, after, micro::idle_units);
  }
}

// Skynet with callbacks on one io_context: a node posts its ten children; each result is
// reported to the parent node, which reports its sum upward when its tenth child is in.
struct skynet_node {
  skynet_node* parent;
  std::int64_t sum = 0;
  int pending = 10;
};

struct asio_skynet_run {
  asio::io_context& io;
  std::int64_t answer = 0;

  void report(skynet_node* parent, std::int64_t value) {
    if (parent == nullptr) {
      answer = value;
      return;
    }
    parent->sum += value;
    if (--parent->pending == 0) {
      std::unique_ptr<skynet_node> done(parent);
      report(done->parent, done->sum);
    }
  }
  void start(skynet_node* parent, std::int64_t num, std::int64_t size) {
    asio::post(io, [this, parent, num, size] {
      if (size == 1) return report(parent, num);
      auto* node = new skynet_node{parent};
      for (int i = 0; i < 10; ++i) start(node, num + i * (size / 10), size / 10);
    });
  }
};

void asio_skynet_bench(benchmark::State& state) {
  std::int64_t answer = 0;
  for (auto _ : state) {
    asio::io_context io(1);
    asio_skynet_run run{io};
    run.start(nullptr, 0, micro::skynet_leaves);
    io.run();
    answer = run.answer;
  }
  micro::report_skynet(state, micro::skynet_leaves, answer);
}

}  // namespace

BENCHMARK(tbb_create_join)->Name("tbb_task/create_join")->UseRealTime();
BENCHMARK(tbb_skynet_bench)->Name("tbb_task/skynet")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(asio_create_join)->Name("asio_post/create_join");
BENCHMARK(asio_switch)->Name("asio_post/switch");
BENCHMARK(asio_memory_per_idle_unit)->Name("asio_post/memory_per_idle_unit")->Iterations(1);
BENCHMARK(asio_skynet_bench)->Name("asio_post/skynet")->Unit(benchmark::kMillisecond);
