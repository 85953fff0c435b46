// The verdict of verification from data only: ok, partial (only declared expected_failures,
// for their declared reasons) or failed (anything else, or a server that died or did not stop
// cleanly). Real servers are verified in launch_test (e2e).
#include "verify.h"

#include <gtest/gtest.h>

namespace {

lab::check_result check(const std::string& name, bool passed, const std::string& detail = "") {
  lab::check_result r;
  r.name = name;
  r.passed = passed;
  r.detail = detail;
  return r;
}

lab::server_spec nginx_like() {
  lab::server_spec spec;
  spec.name = "nginx";
  spec.reference = true;
  spec.expected_failures = {"sleep_duration", "head"};
  spec.expected_failure_reasons = {{"sleep_duration", "got 404"}};  // head: any failure
  return spec;
}

}  // namespace

TEST(RunnerVerify, OkWhenEveryCheckPasses) {
  const std::vector<lab::check_result> all_pass = {check("plaintext_body", true), check("head", true)};
  EXPECT_EQ(lab::judge(all_pass, lab::server_spec{}, false), lab::verdict::ok);
  // A declared failure that passes is not a problem here (conformance_test keeps the list exact).
  EXPECT_EQ(lab::judge(all_pass, nginx_like(), false), lab::verdict::ok);
  EXPECT_STREQ(lab::to_string(lab::verdict::ok), "ok");
}

TEST(RunnerVerify, PartialOnlyWhenEveryFailureIsDeclaredWithItsReason) {
  const auto spec = nginx_like();
  std::vector<lab::check_result> checks = {check("plaintext_body", true),
                                           check("sleep_duration", false, "GET /sleep?ms=100: got 404"),
                                           check("head", false, "no Content-Length")};
  EXPECT_EQ(lab::judge(checks, spec, false), lab::verdict::partial);
  EXPECT_STREQ(lab::to_string(lab::verdict::partial), "partial");
  // The same check failing for another reason than declared: something else broke.
  checks[1].detail = "connection reset by peer";
  EXPECT_FALSE(lab::is_declared_failure(checks[1], spec));
  EXPECT_EQ(lab::judge(checks, spec, false), lab::verdict::failed);
  checks[1].detail = "got 404";
  // An undeclared failing check: failed, whatever its message says.
  checks.push_back(check("json_body", false, "conformance failed"));
  EXPECT_EQ(lab::judge(checks, spec, false), lab::verdict::failed);
  // Non-reference servers declare nothing: any failure fails them.
  EXPECT_EQ(lab::judge({check("head", false, "x")}, lab::server_spec{}, false), lab::verdict::failed);
}

TEST(RunnerVerify, ServerTroubleOrNoChecksAlwaysFails) {
  const std::vector<lab::check_result> all_pass = {check("plaintext_body", true)};
  EXPECT_EQ(lab::judge(all_pass, lab::server_spec{}, true), lab::verdict::failed);
  EXPECT_EQ(lab::judge({}, lab::server_spec{}, false), lab::verdict::failed);
  EXPECT_STREQ(lab::to_string(lab::verdict::failed), "failed");
}

TEST(RunnerVerify, ChecksAsJson) {
  lab::verification v;
  v.checks = {check("a", true), check("b", false, "why")};
  EXPECT_EQ(v.checks_json(), nlohmann::json({{{"name", "a"}, {"passed", true}, {"detail", ""}},
                                             {{"name", "b"}, {"passed", false}, {"detail", "why"}}}));
}
