// A minimal C++20 coroutine task and generator, just enough for the micro-benchmarks.
//
// task<T>: lazily started; `co_await task` starts it and resumes the awaiter when it finishes
// (symmetric transfer, so deep chains do not grow the stack); `run()` drives a top-level task
// to completion from ordinary code. generator: `next()` resumes until the next co_yield.
// frame_bytes() is the size of the most recently allocated coroutine frame (for the memory
// report). Not thread-safe: a task is created, run and destroyed on one thread.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <new>
#include <utility>

namespace micro {

inline std::size_t& last_frame_bytes() {
  static std::size_t bytes = 0;
  return bytes;
}

// Coroutine frames are allocated through this, so that their size can be reported.
struct frame_allocation {
  static void* operator new(std::size_t bytes) {
    last_frame_bytes() = bytes;
    return ::operator new(bytes);
  }
  static void operator delete(void* frame, std::size_t bytes) { ::operator delete(frame, bytes); }
};

template <class T>
class task {
 public:
  struct promise_type : frame_allocation {
    T value_{};
    std::coroutine_handle<> continuation_ = std::noop_coroutine();

    task get_return_object() { return task(handle::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct final_awaiter {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> done) noexcept {
        return done.promise().continuation_;
      }
      void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
    void return_value(T value) { value_ = std::move(value); }
    void unhandled_exception() { std::terminate(); }
  };
  using handle = std::coroutine_handle<promise_type>;

  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  ~task() {
    if (handle_) handle_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    handle_.promise().continuation_ = awaiter;
    return handle_;
  }
  T await_resume() { return std::move(handle_.promise().value_); }

  // Starts (or continues) the task from non-coroutine code; returns when it next suspends.
  void resume() { handle_.resume(); }
  bool done() const { return handle_.done(); }
  // Runs a top-level task that never waits on anything outside itself, returns its value.
  T run() {
    handle_.resume();
    return std::move(handle_.promise().value_);
  }

 private:
  explicit task(handle h) : handle_(h) {}
  handle handle_;
};

class generator {
 public:
  struct promise_type : frame_allocation {
    long current_ = 0;
    generator get_return_object() { return generator(handle::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    std::suspend_always yield_value(long value) noexcept {
      current_ = value;
      return {};
    }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
  using handle = std::coroutine_handle<promise_type>;

  generator(generator&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  generator& operator=(generator&&) = delete;
  ~generator() {
    if (handle_) handle_.destroy();
  }
  // Resumes the coroutine until its next co_yield; returns the yielded value.
  long next() {
    handle_.resume();
    return handle_.promise().current_;
  }

 private:
  explicit generator(handle h) : handle_(h) {}
  handle handle_;
};

}  // namespace micro
