#include "load_options.h"

#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>
#include <string>

namespace lab::load {
namespace {

// The message of the invalid_argument thrown by f, or "" if none was thrown.
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

raw_load_options open_raw() {
  raw_load_options raw;
  raw.url = "http://127.0.0.1:8080/plaintext";
  raw.rate = 1000;
  raw.duration_s = 2;
  return raw;
}

TEST(parse_target_url, accepts_loopback_urls) {
  auto u = parse_target_url("http://127.0.0.1:8080/plaintext?x=1");
  EXPECT_EQ(u.address, "127.0.0.1");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.target, "/plaintext?x=1");
  EXPECT_EQ(u.host_header(), "127.0.0.1:8080");
  u = parse_target_url("http://localhost:9000");
  EXPECT_EQ(u.address, "127.0.0.1");
  EXPECT_EQ(u.target, "/");
  EXPECT_EQ(u.host_header(), "localhost:9000");
  u = parse_target_url("http://[::1]:81/a");
  EXPECT_EQ(u.address, "::1");
  EXPECT_EQ(u.host_header(), "[::1]:81");
  u = parse_target_url("http://127.3.2.1:1?q");
  EXPECT_EQ(u.target, "/?q");
  EXPECT_EQ(parse_target_url("http://127.0.0.1/").port, 80);
}

TEST(parse_target_url, refuses_non_loopback_hosts) {
  for (const char* url : {"http://10.0.0.1:80/", "http://192.168.1.1:8080/", "http://example.com:80/",
                          "http://[::2]:80/", "http://[::ffff:10.0.0.1]:80/", "http://0.0.0.0:80/",
                          "http://128.0.0.1:80/"}) {
    EXPECT_NE(error_of([&] { parse_target_url(url); }).find("non-loopback"), std::string::npos)
        << url;
  }
}

TEST(parse_target_url, allows_the_hosts_of_a_hosts_file_and_nothing_else) {
  const std::string file = ::testing::TempDir() + "lab_load_hosts.json";
  {
    std::ofstream out(file);
    out << R"({"hosts": [{"name": "srv", "transport": "ssh:u@h", "address": "10.213.0.10"}],
              "roles": {"server": "srv", "load": ["srv"]}})";
  }
  const auto allowed = hosts_file_addresses(file);
  EXPECT_EQ(allowed, std::vector<std::string>{"10.213.0.10"});
  EXPECT_EQ(parse_target_url("http://10.213.0.10:8080/plaintext", allowed).address, "10.213.0.10");
  EXPECT_NE(error_of([&] { parse_target_url("http://10.213.0.11:8080/", allowed); }).find("--hosts"),
            std::string::npos);
  raw_load_options raw = open_raw();
  raw.url = "http://10.213.0.10:8080/plaintext";
  EXPECT_NE(error_of([&] { make_load_options(raw); }).find("non-loopback"), std::string::npos);
  raw.hosts_file = file;
  EXPECT_EQ(make_load_options(raw).url.address, "10.213.0.10");
  raw.hosts_file = file + ".missing";
  EXPECT_NE(error_of([&] { make_load_options(raw); }).find("cannot read"), std::string::npos);
}

TEST(parse_target_url, rejects_malformed_urls) {
  for (const char* url : {"", "127.0.0.1:80/", "ftp://127.0.0.1/", "https://127.0.0.1:443/",
                          "http://", "http://:80/", "http://127.0.0.1:/", "http://127.0.0.1:0/",
                          "http://127.0.0.1:65536/", "http://127.0.0.1:8x/", "http://u@127.0.0.1/",
                          "http://127.0.0.1/a b", "http://127.0.0.1/#frag", "http://[::1/",
                          "http://[::1]x/"}) {
    EXPECT_NE(error_of([&] { parse_target_url(url); }).find("malformed URL"), std::string::npos)
        << url;
  }
}

TEST(make_load_options, open_loop_defaults) {
  const auto o = make_load_options(open_raw());
  EXPECT_EQ(o.mode, load_mode::open);
  EXPECT_EQ(o.rate, 1000);
  EXPECT_EQ(o.connections, default_open_connection_cap);
  EXPECT_EQ(o.arrivals, arrival_process::uniform);
  EXPECT_EQ(o.threads, 1);
  EXPECT_EQ(o.timeout_s, 5);
}

TEST(make_load_options, closed_loop_without_rate) {
  auto raw = open_raw();
  raw.rate.reset();
  raw.connections = 16;
  const auto o = make_load_options(raw);
  EXPECT_EQ(o.mode, load_mode::closed);
  EXPECT_EQ(o.connections, 16);
  raw.connections.reset();
  EXPECT_NE(error_of([&] { make_load_options(raw); }).find("--rate"), std::string::npos);
}

TEST(make_load_options, bad_values_name_their_option) {
  struct bad_case {
    void (*edit)(raw_load_options&);
    const char* expected;
  };
  const bad_case cases[] = {
      {[](raw_load_options& r) { r.rate = 0; }, "--rate"},
      {[](raw_load_options& r) { r.rate = -3; }, "--rate"},
      {[](raw_load_options& r) { r.duration_s = 0; }, "--duration"},
      {[](raw_load_options& r) { r.duration_s.reset(); }, "--duration"},
      {[](raw_load_options& r) { r.connections = 0; }, "--connections"},
      {[](raw_load_options& r) { r.arrivals = "gauss"; }, "--arrivals"},
      {[](raw_load_options& r) { r.threads = 0; }, "--threads"},
      {[](raw_load_options& r) { r.timeout_s = 0; }, "--timeout"},
      {[](raw_load_options& r) { r.pipeline = 4; }, "--pipeline"},
      {[](raw_load_options& r) { r.warmup_s = -1; }, "--warmup"},
      {[](raw_load_options& r) { r.spin_us = -1; }, "--spin-us"},
      {[](raw_load_options& r) { r.url = "http://8.8.8.8:80/"; }, "non-loopback"},
      {[](raw_load_options& r) { r.url.clear(); }, "--url"},
      {[](raw_load_options& r) {
         r.threads = 4;
         r.connections = 2;
       }, "--threads"},
  };
  for (const auto& c : cases) {
    auto raw = open_raw();
    c.edit(raw);
    EXPECT_NE(error_of([&] { make_load_options(raw); }).find(c.expected), std::string::npos)
        << c.expected;
  }
  EXPECT_EQ(error_of([] { make_load_options(open_raw()); }), "");
}

}  // namespace
}  // namespace lab::load
