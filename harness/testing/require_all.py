"""pytest plugin for CI: with LAB_REQUIRE_ALL=1 (./lab test sets it) a skipped test fails,
unless its reason starts with "allowed:" (something the machine genuinely cannot have, named in
the reason). Loaded with `-p require_all` and this folder on PYTHONPATH (see the CTest entries
in scripts/ and micro/). Every skip is listed either way (pytest -rs)."""
import os

import pytest


def _required():
    return os.environ.get("LAB_REQUIRE_ALL", "1") != "0"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (_required() and report.skipped):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    if reason.startswith("allowed:"):
        return
    report.outcome = "failed"
    report.longrepr = (f"skipped with LAB_REQUIRE_ALL=1 (CI): {reason}\n"
                       "Install what it needs, or, if a machine can genuinely lack it, "
                       "skip with a reason that starts with 'allowed:' and says why.")
