// uring.h — the io_uring server's thin layer over liburing: a ring that batches submissions,
// a ring-mapped provided-buffer group, and the probe that finds out, once at start, which
// completion features this kernel has (multishot accept, multishot receive with provided
// buffers). The server falls back to one-shot accept and one-shot receive into its own
// buffer where a feature is missing, and prints what it used.
//
// Completions carry a pointer to a `completion` (user_data); user_data 0 marks an operation
// whose completion nobody needs (a cancel request). Thread-safety: a ring and its buffer
// group belong to the one thread that created them (the ring is set up SINGLE_ISSUER).
#pragma once
#include <liburing.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace lab::uring {

// What an operation's owner does with its completion queue entry.
struct completion {
  virtual void complete(const io_uring_cqe& cqe) = 0;

 protected:
  ~completion() = default;
};

struct features {
  bool multishot_accept = false;
  bool multishot_recv = false;     // implies ring-mapped provided buffers
  bool provided_buffers = false;   // IORING_REGISTER_PBUF_RING
  bool single_issuer = false;      // IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN
  std::string describe() const;    // e.g. "multishot accept, multishot recv + ring-mapped buffers, ..."
};

// Creates probe rings and sockets on 127.0.0.1 to see what the kernel does (not what its
// version promises). nullopt plus `error` when no ring can be created at all (io_uring
// disabled by the sysctl or a seccomp filter, or a kernel without it).
std::optional<features> probe_features(std::string& error);

class ring {
 public:
  // `entries` submission slots; single_issuer asks for SINGLE_ISSUER|DEFER_TASKRUN (the
  // completions then run only inside wait(), on this thread). Throws std::system_error.
  ring(unsigned entries, bool single_issuer);
  ~ring();
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;

  // A zeroed submission slot tagged with `owner` (nullptr: completion ignored). Submits the
  // queued ones first when the queue is full, so it never fails.
  io_uring_sqe* prepare(completion* owner);
  // Submits what was prepared and waits for at least one completion (one io_uring_enter),
  // then calls complete() for every completion queued. Returns how many it handled.
  unsigned run_once();
  // Asks the kernel to cancel the operation tagged `owner` (its completion gets -ECANCELED).
  void cancel(completion* owner);

  io_uring* get() { return &ring_; }
  std::uint64_t enter_calls() const { return enter_calls_; }

 private:
  io_uring ring_;
  std::uint64_t enter_calls_ = 0;
};

// A group of `count` buffers of `size` bytes the kernel fills on receive (ring-mapped:
// handing a buffer back is a store to shared memory, no system call).
class buffer_group {
 public:
  static constexpr std::uint16_t group_id = 0;
  // Throws std::system_error when the kernel cannot register it (before 5.19).
  buffer_group(ring& r, unsigned count, unsigned size);
  ~buffer_group();
  buffer_group(const buffer_group&) = delete;
  buffer_group& operator=(const buffer_group&) = delete;

  // The bytes a receive completion with IORING_CQE_F_BUFFER delivered.
  std::span<const char> received(const io_uring_cqe& cqe) const;
  // Gives the buffer of that completion back to the kernel.
  void recycle(const io_uring_cqe& cqe);

 private:
  ring& ring_;
  io_uring_buf_ring* buffers_ = nullptr;
  char* memory_ = nullptr;
  unsigned count_, size_;
};

}  // namespace lab::uring
