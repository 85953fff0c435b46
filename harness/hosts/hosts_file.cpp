#include "hosts_file.h"

#include <arpa/inet.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace lab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool ipv4(const std::string& text) {
  in_addr addr{};
  return inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

bool loopback(const std::string& text) {
  if (text == "localhost") return true;
  in_addr addr{};
  return inet_pton(AF_INET, text.c_str(), &addr) == 1 && (ntohl(addr.s_addr) >> 24) == 127;
}

bool netns_exists(const std::string& name) { return fs::exists(fs::path("/run/netns") / name); }

std::string string_at(const json& j, const char* key, const std::string& where, bool required = true) {
  if (!j.contains(key)) {
    if (required) throw hosts_error(where + ": \"" + key + "\" is missing");
    return "";
  }
  if (!j[key].is_string() || j[key].get<std::string>().empty())
    throw hosts_error(where + ": \"" + key + "\" must be a non-empty string");
  return j[key].get<std::string>();
}

}  // namespace

const host_entry& hosts_layout::host(const std::string& name) const {
  for (const auto& h : hosts)
    if (h.name == name) return h;
  throw hosts_error(file.string() + ": no host named '" + name + "'");
}

bool hosts_layout::allows_target(const std::string& address) const {
  if (loopback(address)) return true;
  for (const auto& h : hosts)
    if (h.address == address) return true;
  return false;
}

std::vector<std::string> hosts_layout::command_prefix(const std::string& name, const fs::path& root) const {
  host(name);  // throws for an unknown name
  return {(root / "harness" / "hosts" / "on_host").string(), "--hosts", file.string(), name, "--"};
}

json hosts_layout::to_json() const {
  json list = json::array();
  for (const auto& h : hosts)
    list.push_back({{"name", h.name}, {"transport", h.transport}, {"address", h.address}});
  return {{"file", file.string()},
          {"testbed", testbed},
          {"hosts", list},
          {"roles", {{"server", server}, {"downstream", downstream.empty() ? server : downstream}, {"load", load}}}};
}

hosts_layout parse_hosts(const std::string& text, const fs::path& file,
                         bool (*namespace_exists)(const std::string&)) {
  if (!namespace_exists) namespace_exists = netns_exists;
  const std::string where = file.string();
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw hosts_error(where + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object()) throw hosts_error(where + ": must be a JSON object");
  hosts_layout out;
  out.file = fs::absolute(file);
  out.testbed = doc.value("testbed", false);
  if (!doc.contains("hosts") || !doc["hosts"].is_array() || doc["hosts"].empty())
    throw hosts_error(where + ": \"hosts\" must be a non-empty array of {name, transport, address}");
  static const std::regex ssh_form(R"(^ssh:[A-Za-z0-9._-]+@[A-Za-z0-9._-]+(:[0-9]{1,5})?$)");
  static const std::regex netns_form(R"(^netns:[A-Za-z0-9._-]+$)");
  static const std::regex name_form(R"(^[A-Za-z0-9_-]+$)");
  std::set<std::string> names;
  for (size_t i = 0; i < doc["hosts"].size(); ++i) {
    const json& h = doc["hosts"][i];
    const std::string at = where + ": hosts[" + std::to_string(i) + "]";
    if (!h.is_object()) throw hosts_error(at + " must be an object");
    host_entry e{string_at(h, "name", at), string_at(h, "transport", at), string_at(h, "address", at, false)};
    if (!std::regex_match(e.name, name_form))
      throw hosts_error(at + ": name '" + e.name + "' may hold only letters, digits, '_' and '-'");
    if (!names.insert(e.name).second) throw hosts_error(at + ": the name '" + e.name + "' is used twice");
    if (e.transport == "local") {
      if (e.address.empty()) e.address = "127.0.0.1";
    } else if (std::regex_match(e.transport, netns_form)) {
      const std::string ns = e.transport.substr(6);
      if (!namespace_exists(ns))
        throw hosts_error(at + ": network namespace '" + ns + "' does not exist (ip netns list; "
                          "./lab testbed up creates the lab's own)");
    } else if (!std::regex_match(e.transport, ssh_form)) {
      throw hosts_error(at + ": transport '" + e.transport +
                        "' is not local, netns:NAME or ssh:USER@HOST[:PORT]");
    }
    if (e.address.empty()) throw hosts_error(at + ": \"address\" is missing (the IPv4 address the others reach it at)");
    if (!ipv4(e.address)) throw hosts_error(at + ": address '" + e.address + "' is not an IPv4 address");
    out.hosts.push_back(e);
  }
  if (!doc.contains("roles") || !doc["roles"].is_object())
    throw hosts_error(where + ": \"roles\" is missing: {\"server\": NAME, \"downstream\": NAME, \"load\": [NAME, ...]}");
  const json& roles = doc["roles"];
  out.server = string_at(roles, "server", where + ": roles");
  out.host(out.server);
  out.downstream = string_at(roles, "downstream", where + ": roles", false);
  if (!out.downstream.empty()) out.host(out.downstream);
  const json& load = roles.contains("load") ? roles["load"] : json();
  if (load.is_string()) out.load.push_back(load.get<std::string>());
  else if (load.is_array())
    for (const auto& l : load) {
      if (!l.is_string()) throw hosts_error(where + ": roles.load must list host names");
      out.load.push_back(l.get<std::string>());
    }
  if (out.load.empty()) throw hosts_error(where + ": roles.load must name at least one host");
  std::set<std::string> seen;
  for (const auto& l : out.load) {
    out.host(l);
    if (!seen.insert(l).second) throw hosts_error(where + ": roles.load names '" + l + "' twice");
  }
  return out;
}

hosts_layout load_hosts_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw hosts_error("cannot read hosts file " + file.string());
  std::stringstream text;
  text << in.rdbuf();
  return parse_hosts(text.str(), file);
}

}  // namespace lab
