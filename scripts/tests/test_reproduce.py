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
    by = {(r["server"], r["level"]): r for r in rows}
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
    # event_loop was clearly the fastest and is now clearly behind coroutine (and, where
    # thread_pool was measured, behind it too) — but the published run has 3 repetitions, too
    # few for a U test to be significant: listed as not significant, never as a reversal
    assert "ranking of servers: no pair of servers changed places significantly" in md
    assert ("not significant (U test over repetitions, p ≥ 0.05 in a run), so not reported "
            "as reversals: 16 connections (coroutine above event_loop); 64 connections "
            "(coroutine above event_loop, thread_pool above event_loop)") in md
    # no fingerprint in these runs: said, and the flagged points name a cause or "unexplained"
    assert "Machine fingerprint: not in A and B" in md
    assert all(r["cause"] for r in rows if r["flag"] == "beyond ±25%")
    assert "| event_loop | 64 |" in md and "| 0.50 | beyond ±25% |" in md


def test_near_ties_that_swap_inside_their_spread_are_not_a_ranking_change():
    # (median, min, max, client_bound): a and b overlap in both runs and swap medians;
    # c is clearly above both in both runs.
    published = {("a", 16): (1500, 1480, 1520, False), ("b", 16): (1510, 1490, 1530, False),
                 ("c", 16): (9000, 8900, 9100, False)}
    new = {("a", 16): (1512, 1500, 1525, False), ("b", 16): (1495, 1470, 1515, False),
           ("c", 16): (8000, 7900, 8100, False)}
    assert reproduce.ranking_changes(published, new) == {}
    new[("a", 16)] = (9500, 9400, 9600, False)        # a jumps clearly over c
    # a and b were never apart in the published run, so only the pair (a, c) reversed
    assert reproduce.ranking_changes(published, new) == {16: [("a", "c")]}


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
    with pytest.raises(res.ResultsError, match="valid: throughput, latency_p50, latency_p99, "):
        reproduce.load_index(tmp_path)


def test_harness_command_reruns_the_same_experiment():
    cmd = reproduce.harness_command(ENTRY)
    assert cmd[0].endswith("/lab_harness")
    assert cmd[1:] == ["run", "--suite", "fixture", "--servers",
                       "event_loop,coroutine,thread_pool", "--scenarios", "plaintext",
                       "--startup-runs", "0"]


def test_harness_command_keeps_the_recorded_duration_and_repetitions():
    # A published run made with --duration 5 must be re-run at 5 s, not at the suite's 15 s.
    cmd = reproduce.harness_command(ENTRY, {"name": "full", "duration_s": 5.0, "repetitions": 3})
    assert cmd[-4:] == ["--duration", "5", "--repetitions", "3"]


def test_harness_command_runs_the_recorded_suite_block(tmp_path):
    # The suite file may have changed since (quick lost levels): the recorded block is re-run.
    suite_file = tmp_path / "quick.json"
    cmd = reproduce.harness_command(ENTRY, {"name": "quick", "duration_s": 2.0}, suite_file)
    assert cmd[cmd.index("--suite") + 1] == str(suite_file)


def test_a_published_run_is_never_written_into(published):
    before = sorted(p.name for p in (published / ENTRY["run"]).iterdir())
    with pytest.raises(res.ResultsError, match="is a published run"):
        reproduce.reproduce("throughput_plaintext", ENTRY, published, published / ENTRY["run"])
    assert sorted(p.name for p in (published / ENTRY["run"]).iterdir()) == before


def test_committed_index_is_valid():
    reproduce.load_index(res.REPO_ROOT / "results" / "published")


def test_a_reversal_is_reported_only_when_significant():
    P = reproduce.Point
    published = {("a", 16): P(100, 99, 101, False), ("b", 16): P(200, 199, 201, False)}
    new = {("a", 16): P(300, 299, 301, False), ("b", 16): P(200, 199, 201, False)}
    changed = reproduce.ranking_changes(published, new)
    assert changed == {16: [("a", "b")]}
    five = lambda v: [v - 2, v - 1, v, v + 1, v + 2]
    reps_pub = {("a", 16): five(100), ("b", 16): five(200)}
    reps_new = {("a", 16): five(300), ("b", 16): five(200)}
    assert reproduce.split_by_significance(changed, reps_pub, reps_new) == (changed, {})
    three = lambda v: [v - 1, v, v + 1]
    reps_pub3 = {("a", 16): three(100), ("b", 16): three(200)}
    assert reproduce.split_by_significance(changed, reps_pub3, reps_new) == ({}, changed)
    # without repetitions in the files the band rule stands
    assert reproduce.split_by_significance(changed, {}, {}) == (changed, {})
