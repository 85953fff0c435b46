#include "uring.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace lab::uring {
namespace {

constexpr unsigned setup_single_issuer = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;

[[noreturn]] void throw_errno(int error, const char* what) {
  throw std::system_error(error, std::generic_category(), what);
}

// Closes a descriptor at scope exit (the probe's sockets).
struct scoped_fd {
  int fd = -1;
  ~scoped_fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct result {
  int res;
  unsigned flags;
};

// The first completion within 1 s, or nullopt.
std::optional<result> wait_one(io_uring* r) {
  io_uring_submit(r);
  __kernel_timespec limit{.tv_sec = 1, .tv_nsec = 0};
  io_uring_cqe* cqe = nullptr;
  if (io_uring_wait_cqe_timeout(r, &cqe, &limit) < 0 || cqe == nullptr) return std::nullopt;
  const result copy{cqe->res, cqe->flags};
  io_uring_cqe_seen(r, cqe);
  return copy;
}

bool probe_multishot_recv(ring& r) {
  try {
    buffer_group buffers(r, 2, 64);
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return false;
    scoped_fd a{pair[0]}, b{pair[1]};
    if (::write(b.fd, "x", 1) != 1) return false;
    io_uring_sqe* sqe = r.prepare(nullptr);
    io_uring_prep_recv_multishot(sqe, a.fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffer_group::group_id;
    const auto cqe = wait_one(r.get());
    const bool works = cqe && cqe->res == 1 && (cqe->flags & IORING_CQE_F_MORE);
    if (works) {  // end it before the buffers go: closing the peer ends it with res 0
      ::close(b.fd);
      b.fd = -1;
      wait_one(r.get());
    }
    return works;
  } catch (const std::system_error&) {
    return false;  // no ring-mapped buffers
  }
}

bool probe_multishot_accept(ring& r) {
  scoped_fd listener{::socket(AF_INET, SOCK_STREAM, 0)}, client{::socket(AF_INET, SOCK_STREAM, 0)};
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener.fd < 0 || client.fd < 0 || ::bind(listener.fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener.fd, 4) != 0 ||
      ::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      ::connect(client.fd, reinterpret_cast<sockaddr*>(&address), length) != 0)
    return false;
  io_uring_prep_multishot_accept(r.prepare(nullptr), listener.fd, nullptr, nullptr, 0);
  const auto cqe = wait_one(r.get());
  if (cqe && cqe->res >= 0) ::close(cqe->res);
  // Still armed when works; closing the listener (scope exit) ends it.
  return cqe && cqe->res >= 0 && (cqe->flags & IORING_CQE_F_MORE);
}

}  // namespace

std::string features::describe() const {
  std::string out = multishot_accept ? "multishot accept" : "one-shot accept";
  out += multishot_recv ? ", multishot recv into ring-mapped buffers" : ", one-shot recv into the connection's buffer";
  out += single_issuer ? ", single-issuer ring with deferred task work" : ", shared-issuer ring";
  return out;
}

std::optional<features> probe_features(std::string& error) {
  features found;
  std::optional<ring> r;
  try {
    r.emplace(8, true);
    found.single_issuer = true;
  } catch (const std::system_error&) {
    try {
      r.emplace(8, false);
    } catch (const std::system_error& e) {
      error = e.what();
      return std::nullopt;
    }
  }
  found.multishot_recv = probe_multishot_recv(*r);
  found.provided_buffers = found.multishot_recv;
  found.multishot_accept = probe_multishot_accept(*r);
  return found;
}

ring::ring(unsigned entries, bool single_issuer) {
  const int result = io_uring_queue_init(entries, &ring_, single_issuer ? setup_single_issuer : 0);
  if (result < 0) throw_errno(-result, "io_uring_queue_init");
}

ring::~ring() { io_uring_queue_exit(&ring_); }

io_uring_sqe* ring::prepare(completion* owner) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    ++enter_calls_;
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) throw_errno(EBUSY, "io_uring submission queue full");
  }
  std::memset(sqe, 0, sizeof *sqe);
  io_uring_sqe_set_data(sqe, owner);
  return sqe;
}

void ring::cancel(completion* owner) {
  io_uring_prep_cancel(prepare(nullptr), owner, 0);
}

unsigned ring::run_once() {
  ++enter_calls_;
  const int submitted = io_uring_submit_and_wait(&ring_, 1);
  if (submitted < 0 && submitted != -EINTR && submitted != -EAGAIN && submitted != -EBUSY)
    throw_errno(-submitted, "io_uring_submit_and_wait");
  unsigned handled = 0;
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(&ring_, &cqe) == 0 && cqe != nullptr) {
    const io_uring_cqe copy = *cqe;
    io_uring_cqe_seen(&ring_, cqe);  // before complete(): it may free the owner
    if (auto* owner = static_cast<completion*>(io_uring_cqe_get_data(&copy))) owner->complete(copy);
    ++handled;
  }
  return handled;
}

buffer_group::buffer_group(ring& r, unsigned count, unsigned size) : ring_(r), count_(count), size_(size) {
  const std::size_t ring_bytes = count * sizeof(io_uring_buf);
  void* mapped = ::mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) throw_errno(errno, "mmap (buffer ring)");
  buffers_ = static_cast<io_uring_buf_ring*>(mapped);
  io_uring_buf_reg registration{};
  registration.ring_addr = reinterpret_cast<std::uint64_t>(buffers_);
  registration.ring_entries = count;
  registration.bgid = group_id;
  if (const int result = io_uring_register_buf_ring(r.get(), &registration, 0); result < 0) {
    ::munmap(buffers_, ring_bytes);
    throw_errno(-result, "io_uring_register_buf_ring");
  }
  memory_ = new char[std::size_t{count} * size];
  io_uring_buf_ring_init(buffers_);
  const int mask = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; ++i)
    io_uring_buf_ring_add(buffers_, memory_ + std::size_t{i} * size, size, static_cast<unsigned short>(i), mask,
                          static_cast<int>(i));
  io_uring_buf_ring_advance(buffers_, static_cast<int>(count));
}

buffer_group::~buffer_group() {
  io_uring_unregister_buf_ring(ring_.get(), group_id);
  ::munmap(buffers_, count_ * sizeof(io_uring_buf));
  delete[] memory_;
}

std::span<const char> buffer_group::received(const io_uring_cqe& cqe) const {
  const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  return {memory_ + std::size_t{id} * size_, static_cast<std::size_t>(cqe.res > 0 ? cqe.res : 0)};
}

void buffer_group::recycle(const io_uring_cqe& cqe) {
  const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  io_uring_buf_ring_add(buffers_, memory_ + std::size_t{id} * size_, size_, static_cast<unsigned short>(id),
                        io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(buffers_, 1);
}

}  // namespace lab::uring
