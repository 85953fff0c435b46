// What one lab_load run is asked to do, checked before anything is sent: the target URL
// (loopback only), the mode (open loop at a rate, or closed loop over N connections), and the
// bounds of the run. make_load_options turns raw command-line values into load_options or
// throws std::invalid_argument with a message that names the offending option. Pure functions,
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>
#include <string>

namespace lab::load {

struct target_url {
  std::string text;      // as given
  std::string host;      // as written in the URL ("localhost", "127.0.0.1", "::1")
  std::string address;   // numeric address to connect to ("127.0.0.1", "::1")
  int port = 80;
  std::string target;    // request target: path plus query, "/" at least
  std::string host_header() const;  // "host:port", with brackets for IPv6
};

// Parses http://host[:port][/path][?query]. Only loopback hosts are accepted: 127.0.0.0/8,
// ::1 (written [::1]) and localhost (connected to as 127.0.0.1), and the addresses in `allowed`
// (the hosts of a --hosts file). Throws std::invalid_argument.
target_url parse_target_url(const std::string& url, const std::vector<std::string>& allowed = {});

// The "address" of every host in a hosts file (docs/several-machines.md): targets lab_load may
// load besides loopback. Throws std::invalid_argument if the file is unreadable or malformed.
std::vector<std::string> hosts_file_addresses(const std::string& path);

enum class load_mode { open, closed };
enum class arrival_process { uniform, exponential };

// The command line as typed; optional fields distinguish "not given".
struct raw_load_options {
  std::string url;
  std::optional<double> rate;
  std::optional<double> duration_s;
  std::optional<int> connections;
  std::string arrivals = "uniform";
  int threads = 1;
  double timeout_s = 5;
  int pipeline = 1;
  std::uint64_t seed = 1;
  double warmup_s = 0;
  double spin_us = 100;
  std::string json_path;
  std::string hosts_file;  // --hosts: a hosts file whose addresses may be loaded too
};

struct load_options {
  target_url url;
  load_mode mode = load_mode::open;
  double rate = 0;             // open: requests per second over all threads; closed: 0
  double duration_s = 0;       // measured window
  int connections = 0;         // open: cap on connections (all threads); closed: the count
  arrival_process arrivals = arrival_process::uniform;
  int threads = 1;
  double timeout_s = 5;
  int pipeline = 1;
  std::uint64_t seed = 1;
  double warmup_s = 0;
  // Open loop: when the next send is due in less than this, the worker polls instead of
  // sleeping (a sleep and wake-up costs more CPU than the gap between sends at high rates).
  // 0: always sleep.
  double spin_us = 100;
  std::string json_path;
};

// Open mode's default connection cap: large enough not to be the limit.
inline constexpr int default_open_connection_cap = 10000;

// Validates and completes raw options. Throws std::invalid_argument naming the cause.
load_options make_load_options(const raw_load_options& raw);

const char* to_string(load_mode mode);
const char* to_string(arrival_process arrivals);  // "uniform" | "exp"

}  // namespace lab::load
