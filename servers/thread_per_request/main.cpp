// thread_per_request — the classic Apache/Java model: blocking sockets and one OS thread per
// accepted connection, which serves that connection's requests one after another. A /gateway
// fans out the same way: a thread per parallel downstream call, joined before the answer.
#include <thread>
#include <vector>

#include "blocking_server.h"

int main(int argc, char** argv) {
  CLI::App app{"thread_per_request: one OS thread per connection, blocking I/O"};
  lab::server_options options;
  lab::add_server_options(app, options,
                          {.default_threads = 1,
                           .threads_help = "accepted for uniformity; threads follow connections"});
  CLI11_PARSE(app, argc, argv);

  lab::block_stop_signals();  // before any thread exists, so every thread inherits the mask
  lab::blocking_listener listener(options);
  lab::downstream_client downstream(options);
  // A thread per parallel call, joined when the vector goes out of scope: they return by the
  // deadline on their own (poll with the time left) or when a failure cancels them.
  const lab::parallel_runner thread_per_call = [](std::uint32_t count,
                                                  const std::function<void(std::uint32_t)>& call,
                                                  lab::deadline_point) {
    std::vector<std::jthread> threads;
    threads.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
      try {
        threads.emplace_back(call, i);
      } catch (const std::system_error&) {  // out of threads: this one makes the call itself
        call(i);
      }
    }
  };
  lab::blocking_connections connections(options.idle_timeout(), downstream, thread_per_call);

  std::thread acceptor([&] {
    for (int fd; (fd = listener.accept()) >= 0;)
      // Detached: the thread's whole life is its connection; stop() waits for them all,
      // admitted here so that it also waits for a thread that has not started yet.
      if (connections.admit(fd))
        std::thread([&connections, fd] { connections.serve_admitted(fd); }).detach();
  });
  lab::print_listening(options, listener.port(), "thread_per_request",
                       "a thread per connection and per downstream call");

  lab::wait_for_stop_signal();
  listener.close();
  acceptor.join();
  connections.stop(std::chrono::seconds(2));
  return 0;
}
