// The checks themselves, tested against contract_fake: an in-process server that serves the
// contract, with switches that each inject one fault. Every check must pass against the
// correct fake and fail — naming the fault — against the fake with the fault it targets: a
// check that cannot fail proves nothing about the servers it passes.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "conformance.h"
#include "contract_fake.h"
#include "process.h"
#include "registry.h"

namespace lab {
namespace {

using namespace std::chrono_literals;

constexpr int fake_idle_timeout_s = 1;  // shorter than the suite's 2 s: the self-test waits less

conformance_options options_for(const contract_fake& server, bool exact = true) {
  conformance_options options;
  options.port = server.port();
  options.idle_timeout_s = fake_idle_timeout_s;
  options.exact_cpp_bytes = exact;
  return options;
}

// A fake server for one check, with a live fake_downstream — except for gateway_bad_gateway,
// which needs a server whose downstream refuses. Destroyed server first, then downstream.
struct fake_setup {
  std::unique_ptr<fake_downstream> downstream;
  std::unique_ptr<contract_fake> server;
  conformance_options options;

  explicit fake_setup(const std::string& check, fake_faults faults = {}, bool exact = true) {
    if (check != "gateway_bad_gateway") downstream = std::make_unique<fake_downstream>();
    server = std::make_unique<contract_fake>(faults, 1000 * fake_idle_timeout_s,
                                             downstream ? downstream->port() : 0);
    options = options_for(*server, exact);
    if (downstream) options.downstream_port = downstream->port();
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// Every check passes against the correct fake.

class correct_server : public ::testing::TestWithParam<std::string> {};

TEST_P(correct_server, passes) {
  fake_setup fake(GetParam());
  auto result = run_check(GetParam(), fake.options);
  EXPECT_TRUE(result.passed) << result.detail;
  EXPECT_FALSE(result.skipped);
}

INSTANTIATE_TEST_SUITE_P(conformance, correct_server,
                         ::testing::ValuesIn(conformance_check_names()),
                         [](const auto& info) { return info.param; });

// ---------------------------------------------------------------------------------------------
// Every check fails against the fault it targets, and says so.

struct fault_case {
  std::string check;
  std::string fault;  // names the test
  std::function<void(fake_faults&)> inject;
  std::string detail;  // part of the failure detail
  bool exact = true;   // exact_cpp_bytes: the C++ servers' byte comparisons
};

std::ostream& operator<<(std::ostream& out, const fault_case& c) {
  return out << c.check << "/" << c.fault;
}

const std::vector<fault_case>& fault_cases() {
  static const std::vector<fault_case> cases = {
      {"plaintext", "query_not_ignored", [](fake_faults& f) { f.query_in_path = true; },
       "GET /plaintext?ignored=1: expected status 200, got 404"},
      {"json", "wrong_json", [](fake_faults& f) { f.wrong_json = true; },
       "GET /json: body is \"{\\\"message\\\":\\\"Hello World!\\\"}\""},
      {"compute_vectors", "signed_shift", [](fake_faults& f) { f.signed_shift = true; },
       "GET /compute?n=2: expected body \"2497366906\", got \"2497006458\""},
      {"compute_bad_requests", "lenient_numbers", [](fake_faults& f) { f.lenient_numbers = true; },
       "GET /compute?n=abc: expected status 400, got 200"},
      {"compute_bad_requests", "bad_request_closes",
       [](fake_faults& f) { f.bad_request_closes = true; },
       "GET /compute?n=abc: connection closed before a response"},
      {"sleep_bad_requests", "lenient_numbers", [](fake_faults& f) { f.lenient_numbers = true; },
       "GET /sleep?ms=abc: expected status 400, got 200"},
      {"query_values", "leading_zeros_rejected",
       [](fake_faults& f) { f.reject_leading_zeros = true; },
       "GET /compute?n=0000000001: expected status 200, got 400"},
      {"query_values", "no_percent_decoding", [](fake_faults& f) { f.no_percent_decoding = true; },
       "GET /compute?n=%31: expected status 200, got 400"},
      {"query_values", "lenient_numbers", [](fake_faults& f) { f.lenient_numbers = true; },
       "GET /compute?n=%2B1: expected status 400, got 200"},
      {"query_values", "whole_query_decoded", [](fake_faults& f) { f.whole_query_decoded = true; },
       "GET /compute?n=1&x=%zz: expected status 200, got 400"},
      {"query_values", "bad_request_closes", [](fake_faults& f) { f.bad_request_closes = true; },
       "GET /compute?n=+1: connection closed before a response (a 400 keeps the connection alive)"},
      {"head", "body_after_head", [](fake_faults& f) { f.head_body = true; },
       "HEAD /plaintext: body sent after HEAD: \"Hello, World!\""},
      {"head", "zero_content_length", [](fake_faults& f) { f.head_zero_length = true; },
       "HEAD /plaintext: Content-Length 0, the GET's body has 13 bytes"},
      {"required_headers", "no_date_on_errors", [](fake_faults& f) { f.no_date_on_errors = true; },
       "GET /nope: missing header Date"},
      {"required_headers", "date_not_imf_fixdate", [](fake_faults& f) { f.date_not_imf = true; },
       "GET /plaintext: Date"},
      {"required_headers", "bare_closing_errors",
       [](fake_faults& f) { f.bare_closing_errors = true; },
       "malformed request line: missing header Server"},
      {"keep_alive", "closes_after_each", [](fake_faults& f) { f.close_after_each = true; },
       "GET /json (keep-alive): connection closed before a response"},
      {"split_request", "split_request_dropped", [](fake_faults& f) { f.split_breaks = true; },
       "request sent one byte at a time: connection closed before a response (was a request split "
       "across reads lost?)"},
      {"pipelining", "reordered", [](fake_faults& f) { f.reorder_pipeline = true; },
       "response 1 of 16 (GET /plaintext): out of order"},
      {"pipelining", "drops_after_first", [](fake_faults& f) { f.drop_pipelined = true; },
       "response 2 of 16 (GET /json): connection closed before a response (the pipelined "
       "requests after the first were dropped?)"},
      {"pipelining_behind_sleep", "reordered", [](fake_faults& f) { f.reorder_pipeline = true; },
       "(out of order: a request behind the sleep answered first)"},
      {"pipelining_behind_sleep", "sleep_too_short", [](fake_faults& f) { f.sleep_factor = 0.3; },
       "pipelined GET /sleep?ms=300 answered after only"},
      {"pipelining_with_head_and_errors", "body_after_head",
       [](fake_faults& f) { f.head_body = true; }, "(HEAD /plaintext): body sent after HEAD"},
      {"pipelining_with_head_and_errors", "not_found_closes",
       [](fake_faults& f) { f.not_found_closes = true; },
       "response 3 of 5 (DELETE /json): connection closed before a response"},
      {"pipelining_after_close", "answers_after_close",
       [](fake_faults& f) { f.answers_after_close = true; },
       "answered the request pipelined after 'Connection: close'"},
      {"pipelining_split", "split_request_dropped", [](fake_faults& f) { f.split_breaks = true; },
       "8 requests written in odd-sized chunks: response "},
      {"not_found", "not_found_closes", [](fake_faults& f) { f.not_found_closes = true; },
       "GET /plaintextx: connection closed before a response (a 404 keeps the connection)"},
      {"not_found", "path_decoded", [](fake_faults& f) { f.decodes_path = true; },
       "GET /%63ompute?n=1: expected status 404, got 200"},
      {"not_found", "short_content_length", [](fake_faults& f) { f.short_content_length = true; },
       "GET /nope: expected body \"Not Found\", got \"Not Foun\""},
      {"method_not_allowed", "no_allow_header", [](fake_faults& f) { f.no_allow_header = true; },
       "POST /plaintext: no Allow header"},
      {"malformed_request_line", "keeps_open",
       [](fake_faults& f) { f.malformed_keeps_open = true; },
       "request line 'GARBAGE': response lacks 'Connection: close'"},
      {"malformed_header", "keeps_open", [](fake_faults& f) { f.malformed_keeps_open = true; },
       "header line without a colon: response lacks 'Connection: close'"},
      {"malformed_header", "control_chars_accepted",
       [](fake_faults& f) { f.control_chars_accepted = true; },
       "NUL in a header value: expected status 400, got 200"},
      {"malformed_request_line", "control_chars_accepted",
       [](fake_faults& f) { f.control_chars_accepted = true; },
       "a control character (0x01) in the target: expected status 400, got 404"},
      {"header_too_large", "no_header_limit", [](fake_faults& f) { f.header_limit = 1 << 20; },
       "a 9000-byte header: expected status 431, got 200"},
      {"header_too_large", "request_line_not_counted",
       [](fake_faults& f) { f.header_limit_per_part = f.request_line_unlimited = true; },
       "a 9000-byte request target: expected status 431, got 404"},
      {"header_too_large", "only_lines_limited",
       [](fake_faults& f) { f.header_limit_per_line = true; },
       "400 headers of 25 bytes: expected status 431, got 200"},
      {"header_limit_boundary", "431_at_8192", [](fake_faults& f) { f.header_limit = 8191; },
       "a header section of exactly 8192 bytes in one write: expected status 200, got 431"},
      {"header_limit_boundary", "no_431_at_8193", [](fake_faults& f) { f.header_limit = 8193; },
       "a header section of 8193 bytes in one write: expected status 431, got 200"},
      {"header_limit_boundary", "limit_counted_per_read",
       [](fake_faults& f) { f.header_limit_per_read = true; },
       "a header section of 8193 bytes in two writes: expected status 431, got 200"},
      {"header_limit_boundary", "limit_per_part",
       [](fake_faults& f) { f.header_limit_per_part = true; },
       "a header section of 8193 bytes in one write: expected status 431, got 200"},
      {"payload_too_large", "no_413_for_chunked",
       [](fake_faults& f) { f.chunked_unlimited = true; },
       "one chunk of 1 MiB + 1 bytes: expected status 413, got 200"},
      {"payload_too_large", "413_at_1_MiB", [](fake_faults& f) { f.body_limit = (1 << 20) - 1; },
       "(GET /plaintext with a 1 MiB body): expected 200 \"Hello, World!\", got 413"},
      {"body_skipped", "body_not_skipped", [](fake_faults& f) { f.ignores_body = true; },
       "response 2 of 2 (GET /json): expected 200"},
      {"connection_close", "ignored", [](fake_faults& f) { f.ignores_connection_close = true; },
       "GET /plaintext, Connection: close: response lacks 'Connection: close'"},
      {"http10_close", "http10_kept_open", [](fake_faults& f) { f.http10_keeps_open = true; },
       "HTTP/1.0 request without keep-alive: server did not close the connection within 700 ms"},
      {"http10_keep_alive", "no_keep_alive_header",
       [](fake_faults& f) { f.http10_no_keep_alive = true; },
       "response lacks Connection: keep-alive"},
      {"idle_timeout", "never_closes", [](fake_faults& f) { f.idle_close_ms = 0; },
       "idle connection still open after"},
      {"idle_timeout", "closes_after_0_4_s", [](fake_faults& f) { f.idle_close_ms = 400; },
       "idle connection closed too early"},
      {"idle_timeout", "closes_2_3_s_late",
       [](fake_faults& f) { f.idle_close_ms = 1000 * fake_idle_timeout_s + 2300; },
       "idle connection closed too late"},
      {"compute_is_not_idle", "compute_counted_as_idle",
       [](fake_faults& f) { f.compute_counts_as_idle = true; },
       "was the time spent computing counted as idle?"},
      {"busy_is_not_idle", "sleep_counted_as_idle",
       [](fake_faults& f) { f.sleep_counts_as_idle = true; },
       "was the sleeping connection closed as idle?"},
      {"sleep_duration", "sleep_too_short", [](fake_faults& f) { f.sleep_factor = 0.3; },
       "GET /sleep?ms=300 answered after only"},
      {"concurrent_sleep", "50_sleeps_at_a_time",
       [](fake_faults& f) { f.max_concurrent_sleeps = 50; },
       "fewer sleeps run at once than connections"},
      {"concurrent_sleep", "20_sleeps_at_a_time",
       [](fake_faults& f) { f.max_concurrent_sleeps = 20; },
       "fewer sleeps run at once than connections"},
      {"gateway_parallel", "calls_one_after_another",
       [](fake_faults& f) { f.gateway_sequential = true; }, "calls not made in parallel?"},
      {"gateway_parallel", "calls_reversed", [](fake_faults& f) { f.gateway_reversed = true; },
       "GET /gateway?fanout=4&ms=0: expected body \"{\\\"fanout\\\":4"},
      {"gateway_sequential", "calls_at_once", [](fake_faults& f) { f.gateway_at_once = true; },
       "(four 100 ms calls one after another take 400 ms): calls made at once?"},
      {"gateway_sequential", "calls_reversed_reference_style",
       [](fake_faults& f) { f.gateway_reversed = f.reference_style = true; },
       "GET /gateway?fanout=4&ms=100&mode=sequential: body ", false},
      {"gateway_sequential", "pipeline_reordered",
       [](fake_faults& f) { f.reorder_pipeline = true; },
       "(out of order: a request behind the /gateway answered first)"},
      {"gateway_bad_requests", "fanout_65_accepted",
       [](fake_faults& f) { f.gateway_fanout_unlimited = true; },
       "GET /gateway?fanout=65&ms=0: expected status 400, got 200"},
      {"gateway_bad_requests", "bad_request_closes",
       [](fake_faults& f) { f.bad_request_closes = true; },
       "GET /gateway?fanout=65&ms=0: connection closed before a response"},
      {"gateway_bad_requests", "no_percent_decoding",
       [](fake_faults& f) { f.no_percent_decoding = true; },
       "GET /gateway?fanout=%34&ms=0: expected status 200, got 400"},
      {"gateway_deadline", "no_deadline", [](fake_faults& f) { f.gateway_no_deadline = true; },
       "expected status 504 at about 100 ms, got 200"},
      {"gateway_deadline", "calls_not_cancelled",
       [](fake_faults& f) { f.gateway_no_cancel = true; },
       "calls still running at the downstream within 1 s of the 504"},
      {"gateway_deadline", "504_without_calls",
       [](fake_faults& f) { f.gateway_504_without_calls = true; },
       "no call reached the downstream before the 504"},
      {"gateway_no_leak", "calls_not_cancelled", [](fake_faults& f) { f.gateway_no_cancel = true; },
       "calls waiting 2 s after the last of 1000 504s"},
      {"gateway_head", "body_after_head", [](fake_faults& f) { f.head_body = true; },
       "HEAD /gateway?fanout=1&ms=0: body sent after HEAD"},
      {"gateway_bad_gateway", "500_for_refused",
       [](fake_faults& f) { f.gateway_500 = true; },
       "GET /gateway?fanout=2&ms=0 (the downstream refuses): expected status 502, got 500"},
      {"exact_plaintext_bytes", "header_order", [](fake_faults& f) { f.date_before_server = true; },
       "GET /plaintext: bytes differ from the contract at offset 17"},
      {"exact_json_bytes", "header_order", [](fake_faults& f) { f.date_before_server = true; },
       "GET /json: bytes differ from the contract at offset 17"},
  };
  return cases;
}

class fault : public ::testing::TestWithParam<fault_case> {};

TEST_P(fault, is_caught) {
  const auto& c = GetParam();
  fake_faults faults;
  c.inject(faults);
  fake_setup fake(c.check, faults, c.exact);
  auto result = run_check(c.check, fake.options);
  EXPECT_FALSE(result.passed) << c.check << " passed against the fault " << c.fault;
  EXPECT_TRUE(contains(result.detail, c.detail))
      << "expected the detail to contain: " << c.detail << "\nactual detail: " << result.detail;
}

INSTANTIATE_TEST_SUITE_P(conformance, fault, ::testing::ValuesIn(fault_cases()),
                         [](const auto& info) {
                           return info.param.check + "__" + info.param.fault;
                         });

TEST(conformance_selftest, every_check_has_a_fault_it_catches) {
  for (const auto& name : conformance_check_names()) {
    bool covered = std::any_of(fault_cases().begin(), fault_cases().end(),
                               [&](const fault_case& c) { return c.check == name; });
    EXPECT_TRUE(covered) << name << " has no fault case";
  }
  for (const auto& c : fault_cases()) {
    auto names = conformance_check_names();
    EXPECT_NE(std::find(names.begin(), names.end(), c.check), names.end()) << c.check;
  }
}

// Other languages' servers order headers differently, add headers and charsets: every check
// but the exact-bytes ones must accept that.
TEST(conformance_selftest, a_reference_style_server_passes_every_check) {
  fake_faults style;
  style.reference_style = true;
  fake_setup fake("", style, false);
  for (const auto& result : run_conformance(fake.options)) {
    EXPECT_TRUE(result.passed) << result.name << ": " << result.detail;
    if (result.name.starts_with("exact_") || result.name == "gateway_bad_gateway") {
      EXPECT_TRUE(result.skipped) << result.name;
    }
  }
  fake_setup refusing("gateway_bad_gateway", style, false);
  auto bad_gateway = run_check("gateway_bad_gateway", refusing.options);
  EXPECT_TRUE(bad_gateway.passed && !bad_gateway.skipped) << bad_gateway.detail;
  fake.options.exact_cpp_bytes = true;
  EXPECT_FALSE(run_check("exact_plaintext_bytes", fake.options).passed);
}

TEST(conformance_selftest, names_are_unique) {
  auto names = conformance_check_names();
  std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), names.size());
  for (const char* expected : {"plaintext", "pipelining", "query_values", "header_limit_boundary",
                               "compute_is_not_idle", "concurrent_sleep", "exact_json_bytes"})
    EXPECT_TRUE(unique.count(expected)) << expected;
}

TEST(conformance_selftest, unknown_check_fails_with_the_valid_names) {
  auto result = run_check("no_such_check", {});
  EXPECT_FALSE(result.passed);
  EXPECT_TRUE(contains(result.detail, "unknown check 'no_such_check'; valid: plaintext, json"))
      << result.detail;
}

TEST(conformance_selftest, nobody_listening_is_a_failure_not_a_crash) {
  conformance_options options;
  options.port = 1;  // nothing listens on port 1 of loopback
  for (const auto& result : run_conformance(options)) {
    if (result.skipped) continue;
    EXPECT_FALSE(result.passed) << result.name;
    EXPECT_TRUE(contains(result.detail, "connect to 127.0.0.1:1"))
        << result.name << ": " << result.detail;
  }
}

// ---------------------------------------------------------------------------------------------
// The CLI, run as a real process: exit status and one line per check.

struct cli_run {
  int exit_code = -1;
  std::string out, err;
};

cli_run run_cli(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  char pattern[] = "/tmp/lab-conformance-cli-XXXXXX";
  fs::path dir = ::mkdtemp(pattern);
  fs::path root = std::getenv("LAB_ROOT") ? std::getenv("LAB_ROOT") : LAB_SOURCE_ROOT;
  std::vector<std::string> argv = {(default_bin_dir(root) / "conformance_check").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  spawn_options options;
  options.stdout_path = dir / "out";
  options.stderr_path = dir / "err";
  auto child = child_process::spawn(argv, options);
  cli_run run;
  if (auto status = child.wait_for(30s); status && WIFEXITED(*status))
    run.exit_code = WEXITSTATUS(*status);
  run.out = tail_file(dir / "out", 100000);
  run.err = tail_file(dir / "err", 100000);
  fs::remove_all(dir);
  return run;
}

TEST(conformance_check_cli, reports_each_check_and_exits_nonzero_on_failure) {
  contract_fake server;
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  auto ok =
      run_cli({"--url", url, "--exact", "--only", "plaintext", "--only", "exact_plaintext_bytes"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_TRUE(contains(ok.out, "PASS  plaintext\n")) << ok.out;
  EXPECT_TRUE(contains(ok.out, "PASS  exact_plaintext_bytes\n")) << ok.out;
  EXPECT_TRUE(contains(ok.out, "OK: 2 of 2 checks passed")) << ok.out;

  fake_faults faults;
  faults.short_content_length = true;
  contract_fake faulty(faults);
  url = "http://127.0.0.1:" + std::to_string(faulty.port());
  auto bad = run_cli({"--url", url, "--only", "plaintext", "--only", "not_found"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_TRUE(contains(bad.out, "FAIL  not_found  GET /nope: expected body \"Not Found\""))
      << bad.out;
  EXPECT_TRUE(contains(bad.out, "FAILED: 1 of 2 checks passed")) << bad.out;

  auto list = run_cli({"--list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_EQ(std::count(list.out.begin(), list.out.end(), '\n'),
            static_cast<long>(conformance_check_names().size()));
}

TEST(conformance_check_cli, refuses_bad_targets) {
  auto remote = run_cli({"--url", "http://10.1.2.3:80"});
  EXPECT_EQ(remote.exit_code, 2);
  EXPECT_TRUE(contains(remote.err, "only loopback targets")) << remote.err;
  auto malformed = run_cli({"--url", "127.0.0.1:80"});
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_TRUE(contains(malformed.err, "--url must look like http://127.0.0.1:8080"))
      << malformed.err;
  auto unknown = run_cli({"--url", "http://127.0.0.1:1", "--only", "nope"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(contains(unknown.err, "unknown check 'nope'; valid: plaintext")) << unknown.err;
}

}  // namespace
}  // namespace lab
