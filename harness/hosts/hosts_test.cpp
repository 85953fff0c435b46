// The hosts file's checks, the level split between load hosts, the clush quoting and the
// parsing of the server host's /proc samples (the transport itself: testbed_e2e).
#include <gtest/gtest.h>

#include "hosts_file.h"
#include "multi_host_load.h"
#include "remote_sampler.h"

namespace lab {
namespace {

bool only_lab_tb(const std::string& name) { return name.rfind("lab-tb-", 0) == 0; }

const char* const good = R"({
  "hosts": [
    {"name": "srv", "transport": "ssh:root@10.0.0.2:2222", "address": "10.0.0.2"},
    {"name": "ns", "transport": "netns:lab-tb-x", "address": "10.213.0.9"},
    {"name": "here", "transport": "local"},
    {"name": "l1", "transport": "ssh:me@box1", "address": "10.0.0.3"}
  ],
  "roles": {"server": "srv", "downstream": "ns", "load": ["l1", "here"]}
})";

hosts_layout parse(const std::string& text) { return parse_hosts(text, "/tmp/h.json", only_lab_tb); }

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const hosts_error& e) {
    return e.what();
  }
  return "";
}

TEST(HostsFile, ParsesRolesTransportsAndAddresses) {
  const auto h = parse(good);
  EXPECT_EQ(h.server_host().address, "10.0.0.2");
  EXPECT_TRUE(h.server_host().is_ssh());
  EXPECT_EQ(h.downstream_host().transport, "netns:lab-tb-x");
  EXPECT_EQ(h.host("here").address, "127.0.0.1");  // local defaults to loopback
  EXPECT_EQ(h.load, (std::vector<std::string>{"l1", "here"}));
  const auto prefix = h.command_prefix("l1", "/repo");
  EXPECT_EQ(prefix, (std::vector<std::string>{"/repo/harness/hosts/on_host", "--hosts", "/tmp/h.json", "l1", "--"}));
  EXPECT_EQ(h.to_json()["roles"]["load"].size(), 2u);
}

TEST(HostsFile, SafetyAllowsOnlyLoopbackAndItsOwnAddresses) {
  const auto h = parse(good);
  EXPECT_TRUE(h.allows_target("127.0.0.1"));
  EXPECT_TRUE(h.allows_target("10.0.0.2"));
  EXPECT_FALSE(h.allows_target("10.0.0.99"));
  EXPECT_FALSE(h.allows_target("8.8.8.8"));
}

TEST(HostsFile, NamesEachMistake) {
  EXPECT_NE(error_of("[]").find("JSON object"), std::string::npos);
  EXPECT_NE(error_of(R"({"hosts": [{"name": "a", "transport": "telnet:x", "address": "1.2.3.4"}], "roles": {"server": "a", "load": ["a"]}})").find("not local, netns"), std::string::npos);
  EXPECT_NE(error_of(R"({"hosts": [{"name": "a", "transport": "netns:other", "address": "1.2.3.4"}], "roles": {"server": "a", "load": ["a"]}})").find("does not exist"), std::string::npos);
  EXPECT_NE(error_of(R"({"hosts": [{"name": "a", "transport": "ssh:u@h", "address": "h.example"}], "roles": {"server": "a", "load": ["a"]}})").find("not an IPv4"), std::string::npos);
  EXPECT_NE(error_of(R"({"hosts": [{"name": "a", "transport": "ssh:u@h", "address": "1.2.3.4"}], "roles": {"server": "b", "load": ["a"]}})").find("no host named 'b'"), std::string::npos);
  EXPECT_NE(error_of(R"({"hosts": [{"name": "a", "transport": "ssh:u@h", "address": "1.2.3.4"}], "roles": {"server": "a", "load": []}})").find("at least one"), std::string::npos);
  EXPECT_NE(error_of(R"({"hosts": [{"name": "a", "transport": "local"}, {"name": "a", "transport": "local"}], "roles": {"server": "a", "load": ["a"]}})").find("used twice"), std::string::npos);
}

TEST(MultiHostLoad, SplitsRatesEvenlyAndConnectionsWithTheRemainderFirst) {
  const auto open = load_level::open_loop(9000, 100);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(share_of(open, i, 3).rate, 3000);
    EXPECT_EQ(share_of(open, i, 3).connections, 34);  // the cap rounded up per host
  }
  const auto closed = load_level::closed_loop(16);
  int sum = 0;
  for (size_t i = 0; i < 3; ++i) sum += share_of(closed, i, 3).connections;
  EXPECT_EQ(sum, 16);
  EXPECT_EQ(share_of(closed, 0, 3).connections, 6);
  EXPECT_EQ(share_of(closed, 2, 3).connections, 5);
  // Fewer connections than hosts: the last hosts send nothing.
  EXPECT_EQ(share_of(load_level::closed_loop(1), 1, 2).connections, 0);
}

TEST(MultiHostLoad, QuotesForTheShellAndClush) {
  EXPECT_EQ(clush_quote("a b"), "'a b'");
  EXPECT_EQ(clush_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(clush_quote("100%"), "'100%%'");
  EXPECT_EQ(clush_quote("/tmp/x.@HOST@.json"), "'/tmp/x.%h.json'");
}

TEST(RemoteSampler, ParsesSamplesAndThePid) {
  const auto samples = parse_remote_samples(
      "1000.50 2 5000 6000 9 1.00 0.50 10 3\n"
      "garbage\n"
      "1001.00 2 5200 6100 10 1.40 0.60 15 4\n");
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_DOUBLE_EQ(samples[1].t_s, 0.5);
  EXPECT_EQ(samples[1].sample.rss_kb, 5200u);
  EXPECT_EQ(samples[1].sample.threads, 10);
  EXPECT_DOUBLE_EQ(samples[1].sample.utime_s, 1.4);
  EXPECT_EQ(samples[1].sample.voluntary_ctxt_switches, 15u);
  EXPECT_EQ(remote_pid_in("noise\nlab-remote-pid 4242\nmore"), 4242);
  EXPECT_EQ(remote_pid_in("nothing"), 0);
  EXPECT_NE(remote_sampler_script().find("/proc/uptime"), std::string::npos);
}

}  // namespace
}  // namespace lab
