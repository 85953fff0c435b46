"""The committed fixtures are exactly what make_fixtures.py writes, and say what they are."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures  # noqa: E402
from conftest import FIXTURES, SERVICE_RUN  # noqa: E402


def test_committed_fixtures_match_the_generator():
    for name, text in make_fixtures.generate().items():
        assert (FIXTURES / name).read_text(encoding="utf-8") == text, \
            f"{name} is stale: run /usr/bin/python3 scripts/tests/make_fixtures.py"


def test_service_fixture_covers_the_cases_the_charts_must_handle():
    data = json.loads((SERVICE_RUN / "results.json").read_text())
    measured = {s["model"] for s in data["servers"] if s["status"] == "ok"}
    assert len(measured) >= 4
    assert any(s["status"] == "skipped" for s in data["servers"])
    assert {m["scenario"] for m in data["measurements"]} == {"plaintext", "json"}
    assert {m["connections"] for m in data["measurements"]} == {16, 64, 256}
    assert {m["repetition"] for m in data["measurements"]} == {0, 1, 2}
    assert sum(a["client_bound"] for a in data["aggregates"]) == 1
    assert sum("noisy" in a["flags"] for a in data["aggregates"]) == 1
    assert [m["status"] for m in data["measurements"]].count("failed") == 1
    assert all(len(s["time_to_first_response_ms"]["samples"]) == 10 for s in data["startup"])
    assert "SYNTHETIC" in data["context"]["note"]
