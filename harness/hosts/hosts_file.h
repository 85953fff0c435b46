// A hosts file (docs/several-machines.md): which host plays each role of a run — server,
// downstream, load (one or more) — and how the lab reaches it (local, netns:NAME,
// ssh:USER@HOST[:PORT]) at which address. Parsing checks everything a run relies on and names
// the mistake; the safety rule lives here too: load goes only to loopback or to an address the
// hosts file names, and a netns: host must be a namespace that exists. Commands reach a host
// only through harness/hosts/on_host (the transport). Pure values; thread-compatible.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lab {

struct hosts_error : std::runtime_error {
  using runtime_error::runtime_error;
};

struct host_entry {
  std::string name;       // how roles and on_host refer to it
  std::string transport;  // "local" | "netns:NAME" | "ssh:USER@HOST[:PORT]"
  std::string address;    // the IPv4 address the other hosts reach it at
  bool is_ssh() const { return transport.rfind("ssh:", 0) == 0; }
};

struct hosts_layout {
  std::filesystem::path file;  // absolute
  std::vector<host_entry> hosts;
  std::string server, downstream;  // host names
  std::vector<std::string> load;   // host names, at least one
  bool testbed = false;            // written by harness/hosts/testbed

  const host_entry& host(const std::string& name) const;
  const host_entry& server_host() const { return host(server); }
  const host_entry& downstream_host() const { return host(downstream.empty() ? server : downstream); }
  // May load go to `address`? Loopback, or an address of a host in this file.
  bool allows_target(const std::string& address) const;
  // The argv prefix that runs a command on host `name`: on_host --hosts FILE NAME --
  std::vector<std::string> command_prefix(const std::string& name,
                                          const std::filesystem::path& root) const;
  // For the run's context block: the file, each host, the roles.
  nlohmann::json to_json() const;
};

// Parses and checks a hosts file's text; `file` names it in errors and anchors it. Throws
// hosts_error naming the field. `namespace_exists` decides netns: hosts (tests pass a fake).
hosts_layout parse_hosts(const std::string& text, const std::filesystem::path& file,
                         bool (*namespace_exists)(const std::string&) = nullptr);
// Reads and parses FILE (netns: hosts checked against /run/netns).
hosts_layout load_hosts_file(const std::filesystem::path& file);

}  // namespace lab
