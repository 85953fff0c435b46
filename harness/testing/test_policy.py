"""The CI skip policy: ctest_skips.py lists skips with reasons and fails on unexplained ones;
the require_all pytest plugin turns unexplained skips into failures."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent

JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="x" tests="3" failures="0" skipped="2">
  <testcase name="a" status="run"><system-out>ok</system-out></testcase>
  <testcase name="b" status="notrun"><skipped message="SKIP_REGULAR_EXPRESSION_MATCHED"/>
    <system-out>[ RUN ] b
/x/t.cpp:3: Skipped
{reason_b}
[  SKIPPED ] b</system-out></testcase>
  <testcase name="micro_quick_go" status="notrun"><skipped message="SKIP_RETURN_CODE=77"/>
    <system-out>SKIPPED  {reason_c}
wrote x</system-out></testcase>
</testsuite>
"""


def run_skips(tmp_path, reason_b, reason_c, required="1"):
    junit = tmp_path / "j.xml"
    junit.write_text(JUNIT.format(reason_b=reason_b, reason_c=reason_c))
    env = dict(os.environ, LAB_REQUIRE_ALL=required)
    return subprocess.run([sys.executable, str(HERE / "ctest_skips.py"), str(junit)],
                          capture_output=True, text=True, env=env)


def test_every_skip_is_listed_with_its_reason(tmp_path):
    r = run_skips(tmp_path, "allowed: java_virtual: needs JDK 21", "allowed: no go here")
    assert r.returncode == 0, r.stderr
    assert "skipped  b: allowed: java_virtual: needs JDK 21" in r.stdout
    assert "skipped  micro_quick_go: allowed: no go here" in r.stdout


def test_an_unexplained_skip_fails_unless_skips_are_allowed(tmp_path):
    r = run_skips(tmp_path, "node_http: 'node' not found", "allowed: x")
    assert r.returncode == 1
    assert "skipped  b: node_http: 'node' not found" in r.stdout
    assert "without an allowed reason" in r.stderr
    assert run_skips(tmp_path, "node missing", "x", required="0").returncode == 0


def test_unreadable_junit_is_an_error(tmp_path):
    r = subprocess.run([sys.executable, str(HERE / "ctest_skips.py"), str(tmp_path / "none.xml")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "cannot read" in r.stderr


def test_the_plugin_fails_unexplained_skips_only(tmp_path):
    (tmp_path / "test_sample.py").write_text(textwrap.dedent("""
        import pytest
        def test_runs(): assert 1 + 1 == 2
        def test_allowed(): pytest.skip("allowed: this machine has no GPU")
        def test_unexplained(): pytest.skip("chromium is not installed")
    """))
    env = dict(os.environ, PYTHONPATH=str(HERE), LAB_REQUIRE_ALL="1")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "require_all",
                        "-p", "no:cacheprovider", str(tmp_path)],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 1, r.stdout
    assert "1 failed, 1 passed, 1 skipped" in r.stdout
    assert "skipped with LAB_REQUIRE_ALL=1 (CI): chromium is not installed" in r.stdout
    env["LAB_REQUIRE_ALL"] = "0"
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "require_all",
                        "-p", "no:cacheprovider", str(tmp_path)],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0 and "1 passed, 2 skipped" in r.stdout
