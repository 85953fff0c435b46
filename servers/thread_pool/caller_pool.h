// caller_pool.h — thread_pool's answer to "how does a blocking worker make K downstream calls
// at once?": a shared pool of blocking caller threads, as Java's ExecutorService would be. A
// worker hands its K calls over as one batch and waits; callers take the calls one by one.
// Threads are started on demand, up to `max_threads` (the --downstream-pool size: more
// callers than connections would only wait for a connection), and then kept.
// Thread-safe; the destructor stops and joins every caller (no batch may still be running).
#pragma once
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "downstream_client.h"

class caller_pool {
 public:
  explicit caller_pool(std::size_t max_threads) : max_threads_(max_threads) {}
  ~caller_pool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_.notify_all();
    for (auto& thread : threads_) thread.join();
  }
  caller_pool(const caller_pool&) = delete;
  caller_pool& operator=(const caller_pool&) = delete;

  // Runs call(i) for i in [0, count) on the callers and waits for them. At the deadline, calls
  // no caller has picked up yet are dropped (they would fail at once anyway) and only the
  // running ones, which end by the deadline themselves, are waited for.
  void run_all(std::uint32_t count, const std::function<void(std::uint32_t)>& call,
               lab::deadline_point deadline) {
    batch b{&call, count, count, 0, {}};
    std::unique_lock lock(mutex_);
    queue_.push_back(&b);
    // One idle caller per call, or as many as the limit allows.
    const std::size_t wanted = std::min<std::size_t>(count, max_threads_);
    while (idle_ < wanted && threads_.size() < max_threads_) {
      threads_.emplace_back([this] { serve(); });
      ++idle_;  // counted as idle from now on, so the next batch does not start more
    }
    work_.notify_all();
    const auto finished = [&b] { return b.unfinished == 0; };
    if (deadline && !b.done.wait_until(lock, *deadline, finished)) {
      if (const auto at = std::find(queue_.begin(), queue_.end(), &b); at != queue_.end()) {
        queue_.erase(at);
        b.unfinished -= b.count - b.next;  // never started
        b.next = b.count;
      }
    }
    b.done.wait(lock, finished);
  }

 private:
  struct batch {
    const std::function<void(std::uint32_t)>* call;
    std::uint32_t count;
    std::uint32_t unfinished;
    std::uint32_t next = 0;
    std::condition_variable done;
  };

  void serve() {
    std::unique_lock lock(mutex_);
    for (;;) {
      work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      batch* b = queue_.front();
      const std::uint32_t index = b->next++;
      if (b->next == b->count) queue_.pop_front();
      --idle_;
      lock.unlock();
      (*b->call)(index);
      lock.lock();
      ++idle_;
      if (--b->unfinished == 0) b->done.notify_all();
    }
  }

  const std::size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable work_;
  std::deque<batch*> queue_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};
