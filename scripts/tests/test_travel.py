"""Numbers that travel (issue 14): the median's confidence interval, the Mann-Whitney U test,
spread figures, fingerprint ratios, the rules that name a cause, and compare/reproduce using
them — on known numbers."""
import itertools
import json
import math

import pytest

import compare
import machine
import metrics
import reproduce
import spread
import uncertainty
from conftest import SERVICE_RUN, copy_run


# ---- median CI --------------------------------------------------------------------------

def test_median_ci_small_n_is_min_max_with_its_real_coverage():
    assert uncertainty.median_ci([3, 1, 2]) == (1, 3, 0.75)
    lo, hi, cov = uncertainty.median_ci([5, 1, 4, 2, 3])
    assert (lo, hi) == (1, 5) and cov == pytest.approx(1 - 2 / 32)
    assert uncertainty.median_ci([]) is None
    assert uncertainty.median_ci([7]) == (7, 7, 0.0)


def test_median_ci_is_the_narrowest_pair_reaching_95_percent():
    lo, hi, cov = uncertainty.median_ci(list(range(1, 11)))   # n = 10
    # k = 2: 1 - 2·P(B(10, ½) ≤ 1) = 0.9785; k = 3 would be 0.891
    assert (lo, hi) == (2, 9) and cov == pytest.approx(1 - 2 * 11 / 1024)
    lo, hi, cov = uncertainty.median_ci(list(range(1, 21)))   # n = 20: (6th, 15th)
    assert (lo, hi) == (6, 15) and cov >= 0.95


# ---- Mann-Whitney U ---------------------------------------------------------------------

def test_u_exact_on_known_small_samples():
    t = uncertainty.mann_whitney([1, 2, 3], [4, 5, 6])
    assert t["u"] == 0 and t["p"] == pytest.approx(0.1) and t["method"] == "exact"
    assert uncertainty.mann_whitney([1, 2, 3, 4], [5, 6, 7, 8])["p"] == pytest.approx(2 / 70)
    same = uncertainty.mann_whitney([1, 2, 3], [1, 2, 3])
    assert same["u"] == 4.5 and same["p"] == pytest.approx(1.0)
    assert uncertainty.mann_whitney([], [1]) is None


def test_u_exact_matches_brute_force_with_ties():
    a, b = [1, 2, 2, 5], [2, 3, 4, 4, 6]
    t = uncertainty.mann_whitney(a, b)
    u_of = lambda x, y: sum((p > q) + 0.5 * (p == q) for p in x for q in y)
    assert t["u"] == u_of(a, b)
    pooled = a + b
    mean = len(a) * len(b) / 2
    count = extreme = 0
    for idx in itertools.combinations(range(len(pooled)), len(a)):
        x = [pooled[i] for i in idx]
        y = [pooled[i] for i in range(len(pooled)) if i not in idx]
        count += 1
        extreme += abs(u_of(x, y) - mean) >= abs(t["u"] - mean) - 1e-9
    assert t["p"] == pytest.approx(extreme / count)


def test_u_normal_approximation_for_large_samples():
    a = list(range(20))
    b = [v + 10 for v in a]
    t = uncertainty.mann_whitney(a, b)
    assert t["method"] == "normal"
    # U = 45 pairs a > b + 10 ties × ½ = 50; mean 200; ten tied pairs shrink the variance
    # 20·20/12·(41 − 10·6/(40·39)); continuity ½
    z = (200 - 50 - 0.5) / math.sqrt(20 * 20 / 12 * (41 - 60 / (40 * 39)))
    assert t["u"] == 50 and t["p"] == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-3)
    assert uncertainty.significant(t)


def test_power_note_says_when_nothing_can_be_significant():
    assert uncertainty.min_p_value(3, 3) == pytest.approx(0.1)
    assert "0.10" in uncertainty.power_note(3, 3)
    assert uncertainty.power_note(5, 5) is None


# ---- spread -----------------------------------------------------------------------------

def agg(server, rps, cpu, p99, spread_rps, reps=3, scenario="plaintext", connections=16):
    mmm = lambda v, s: {"median": v, "min": v * (1 - s / 2), "max": v * (1 + s / 2)}
    return {"server": server, "scenario": scenario, "connections": connections, "pipeline": 1,
            "load": "closed", "repetitions": reps, "requests_per_s": mmm(rps, spread_rps),
            "cpu_us_per_request": mmm(cpu, 0.02), "latency_p99_us": mmm(p99, 0.30)}


def test_spread_counts_points_within_the_bounds():
    service = {"aggregates": [agg("a", 100, 10, 1000, 0.02), agg("b", 100, 10, 1000, 0.08),
                              agg("c", 100, 10, 1000, 0.04, scenario="json"),
                              agg("d", 100, 10, 1000, 0.5, reps=1)]}   # one repetition: no point
    report = spread.spread_report(service)
    closed = report["closed"]["all"]
    assert closed["req/s"]["points"] == 3 and closed["req/s"]["within"] == 2
    assert closed["req/s"]["median_spread"] == pytest.approx(0.04)
    assert not closed["req/s"]["met"]                    # 67 % < 80 %
    assert closed["CPU/req"]["met"] and not closed["p99"]["met"]
    assert report["closed"]["by_scenario"]["json"]["req/s"]["within"] == 1


def test_spread_cli_on_the_fixture(capsys):
    assert spread.main([str(SERVICE_RUN)]) == 0
    out = capsys.readouterr().out
    assert "closed loop, all points: req/s ≤5%" in out and "targets (closed loop)" in out
    assert spread.main([str(SERVICE_RUN), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[str(SERVICE_RUN)]["closed"]["all"]["req/s"]["points"] > 0
    assert spread.main(["/nonexistent"]) == 2


# ---- fingerprint and causes ---------------------------------------------------------------

def fp(**figures):
    return {"fingerprint": {"cpu": 0, "repetitions": 7, "system": {"clocksource": "tsc"},
                            "figures": {k: {"median": v, "min": v, "max": v}
                                        for k, v in figures.items()}}}


BASE = dict(compute_ns=1.0, clock_gettime_ns=20.0, syscall_ns=100.0, context_switch_ns=2000.0,
            chase_64MiB_ns=100.0, read_gbps=10.0)


def test_fingerprint_ratios_and_lines():
    slow = dict(BASE, compute_ns=2.0, read_gbps=5.0)
    ratios = {r[0]: r for r in machine.figure_ratios(fp(**BASE), fp(**slow))}
    assert ratios["compute_ns"][4] == 2.0 and ratios["compute_ns"][5] == 2.0
    assert ratios["read_gbps"][4] == 0.5 and ratios["read_gbps"][5] == 2.0   # half: 2× slower
    assert ratios["syscall_ns"][5] == 1.0
    lines = machine.fingerprint_lines(fp(**BASE), fp(**slow))
    assert any(l.strip().startswith("compute_ns") and "2.00 *" in l for l in lines)
    assert "not in B" in machine.fingerprint_lines(fp(**BASE), {})[0]


def test_explain_names_the_figure_that_moved_with_the_point():
    ratios = machine.figure_ratios(fp(**BASE), fp(**dict(BASE, compute_ns=2.1)))
    cause = machine.explain(2.0, "go", False, {}, {}, ratios)
    assert cause.startswith("compute_ns 2.10× slower")
    # a C++ server's candidates are syscalls, switches, compute and copy: compute still fits
    assert machine.explain(2.0, "cpp", False, {}, {}, ratios).startswith("compute_ns")
    # a figure that moved the other way never explains a slowdown
    faster = machine.figure_ratios(fp(**BASE), fp(**dict(BASE, compute_ns=0.5)))
    assert machine.explain(2.0, "go", False, {}, {}, faster) == "unexplained"
    quiet = machine.figure_ratios(fp(**BASE), fp(**BASE))
    assert machine.explain(2.0, "cpp", False, {}, {}, quiet) == "unexplained"
    assert "no fingerprint" in machine.explain(2.0, "go", False, {}, {}, [])


def test_explain_prefers_noise_gc_and_faults_over_the_fingerprint():
    ratios = machine.figure_ratios(fp(**BASE), fp(**dict(BASE, compute_ns=2.0)))
    assert machine.explain(2.0, "go", False, {}, {"foreign_fraction": 0.12}, ratios) \
        .startswith("noisy machine")
    gc = machine.explain(2.0, "go", False, {"gc_ms_per_1k_requests": 1.0},
                         {"gc_ms_per_1k_requests": 3.0, "gc_share": 0.05}, ratios)
    assert gc.startswith("GC pauses 1.00 → 3.00")
    faults = machine.explain(2.0, "go", False, {"major_faults_per_1k_requests": 0},
                             {"major_faults_per_1k_requests": 0.5}, ratios)
    assert faults.startswith("page faults up")
    assert machine.explain(2.0, "go", True, {}, {}, ratios).startswith("client-bound")


def test_noise_of_measurements():
    ms = [{"requests": 1000, "duration_s": 1.0, "flags": [],
           "machine": {"steal_fraction": 0.01, "foreign_fraction": 0.02},
           "server_stats": {"minor_faults": 10, "major_faults": 0,
                            "gc": {"runtime": "go", "pauses": 3, "pause_total_ms": 5.0,
                                   "pause_max_ms": 2.0}}}]
    n = machine.noise_of(ms)
    assert n["steal_fraction"] == 0.01 and n["gc_ms_per_1k_requests"] == 5.0
    assert n["gc_share"] == pytest.approx(0.005) and n["minor_faults_per_1k_requests"] == 10
    assert machine.noise_of([{"requests": 0}]) == {}


# ---- compare with repetitions -------------------------------------------------------------

def with_reps(folder, factor, reps, fingerprint=None):
    """The fixture with `reps` repetitions per point, every value × factor (a few % apart)."""
    data = json.loads((SERVICE_RUN / "results.json").read_text())
    template = next(m for m in data["measurements"] if m["server"] == "event_loop"
                    and m["scenario"] == "plaintext" and m["connections"] == 64)
    ms = []
    values = [factor * (1000 + 10 * i) for i in range(reps)]
    for i, v in enumerate(values):
        m = json.loads(json.dumps(template))
        m["repetition"], m["requests_per_s"] = i, v
        ms.append(m)
    data["measurements"] = ms
    a = [a for a in data["aggregates"] if a["server"] == "event_loop"
         and a["scenario"] == "plaintext" and a["connections"] == 64][0]
    a["requests_per_s"] = {"median": sorted(values)[reps // 2], "min": min(values),
                           "max": max(values)}
    a["repetitions"] = reps
    data["aggregates"] = [a]
    data["suite"]["repetitions"] = reps
    if fingerprint:
        data["context"].update(fingerprint)
    copy_run(SERVICE_RUN, folder)
    (folder / "results.json").write_text(json.dumps(data))
    return folder


def test_compare_marks_by_the_u_test(tmp_path, capsys):
    a = with_reps(tmp_path / "a", 1.0, 5, fp(**BASE))
    b = with_reps(tmp_path / "b", 1.5, 5, fp(**dict(BASE, compute_ns=1.5)))
    text, md = compare.build(a, b)
    row = next(l for l in text.splitlines() if l.startswith("event_loop"))
    assert "1.50 " in row                        # 5 vs 5, fully apart: p = 0.008, significant
    assert "compute_ns" in text and "1.50 *" in text
    c = with_reps(tmp_path / "c", 1.0, 3)
    d = with_reps(tmp_path / "d", 1.5, 3)
    text, md = compare.build(c, d)
    row = next(l for l in text.splitlines() if l.startswith("event_loop"))
    assert "1.50~" in row and "not significant (U test): req/s p=0.1" in row
    assert "smallest possible p is 0.10" in text


def test_spread_within_one_start_groups_repeats_of_the_same_request(capsys, tmp_path):
    def m(server, rep, scenario, rps, path="/json"):
        return {"server": server, "scenario": scenario, "path": path, "connections": 256,
                "pipeline": 1, "load": "closed", "repetition": rep, "requests_per_s": rps,
                "server_stats": {"cpu_us_per_request": 10.0}, "latency_us": {"p99": 1000}}
    service = {"measurements": [
        m("a", 0, "json_a", 100), m("a", 0, "json_b", 110), m("a", 0, "json_c", 105),
        m("a", 1, "json_a", 50),                                  # alone in its start: no group
        m("b", 0, "json_a", 100), m("b", 0, "plain", 300, path="/plaintext")]}
    points = spread.within_start_points(service)
    assert [(g["server"], g["repetition"], g["measurements"]) for g, _ in points] == [("a", 0, 3)]
    assert points[0][1]["req/s"] == pytest.approx(10 / 105)
    assert points[0][1]["CPU/req"] == 0
    run = tmp_path / "run"
    run.mkdir()
    data = json.loads((SERVICE_RUN / "results.json").read_text())
    data["measurements"] = service["measurements"]
    (run / "results.json").write_text(json.dumps(data))
    assert spread.main([str(run), "--within-start"]) == 0
    out = capsys.readouterr().out
    assert "a start 0 /json c=256 ×3: req/s 9.5%" in out and "all: req/s ≤5%: 0/1" in out


def test_spread_from_the_first_repetitions(capsys):
    data = json.loads((SERVICE_RUN / "results.json").read_text())
    two = spread.first_repetitions(data, 2)
    assert two["aggregates"] and all(a["repetitions"] <= 2 for a in two["aggregates"])
    full = spread.spread_report(data)["closed"]["all"]["req/s"]
    fewer = spread.spread_report(two)["closed"]["all"]["req/s"]
    assert fewer["median_spread"] <= full["median_spread"]   # a subset's range is never wider
    assert spread.main([str(SERVICE_RUN), "--repetitions", "2"]) == 0
    assert "first 2 of 3" in capsys.readouterr().out
    assert spread.main([str(SERVICE_RUN), "--repetitions", "1"]) == 2


def test_charts_draw_the_median_ci_as_error_bars(tmp_path, monkeypatch):
    import charts
    seen = {}

    def capture(fig, folder, name, rect=None):
        seen["texts"] = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        return []
    monkeypatch.setattr(charts, "save", capture)
    data = json.loads((SERVICE_RUN / "results.json").read_text())
    charts.plot_metric_vs_concurrency(data, tmp_path, "plaintext", metrics.REQUESTS, "t")
    # 3 repetitions: the interval is the min–max, and the legend says it covers 75 %
    assert any("75% CI of the median" in t for t in seen["texts"]), seen["texts"]
