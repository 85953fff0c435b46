"""compare.py: ratios B/A on known numbers, overlap notes, compare.md, micro folders."""
import copy
import json

import compare
from conftest import MICRO_RUN, SERVICE_RUN


def agg(server, rps, p99, cpu, rss, connections=64, scenario="plaintext"):
    """An aggregate whose min/max are +-2% around the given medians."""
    mmm = lambda v: {"median": v, "min": v * 0.98, "max": v * 1.02}
    return {"server": server, "model": "event_loop", "scenario": scenario,
            "connections": connections, "pipeline": 1, "repetitions": 3,
            "requests_per_s": mmm(rps), "latency_p99_us": mmm(p99),
            "cpu_us_per_request": mmm(cpu), "rss_peak_kb": mmm(rss),
            "client_bound": False, "flags": []}


def write_run(folder, aggregates):
    folder.mkdir()
    data = json.loads((SERVICE_RUN / "results.json").read_text())
    data["aggregates"] = aggregates
    (folder / "results.json").write_text(json.dumps(data))
    return folder


def test_ratios_are_b_over_a_on_known_numbers(tmp_path, capsys):
    a = write_run(tmp_path / "a", [agg("event_loop", 100000, 2000, 10.0, 4096),
                                   agg("thread_pool", 50000, 4000, 20.0, 8192)])
    b = write_run(tmp_path / "b", [agg("event_loop", 150000, 1000, 12.5, 4096),
                                   agg("thread_pool", 40000, 4000, 30.0, 2048),
                                   agg("fiber", 1, 1, 1, 1)])
    rows, only_a, only_b = compare.compare_service(
        json.loads((a / "results.json").read_text()), json.loads((b / "results.json").read_text()))
    by = {r["server"]: r["metrics"] for r in rows}
    assert by["event_loop"]["req/s"]["ratio"] == 1.5
    assert by["event_loop"]["p99"]["ratio"] == 0.5
    assert by["event_loop"]["CPU/req"]["ratio"] == 1.25
    assert by["event_loop"]["peak RSS"]["ratio"] == 1.0
    assert by["thread_pool"]["req/s"]["ratio"] == 0.8
    assert by["thread_pool"]["CPU/req"]["ratio"] == 1.5
    assert by["thread_pool"]["peak RSS"]["ratio"] == 0.25
    # equal medians with +-2% ranges overlap; 1.5x apart they do not
    assert by["event_loop"]["peak RSS"]["overlap"] and by["thread_pool"]["p99"]["overlap"]
    assert not by["event_loop"]["req/s"]["overlap"]
    assert only_a == [] and only_b == [("fiber", "plaintext", 64)]

    assert compare.main([str(a), str(b)]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("event_loop"))
    assert "1.50 " in line and "0.50 " in line and "1.25 " in line and "1.00~" in line
    assert "not meaningful (ranges overlap): peak RSS" in line
    assert "only in B: fiber, plaintext @ 64" in out
    md = (b / "compare.md").read_text()
    assert "| event_loop | plaintext | 64 | 100,000 | 150,000 | 1.50 | 0.50 | 1.25 | 1.00~ |" in md


def test_overlap_is_range_intersection():
    assert compare.overlaps((10, 9, 11), (11.5, 10.9, 12))
    assert not compare.overlaps((10, 9, 11), (12, 11.1, 13))
    assert compare.ratio((0, 0, 0), (1, 1, 1)) is None


def test_micro_folders_are_compared_per_primitive(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    data = json.loads((MICRO_RUN / "micro.json").read_text())
    (a / "micro.json").write_text(json.dumps(data))
    faster = copy.deepcopy(data)
    for r in faster["results"]:
        if r["primitive"] == "boost_fiber" and r["measurement"] == "switch":
            r["value"], r["min"], r["max"] = r["value"] / 2, r["min"] / 2, r["max"] / 2
    (b / "micro.json").write_text(json.dumps(faster))
    assert compare.main([str(a), str(b), "-o", str(tmp_path / "c.md")]) == 0
    out = capsys.readouterr().out
    fiber = next(l for l in out.splitlines() if l.startswith("boost_fiber") and " switch " in l)
    assert "0.50" in fiber and "not meaningful" not in fiber
    same = next(l for l in out.splitlines() if l.startswith("goroutine") and " skynet " in l)
    assert "1.00~" in same and "not meaningful" in same
    assert (tmp_path / "c.md").exists()
