// thread_pool — Tomcat's classic BIO connector: a fixed pool of blocking worker threads takes
// accepted connections from a queue; each worker serves one connection until it closes.
// With more connections than workers, the extra ones wait in the queue (see README).
// A /gateway's parallel downstream calls go to a second pool, of caller threads
// (caller_pool.h), as a Java worker would hand them to an ExecutorService.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

#include "blocking_server.h"
#include "caller_pool.h"

namespace {

// Accepted sockets waiting for a free worker. Bounded: when full, the acceptor stops
// accepting and further clients wait in the kernel's listen backlog.
class connection_queue {
 public:
  explicit connection_queue(std::size_t limit) : limit_(limit) {}

  bool push(int fd) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [this] { return closed_ || queue_.size() < limit_; });
    if (closed_) return false;
    queue_.push_back(fd);
    not_empty_.notify_one();
    return true;
  }
  // -1 once closed.
  int pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [this] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) return -1;
    const int fd = queue_.front();
    queue_.pop_front();
    not_full_.notify_one();
    return fd;
  }
  // Wakes everyone; returns the sockets that never reached a worker.
  std::deque<int> close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
    return std::exchange(queue_, {});
  }

 private:
  const std::size_t limit_;
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<int> queue_;
  bool closed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"thread_pool: a fixed pool of blocking worker threads fed by an accept queue"};
  lab::server_options options;
  lab::add_server_options(app, options,
                          {.default_threads = 200,
                           .threads_help = "worker threads in the pool (Tomcat's maxThreads is 200)"});
  std::size_t queue_limit = 10000;
  app.add_option("--queue-limit", queue_limit, "accepted connections that may wait for a worker")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  lab::block_stop_signals();
  lab::blocking_listener listener(options);
  lab::downstream_client downstream(options);
  caller_pool callers(static_cast<std::size_t>(options.downstream_pool));
  lab::blocking_connections connections(
      options.idle_timeout(), downstream,
      [&callers](std::uint32_t count, const std::function<void(std::uint32_t)>& call,
                 lab::deadline_point deadline) { callers.run_all(count, call, deadline); });
  connection_queue queue(queue_limit);

  std::vector<std::thread> workers;
  for (int i = 0; i < options.threads; ++i)
    workers.emplace_back([&] {
      for (int fd; (fd = queue.pop()) >= 0;) connections.serve_connection(fd);
    });
  std::thread acceptor([&] {
    for (int fd; (fd = listener.accept()) >= 0;)
      if (!queue.push(fd)) ::close(fd);
  });
  lab::print_listening(options, listener.port(), "thread_pool",
                       "queue limit " + std::to_string(queue_limit) + ", up to " +
                           std::to_string(options.downstream_pool) + " downstream callers");

  lab::wait_for_stop_signal();
  listener.close();
  acceptor.join();
  for (const int fd : queue.close()) ::close(fd);
  connections.stop(std::chrono::seconds(2));
  for (auto& worker : workers) worker.join();
  return 0;
}
