#include "load_options.h"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace lab::load {

namespace {

[[noreturn]] void bad(const std::string& message) { throw std::invalid_argument(message); }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
  return s;
}

std::string format(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

std::string target_url::host_header() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::vector<std::string> hosts_file_addresses(const std::string& path) {
  std::ifstream in(path);
  if (!in) bad("--hosts: cannot read " + path);
  std::vector<std::string> out;
  try {
    const auto doc = nlohmann::json::parse(in);
    for (const auto& h : doc.at("hosts"))
      if (h.contains("address")) out.push_back(h.at("address").get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    bad("--hosts: " + path + " is not a hosts file (hosts[].address): " + e.what());
  }
  return out;
}

target_url parse_target_url(const std::string& url, const std::vector<std::string>& allowed) {
  const std::string what = "malformed URL '" + url + "': ";
  target_url out;
  out.text = url;
  const std::string scheme = "http://";
  if (lower(url.substr(0, scheme.size())) != scheme) {
    if (lower(url.substr(0, 8)) == "https://") bad(what + "https is not supported");
    bad(what + "expected http://host:port/path");
  }
  for (unsigned char c : url)
    if (c <= 0x20 || c >= 0x7f)
      bad(what + "spaces, control and non-ASCII characters must be percent-encoded");
  if (url.find('#') != std::string::npos) bad(what + "fragments (#) are not allowed");
  const std::string rest = url.substr(scheme.size());
  const auto authority_end = rest.find_first_of("/?");
  const std::string authority = rest.substr(0, authority_end);
  if (authority.find('@') != std::string::npos) bad(what + "user information is not allowed");
  std::string port_text;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) bad(what + "unclosed '[' in host");
    out.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') bad(what + "expected ':port' after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) bad(what + "empty port");
    }
  } else {
    const auto colon = authority.find(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) bad(what + "empty port");
    }
  }
  if (out.host.empty()) bad(what + "no host");
  if (!port_text.empty()) {
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos)
      bad(what + "port must be a number from 1 to 65535");
    out.port = std::stoi(port_text);
    if (out.port < 1 || out.port > 65535) bad(what + "port must be a number from 1 to 65535");
  }
  if (authority_end == std::string::npos) out.target = "/";
  else if (rest[authority_end] == '?') out.target = "/" + rest.substr(authority_end);
  else out.target = rest.substr(authority_end);

  // Loopback only: the lab never sends load anywhere else.
  const std::string refused = "refusing non-loopback host '" + out.host +
                              "': only 127.0.0.0/8, ::1, localhost and the hosts of a --hosts file are allowed";
  if (lower(out.host) == "localhost") {
    out.address = "127.0.0.1";
    return out;
  }
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(out.host, ec);
  if (ec) bad(refused);
  if (std::find(allowed.begin(), allowed.end(), address.to_string()) != allowed.end()) {
    out.address = address.to_string();
    return out;
  }
  if (address.is_v4() ? address.to_v4().to_bytes()[0] != 127 : !address.to_v6().is_loopback())
    bad(refused);
  out.address = address.to_string();
  return out;
}

load_options make_load_options(const raw_load_options& raw) {
  load_options o;
  if (raw.url.empty()) bad("--url is required");
  o.url = parse_target_url(raw.url, raw.hosts_file.empty() ? std::vector<std::string>{}
                                                             : hosts_file_addresses(raw.hosts_file));
  if (!raw.duration_s) bad("--duration is required");
  if (!(*raw.duration_s > 0) || !std::isfinite(*raw.duration_s))
    bad("--duration must be > 0 seconds (got " + format(*raw.duration_s) + ")");
  o.duration_s = *raw.duration_s;
  if (raw.rate) {
    if (!(*raw.rate > 0) || !std::isfinite(*raw.rate))
      bad("--rate must be > 0 requests per second (got " + format(*raw.rate) + ")");
    o.mode = load_mode::open;
    o.rate = *raw.rate;
    o.connections = raw.connections.value_or(default_open_connection_cap);
  } else {
    if (!raw.connections)
      bad("give --rate R (open loop) or --connections C without --rate (closed loop)");
    o.mode = load_mode::closed;
    o.connections = *raw.connections;
  }
  if (raw.connections && *raw.connections < 1)
    bad("--connections must be >= 1 (got " + std::to_string(*raw.connections) + ")");
  if (raw.arrivals == "uniform") o.arrivals = arrival_process::uniform;
  else if (raw.arrivals == "exp") o.arrivals = arrival_process::exponential;
  else bad("unknown --arrivals '" + raw.arrivals + "' (expected uniform or exp)");
  if (o.mode == load_mode::closed && raw.arrivals != "uniform")
    bad("--arrivals needs --rate (closed loop has no arrival schedule)");
  if (raw.threads < 1) bad("--threads must be >= 1 (got " + std::to_string(raw.threads) + ")");
  if (raw.threads > 256) bad("--threads must be <= 256 (got " + std::to_string(raw.threads) + ")");
  if (raw.threads > o.connections)
    bad("--threads (" + std::to_string(raw.threads) + ") exceeds --connections (" +
        std::to_string(o.connections) + "): every thread needs a connection");
  o.threads = raw.threads;
  if (!(raw.timeout_s > 0) || !std::isfinite(raw.timeout_s))
    bad("--timeout must be > 0 seconds (got " + format(raw.timeout_s) + ")");
  o.timeout_s = raw.timeout_s;
  if (raw.pipeline != 1)
    bad("--pipeline " + std::to_string(raw.pipeline) +
        " is not supported: one request in flight per connection (--pipeline 1)");
  o.pipeline = raw.pipeline;
  if (!(raw.warmup_s >= 0) || !std::isfinite(raw.warmup_s))
    bad("--warmup must be >= 0 seconds (got " + format(raw.warmup_s) + ")");
  o.warmup_s = raw.warmup_s;
  if (!(raw.spin_us >= 0) || raw.spin_us > 1e6)
    bad("--spin-us must be from 0 to 1000000 (got " + format(raw.spin_us) + ")");
  o.spin_us = raw.spin_us;
  o.seed = raw.seed;
  o.json_path = raw.json_path;
  return o;
}

const char* to_string(load_mode mode) { return mode == load_mode::open ? "open" : "closed"; }

const char* to_string(arrival_process arrivals) {
  return arrivals == arrival_process::uniform ? "uniform" : "exp";
}

}  // namespace lab::load
