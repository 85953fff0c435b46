"""reproduce.py on fixtures: a fake published run vs a fake new run, without the harness."""
import json
import xml.etree.ElementTree as ET

import pytest

import reproduce
import results as res
from conftest import SERVICE_RUN, copy_run

SERVERS = ["event_loop", "coroutine", "thread_pool"]
ENTRY = {"title": "plaintext throughput", "run": "2026-11-23T050000Z-fixture",
         "metric": "throughput", "scenario": "plaintext", "suite": "fixture", "servers": SERVERS}


@pytest.fixture
def published(tmp_path):
    root = tmp_path / "published"
    copy_run(SERVICE_RUN, root / ENTRY["run"])
    (root / "charts.json").write_text(json.dumps(
        {"schema_version": 1, "charts": {"throughput_plaintext": ENTRY}}))
    return root


@pytest.fixture
def new_run(tmp_path):
    """The fixture with event_loop at half the throughput and coroutine 10% faster."""
    folder = tmp_path / "new"
    folder.mkdir()
    data = json.loads((SERVICE_RUN / "results.json").read_text())
    factor = {"event_loop": 0.5, "coroutine": 1.1}
    for agg in data["aggregates"]:
        f = factor.get(agg["server"], 1.0)
        agg["requests_per_s"] = {k: v * f for k, v in agg["requests_per_s"].items()}
        if agg["server"] == "event_loop":
            agg["client_bound"] = False
    data["aggregates"] = [a for a in data["aggregates"]
                          if not (a["server"] == "thread_pool" and a["connections"] == 16)]
    (folder / "results.json").write_text(json.dumps(data))
    return folder


def test_ratios_and_flags(published, new_run):
    rows, paths, md = reproduce.reproduce("throughput_plaintext", ENTRY, published, new_run)
    by = {(r["server"], r["connections"]): r for r in rows}
    assert len(rows) == 9                       # 3 servers x 3 levels of the published chart
    for level in (16, 64, 256):
        assert by[("event_loop", level)]["ratio"] == pytest.approx(0.5)
        assert by[("event_loop", level)]["flag"] == "beyond ±25%"
        assert by[("coroutine", level)]["ratio"] == pytest.approx(1.1)
        assert by[("coroutine", level)]["flag"] == ""
    assert by[("thread_pool", 64)]["ratio"] == pytest.approx(1.0)
    assert by[("thread_pool", 16)]["new"] is None
    assert by[("thread_pool", 16)]["flag"] == "not measured in the new run"
    assert by[("event_loop", 256)]["client_bound"]   # published point was client-bound
    assert "3 of 9 points beyond tolerance; 1 not measured in the new run" in md
    # event_loop was the fastest and is now behind coroutine: the ranking changed
    assert "ranking of servers: differs at 16, 64, 256 connections" in md
    assert "| event_loop | 64 |" in md and "| 0.50 | beyond ±25% |" in md


def test_overlay_chart_and_table_are_written(published, new_run):
    _, paths, _ = reproduce.reproduce("throughput_plaintext", ENTRY, published, new_run)
    names = sorted(p.name for p in paths)
    assert names == ["reproduce_throughput_plaintext.md", "reproduce_throughput_plaintext.png",
                     "reproduce_throughput_plaintext.svg"]
    assert (new_run / "reproduce_throughput_plaintext.png").stat().st_size > 1024
    text = " ".join(ET.parse(new_run / "reproduce_throughput_plaintext.svg").getroot().itertext())
    assert "published (dotted, faded)" in text and "this run (solid)" in text
    assert "published: Synthetic CPU" in text


def test_tolerance_override_and_strict_exit(published, new_run, capsys):
    args = ["throughput_plaintext", "--published-dir", str(published), "--new", str(new_run)]
    assert reproduce.main(args) == 0
    assert reproduce.main(args + ["--strict"]) == 1
    capsys.readouterr()
    # within ±60% every measured point passes; the point missing from the new run still fails
    assert reproduce.main(args + ["--strict", "--tolerance", "0.6"]) == 1
    out = capsys.readouterr().out
    assert "tolerance: ±60%" in out
    assert "0 of 9 points beyond tolerance; 1 not measured in the new run" in out


def test_listing_and_bad_names(published, capsys):
    assert reproduce.main(["--published-dir", str(published)]) == 0
    assert "throughput_plaintext" in capsys.readouterr().out
    assert reproduce.main(["nope", "--published-dir", str(published)]) == 2
    assert "valid: throughput_plaintext" in capsys.readouterr().err


def test_index_is_validated(tmp_path):
    (tmp_path / "charts.json").write_text(json.dumps({"schema_version": 2, "charts": {}}))
    with pytest.raises(res.ResultsError, match="charts.json has schema_version 2; this script "
                                               "reads version 1"):
        reproduce.load_index(tmp_path)
    bad = dict(ENTRY, metric="speed")
    (tmp_path / "charts.json").write_text(json.dumps({"schema_version": 1, "charts": {"x": bad}}))
    with pytest.raises(res.ResultsError, match="valid: throughput, latency_p99"):
        reproduce.load_index(tmp_path)


def test_harness_command_reruns_the_same_experiment():
    cmd = reproduce.harness_command(ENTRY)
    assert cmd[0].endswith("/lab_harness")
    assert cmd[1:] == ["run", "--suite", "fixture", "--servers",
                       "event_loop,coroutine,thread_pool", "--scenarios", "plaintext"]


def test_committed_index_is_valid():
    reproduce.load_index(res.REPO_ROOT / "results" / "published")
