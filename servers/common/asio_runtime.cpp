#include "asio_runtime.h"

#include <csignal>

namespace lab {

io_context_pool::io_context_pool(int threads) {
  for (int i = 0; i < threads; ++i)
    // Concurrency hint 1: each context is run by exactly one thread.
    contexts_.push_back(std::make_unique<asio::io_context>(1));
}

asio::io_context& io_context_pool::next() {
  asio::io_context& context = *contexts_[next_];
  next_ = (next_ + 1) % contexts_.size();
  return context;
}

void io_context_pool::run() {
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
  for (auto& context : contexts_) keep_running.push_back(asio::make_work_guard(*context));
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < contexts_.size(); ++i)
    threads.emplace_back([&context = *contexts_[i]] { context.run(); });
  contexts_.front()->run();
  for (auto& thread : threads) thread.join();
}

void io_context_pool::stop() {
  for (auto& context : contexts_) context->stop();
}

tcp_acceptor::tcp_acceptor(io_context_pool& pool, const server_options& options,
                           connection_handler on_connection)
    : pool_(pool),
      acceptor_(pool.first()),
      signals_(pool.first(), SIGINT, SIGTERM),
      on_connection_(std::move(on_connection)) {
  const tcp::endpoint endpoint(asio::ip::make_address(options.host), options.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void tcp_acceptor::start() {
  signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    pool_.stop();
  });
  do_accept();
}

void tcp_acceptor::do_accept() {
  acceptor_.async_accept(pool_.next(), [this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;  // closed by a stop signal
    if (!ec) {
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      on_connection_(std::move(socket));
    }
    do_accept();
  });
}

struct idle_watchdog::state {
  asio::steady_timer timer;
  tcp::socket* socket;
  std::chrono::seconds timeout;
  std::chrono::steady_clock::time_point waiting_since{};
  bool waiting = false;
  bool stopped = false;

  state(tcp::socket& s, std::chrono::seconds t) : timer(s.get_executor()), socket(&s), timeout(t) {}
};

idle_watchdog::idle_watchdog(tcp::socket& socket, std::chrono::seconds timeout)
    : state_(std::make_shared<state>(socket, timeout)) {
  schedule(state_, std::chrono::steady_clock::now() + timeout);
}

idle_watchdog::~idle_watchdog() {
  // The timer's handler may already be queued; `stopped` keeps it off the (gone) socket.
  state_->stopped = true;
  state_->timer.cancel();
}

void idle_watchdog::waiting_for_request() {
  state_->waiting = true;
  state_->waiting_since = std::chrono::steady_clock::now();
}

void idle_watchdog::busy() { state_->waiting = false; }

void idle_watchdog::schedule(const std::shared_ptr<state>& s, std::chrono::steady_clock::time_point at) {
  s->timer.expires_at(at);
  s->timer.async_wait([s](const boost::system::error_code& ec) {
    if (ec || s->stopped) return;
    const auto now = std::chrono::steady_clock::now();
    if (s->waiting && now - s->waiting_since >= s->timeout) {
      boost::system::error_code ignored;
      s->socket->shutdown(tcp::socket::shutdown_both, ignored);
      s->socket->close(ignored);  // the pending read completes with operation_aborted
      return;
    }
    schedule(s, s->waiting ? s->waiting_since + s->timeout : now + s->timeout);
  });
}

compute_offload::compute_offload(bool enabled) : enabled_(enabled) {
  if (enabled_) arena_.initialize();
}

compute_offload::~compute_offload() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return in_flight_ == 0; });
}

void compute_offload::task_started() {
  std::lock_guard lock(mutex_);
  ++in_flight_;
}

void compute_offload::task_finished() {
  // Notified under the lock: once the destructor sees 0 this object may be gone, so nothing of
  // it may be touched after the unlock.
  std::lock_guard lock(mutex_);
  if (--in_flight_ == 0) idle_.notify_all();
}

int run_asio_server(const server_options& options, const std::string& model,
                    const std::string& details, const connection_starter& start_connection) {
  io_context_pool pool(options.threads);
  compute_offload offload(options.offload_tbb);
  tcp_acceptor acceptor(pool, options,
                        [&](tcp::socket socket) { start_connection(std::move(socket), offload); });
  acceptor.start();
  print_listening(options, acceptor.port(), model,
                  (details.empty() ? "" : details + ", ") +
                      (options.offload_tbb ? "compute offloaded to oneTBB" : "compute inline"));
  pool.run();
  return 0;
}

}  // namespace lab
