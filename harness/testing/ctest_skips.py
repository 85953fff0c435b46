#!/usr/bin/env python3
"""Lists every test CTest skipped, with its reason, from `ctest --output-junit FILE`; with
LAB_REQUIRE_ALL=1 (the default of ./lab test) exits 1 if any skip's reason does not start with
"allowed:" — in CI everything ./lab installs must run.

usage: ctest_skips.py JUNIT.xml"""
import os
import re
import sys
import xml.etree.ElementTree as ET


def skip_reason(output):
    """gtest prints '<file>:<line>: Skipped' then the reason; others: the last line that says
    why (micro/run prints 'SKIPPED  <reason>')."""
    lines = [line.strip() for line in (output or "").splitlines()]
    for i, line in enumerate(lines):
        if line.endswith(": Skipped") and i + 1 < len(lines):
            return lines[i + 1]
    for line in reversed(lines):
        if line.startswith("SKIPPED  "):
            return line[len("SKIPPED  "):]
    return next((line for line in reversed(lines) if line), "(no reason printed)")


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        suite = ET.parse(argv[1]).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"ctest_skips: cannot read {argv[1]}: {e}", file=sys.stderr)
        return 2
    skipped = []
    for case in suite.iter("testcase"):
        if case.get("status") == "notrun" or case.find("skipped") is not None:
            out = case.find("system-out")
            skipped.append((case.get("name"), skip_reason(out.text if out is not None else "")))
    required = os.environ.get("LAB_REQUIRE_ALL", "1") != "0"
    unexplained = [(n, r) for n, r in skipped if not re.match(r"^(allowed:|skipped: allowed:)", r)]
    print(f"\nskipped tests: {len(skipped)}" + ("" if not skipped else ", each with its reason:"))
    for name, reason in skipped:
        print(f"  skipped  {name}: {reason}")
    if required and unexplained:
        print(f"{len(unexplained)} skip(s) without an allowed reason: with LAB_REQUIRE_ALL=1 every "
              "server and runtime ./lab installs must run (LAB_REQUIRE_ALL=0 to allow skips)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
