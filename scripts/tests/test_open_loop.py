"""Results schema 2: open-loop levels (offered rates) and capacity at an SLO, on the synthetic
open_loop_run fixture: reading, the three open-loop charts, the report, compare, reproduce,
and the lab_load histogram reader."""
import json
import re
import xml.etree.ElementTree as ET

import pytest

import compare
import histogram
import metrics
import open_charts
import reproduce
import results as res
from conftest import OPEN_RUN, SERVICE_RUN, copy_run

OPEN_SCENARIOS = ("plaintext_latency", "sleep_latency")


def svg_text(path):
    return " ".join(ET.parse(path).getroot().itertext())


def svg_ids(path):
    return [e.get("id") for e in ET.parse(path).getroot().iter() if e.get("id")]


def fixture_data():
    return json.loads((OPEN_RUN / "results.json").read_text())


# ---- reading --------------------------------------------------------------------------------

def test_fixture_follows_schema_2_and_covers_the_cases():
    data = fixture_data()
    assert data["schema_version"] == 2
    open_aggs = [a for a in data["aggregates"] if a["load"] == "open"]
    assert {a["server"] for a in open_aggs} == {"event_loop", "thread_pool", "go_nethttp"}
    for scen in OPEN_SCENARIOS:
        for server in ("event_loop", "thread_pool", "go_nethttp"):
            assert len([a for a in open_aggs if a["scenario"] == scen
                        and a["server"] == server]) == 4
    assert all(a["rate"] == a["offered_rate_rps"] and "latency_p99_99_us" in a for a in open_aggs)
    assert [(a["server"], a["rate"]) for a in open_aggs if "overloaded" in a["flags"]] == \
        [("thread_pool", 40000)]
    assert [(a["server"], a["rate"]) for a in open_aggs if a["client_bound"]] == \
        [("event_loop", 40000)]
    assert {c["status"] for c in data["capacity"]} == {"ok", "all_passed", "none_passed"}
    for m in data["measurements"]:
        assert m["load"] in ("open", "closed")
        assert m["generator"] == ("lab_load" if m["load"] == "open" else "wrk")
        if m["load"] == "open":
            assert m["send_lag_us"]["p99"] > 0 and m["connections_opened"] <= m["connections"]
        if m.get("histogram_file"):
            assert (OPEN_RUN / m["histogram_file"]).exists()
    assert any(m.get("histogram_file") for m in data["measurements"])
    assert "SYNTHETIC" in data["context"]["note"]


def test_schema_1_reads_as_closed_loop_without_capacity():
    service = res.Run(SERVICE_RUN).service
    assert {(a["load"], a["rate"]) for a in service["aggregates"]} == {("closed", None)}
    assert service["capacity"] == []
    assert res.scenarios(service, "open") == []


def test_levels_are_connections_or_offered_rates():
    service = res.Run(OPEN_RUN).service
    assert res.scenarios(service, "closed") == ["plaintext"]
    assert sorted(res.scenarios(service, "open")) == sorted(OPEN_SCENARIOS)
    agg = next(a for a in service["aggregates"] if a["load"] == "open" and a["rate"] == 40000
               and a["server"] == "thread_pool")
    assert res.level(agg) == 40000 and res.level_text(agg) == "40,000 req/s offered"
    assert res.is_overloaded(agg)
    closed = next(a for a in service["aggregates"] if a["load"] == "closed")
    assert res.level(closed) == closed["connections"] and not res.is_overloaded(closed)
    # a missing flag is still caught from the numbers: achieved 77% of offered
    assert res.is_overloaded(dict(agg, flags=[]))


def test_capacity_is_quoted_as_the_table_says_it():
    assert res.capacity_text({"status": "ok", "capacity_rps": 52000}) == "52,000"
    assert res.capacity_text({"status": "all_passed", "capacity_rps": 40000}) == "≥ 40,000"
    assert res.capacity_text({"status": "none_passed", "capacity_rps": None}) == "none"
    assert res.capacity_text({"status": "failed", "capacity_rps": None}) == "failed"
    import report
    service = res.Run(OPEN_RUN).service
    service["capacity"][0].update(status="failed", capacity_rps=None,
                                  reason="probe got no responses")
    assert (f"Capacity search failed: {service['capacity'][0]['server']}, "
            f"{service['capacity'][0]['scenario']}: probe got no responses.") in \
        report.service_warnings(service)


# ---- charts ---------------------------------------------------------------------------------

def test_open_loop_charts_are_written_per_open_scenario(plotted_open_run):
    for scen in OPEN_SCENARIOS:
        for name in open_charts.chart_names(scen):
            png, svg = plotted_open_run / f"{name}.png", plotted_open_run / f"{name}.svg"
            assert png.stat().st_size > 1024, name
            text = svg_text(svg)
            assert scen in text and "Synthetic CPU @ 3.0GHz" in text and "2026-11-23" in text
    text = svg_text(plotted_open_run / "latency_vs_load_plaintext_latency.svg")
    assert "offered load, requests/s" in text and "connections" not in text
    assert "SLO: p99 < 10 ms" in text
    assert "Capacity at p99 < 20 ms" in svg_text(plotted_open_run / "capacity_sleep_latency.svg")


def test_closed_and_open_levels_never_share_a_chart(plotted_open_run):
    # the closed-loop scenario gets the connection charts, the open ones never do
    assert (plotted_open_run / "throughput_plaintext.png").exists()
    for scen in OPEN_SCENARIOS:
        for prefix in ("throughput", "latency_p99", "cpu_per_request", "latency_spectrum"):
            assert not (plotted_open_run / f"{prefix}_{scen}.png").exists()
    assert not (plotted_open_run / "latency_vs_load_plaintext.png").exists()
    # the connections chart holds the closed-loop servers' lines only, on connections
    text = svg_text(plotted_open_run / "throughput_plaintext.svg")
    assert "concurrent connections" in text and "offered" not in text
    # open-loop aggregates carry connections too (lab_load's cap, 1024): not drawn here
    assert "1024" not in text


def test_a_scenario_with_both_kinds_of_level_gets_both_kinds_of_chart(tmp_path):
    """A closed-loop run of an open scenario's name (a capacity probe, say) is drawn on the
    connections charts, its open-loop levels on the rate charts, never together."""
    import charts
    data = fixture_data()
    for rec in data["measurements"] + data["aggregates"]:
        if rec["load"] == "closed":
            rec["scenario"] = "plaintext_latency"
    (tmp_path / "results.json").write_text(json.dumps(data))
    copy_run(OPEN_RUN / "logs", tmp_path / "logs")
    drawn = charts.plot_run(res.Run(tmp_path))
    assert {"throughput_plaintext_latency", "latency_vs_load_plaintext_latency"} <= set(drawn)
    closed = svg_text(tmp_path / "throughput_plaintext_latency.svg")
    assert "1024" not in closed and "offered" not in closed       # no open level leaked in
    rates = open_charts.open_points(res.Run(tmp_path).service, "plaintext_latency")
    assert {p["rate"] for pts in rates.values() for p in pts} == set([5000, 10000, 20000, 40000])


def test_overloaded_points_are_crossed_out_and_explained(plotted_open_run):
    svg = plotted_open_run / "latency_vs_load_plaintext_latency.svg"
    crossed = sorted(i for i in svg_ids(svg) if i.endswith("overloaded"))
    # thread_pool at 40,000 req/s, on each latency panel and on achieved vs offered
    assert crossed == ["thread_pool_achieved_overloaded", "thread_pool_latency_p50_overloaded",
                       "thread_pool_latency_p99_9_overloaded", "thread_pool_latency_p99_overloaded"]
    text = svg_text(svg)
    assert metrics.FLAGS["overloaded"].note("open") in text
    assert "overloaded: achieved < 95% of offered" in text
    assert metrics.FLAGS["client_bound"].note("open") in text
    # no overloaded point in sleep_latency: no cross, no legend entry
    sleep = plotted_open_run / "latency_vs_load_sleep_latency.svg"
    assert not [i for i in svg_ids(sleep) if i.endswith("overloaded")]
    assert metrics.FLAGS["overloaded"].note("open") not in svg_text(sleep)


def test_draw_series_marks_only_overloaded_points():
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    st = {"color": "#000", "marker": "o", "linestyle": "-"}
    points = [{"rate": r, "overloaded": r == 30, "client_bound": False} for r in (10, 20, 30)]
    seen = open_charts.draw_series(ax, st, points, [(1, 1, 1), (2, 2, 2), (50, 50, 50)], "s", "x_")
    crossed = [line for line in ax.get_lines() if line.get_gid() == "x_overloaded"]
    assert seen == {"overloaded"} and len(crossed) == 1
    assert list(crossed[0].get_xdata()) == [30] and crossed[0].get_marker() == "x"
    # the segment into the overloaded point is dotted, the others keep the line style
    segments = [line for line in ax.get_lines() if len(line.get_xdata()) == 2]
    assert [s.get_linestyle() for s in segments] == ["-", ":"]
    plt.close(fig)


def test_spectrum_rate_is_the_highest_no_server_was_overloaded_at():
    service = res.Run(OPEN_RUN).service
    why, rates = open_charts.spectrum_rates(service, "plaintext_latency")
    assert set(rates.values()) == {20000} and "no server was overloaded" in why
    # fractions of each server's probe: no common rate, the common fraction instead
    why, rates = open_charts.spectrum_rates(service, "sleep_latency")
    assert rates == {"event_loop": 18000, "go_nethttp": 13500, "thread_pool": 720}
    assert "90% of its closed-loop capacity probe" in why
    # without probes: each server at its highest rate not overloaded
    service["capacity"] = []
    why, rates = open_charts.spectrum_rates(service, "sleep_latency")
    assert rates == {"event_loop": 18000, "go_nethttp": 13500, "thread_pool": 720}
    assert why == "each server at its highest offered rate not overloaded"


def test_spectrum_reads_histograms_when_every_repetition_has_one(tmp_path):
    folder = copy_run(OPEN_RUN, tmp_path / "run")
    service = res.Run(folder).service
    _, rates = open_charts.spectrum_rates(service, "plaintext_latency")
    curves = open_charts.spectrum_curves(service, folder, "plaintext_latency", rates)
    assert {c["source"] for c in curves.values()} == {"histogram"}
    assert max(curves["event_loop"]["x"]) == pytest.approx(4.0)      # up to 99.99%
    assert len(curves["event_loop"]["x"]) == open_charts.CURVE_POINTS
    _, rates = open_charts.spectrum_rates(service, "sleep_latency")
    curves = open_charts.spectrum_curves(service, folder, "sleep_latency", rates)
    assert {c["source"] for c in curves.values()} == {"stored"}
    assert len(curves["go_nethttp"]["x"]) == 6                       # p50 ... p99.99
    # one missing histogram file: that server falls back to the stored percentiles
    m = next(m for m in service["measurements"] if m.get("histogram_file")
             and m["server"] == "go_nethttp" and m["rate"] == 20000)
    (folder / m["histogram_file"]).unlink()
    _, rates = open_charts.spectrum_rates(service, "plaintext_latency")
    curves = open_charts.spectrum_curves(service, folder, "plaintext_latency", rates)
    assert curves["go_nethttp"]["source"] == "stored"
    assert curves["event_loop"]["source"] == "histogram"


# ---- histograms -----------------------------------------------------------------------------

def test_histogram_percentiles_on_known_buckets():
    # 2 sub-bucket bits: indices below 8 are exact values; index 10 is [12, 14), midpoint 13
    h = histogram.Histogram.from_json({"layout": {"unit": "ns", "sub_bucket_bits": 2,
                                                  "max_value_bits": 10},
                                       "count": 100, "min": 3, "max": 13, "sum": 800,
                                       "buckets": [[10, 50], [3, 50]]})
    assert h.bucket_lower(10) == 12 and h.bucket_width(10) == 2
    assert h.percentile(50) == 3 and h.percentile(50.5) == 13 and h.percentile(100) == 13
    assert h.percentile(0) == 3
    with pytest.raises(histogram.HistogramError, match="do not add up"):
        histogram.Histogram.from_json({"layout": {"sub_bucket_bits": 2, "max_value_bits": 10},
                                       "count": 3, "buckets": [[1, 1]]})
    with pytest.raises(histogram.HistogramError, match="bad layout"):
        histogram.Histogram.from_json({"layout": {"sub_bucket_bits": 0, "max_value_bits": 10},
                                       "count": 0, "buckets": []})
    assert histogram.load_lab_load_histogram(OPEN_RUN / "nope.json") is None


def test_histogram_reader_agrees_with_the_stored_percentiles():
    # make_fixtures.py computes the stored percentiles with its own copy of lab_load's walk
    checked = 0
    for m in fixture_data()["measurements"]:
        if not m.get("histogram_file"):
            continue
        h = histogram.load_lab_load_histogram(OPEN_RUN / m["histogram_file"])
        assert h.count == m["requests"]
        for key, p in (("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9),
                       ("p99_99", 99.99)):
            assert round(h.percentile(p) / 1000, 1) == pytest.approx(m["latency_us"][key]), key
        checked += 1
    assert checked == 36


# ---- report ---------------------------------------------------------------------------------

def test_report_has_open_tables_capacity_and_explains_each_flag_once(plotted_open_run):
    md = (plotted_open_run / "report.md").read_text()
    assert "## Scenario: plaintext (open loop)" not in md and "## Scenario: plaintext\n" in md
    for scen in OPEN_SCENARIOS:
        assert f"## Scenario: {scen} (open loop)" in md
        assert f"### Capacity at the SLO — {scen}" in md
    assert "| event_loop | 10 | ≥ 40,000 | – | – | 4 | all_passed |" in md
    assert "| thread_pool | 20 | none | 200 | 800 | 4 | none_passed |" in md
    row = next(l for l in md.splitlines() if l.startswith("| thread_pool | thread_pool | 40,000 |"))
    assert row.endswith("| overloaded |")
    warnings = md.split("## Warnings")[1].split("## Context")[0]
    assert "| thread_pool | O 1/4 |" in warnings      # the flags table, then each point
    assert "Overloaded: thread_pool, plaintext_latency @ 40,000 req/s offered — achieved " \
           "31,000 req/s (77% of offered)." in warnings
    assert "Client-bound: event_loop, plaintext_latency @ 40,000 req/s offered — send lag " \
           "p99 1.6 ms." in warnings
    explained = md.split("### What the flags mean")[1].split("## ")[0]
    assert explained.count("Overloaded (overloaded):") == 1
    assert explained.count("Client-bound (client_bound):") == 1
    assert metrics.FLAGS["client_bound"].explain("open") in explained
    html = (plotted_open_run / "report.html").read_text()
    for scen in OPEN_SCENARIOS:
        for name in open_charts.chart_names(scen):
            assert f'alt="{name}"' in html


# ---- compare --------------------------------------------------------------------------------

def changed_run(folder, p99_factor=None, capacity=None, drop_rate=None):
    """A copy of the open fixture with thread_pool's p99 at 20,000 req/s scaled, capacity
    entries replaced, and/or a rate removed."""
    data = fixture_data()
    for agg in data["aggregates"]:
        if p99_factor and agg["server"] == "thread_pool" and agg.get("rate") == 20000:
            agg["latency_p99_us"] = {k: v * p99_factor for k, v in agg["latency_p99_us"].items()}
    if drop_rate:
        data["aggregates"] = [a for a in data["aggregates"] if a.get("rate") != drop_rate]
    for c in data["capacity"]:
        c.update((capacity or {}).get((c["server"], c["scenario"]), {}))
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(data))
    return folder


def test_compare_matches_open_levels_by_offered_rate(tmp_path, capsys):
    a = copy_run(OPEN_RUN, tmp_path / "a")
    b = changed_run(tmp_path / "b", p99_factor=2.0, drop_rate=5000, capacity={
        ("thread_pool", "plaintext_latency"): {"capacity_rps": 10000, "first_failing_rps": 20000},
        ("event_loop", "plaintext_latency"): {"capacity_rps": 40000}})
    sa, sb = res.Run(a).service, res.Run(b).service
    rows, only_a, only_b = compare.compare_levels(sa, sb, "open")
    by = {(r["server"], r["scenario"], r["rate"]): r for r in rows}
    assert by[("thread_pool", "plaintext_latency", 20000)]["metrics"]["p99"]["ratio"] == \
        pytest.approx(2.0)
    assert by[("thread_pool", "plaintext_latency", 10000)]["metrics"]["p99"]["ratio"] == 1.0
    assert by[("thread_pool", "plaintext_latency", 40000)]["overloaded"] == ["A", "B"]
    assert ("event_loop", "plaintext_latency", 5000) in only_a and not only_b
    # closed-loop rows stay keyed by connections, and never meet an open row
    closed, _, _ = compare.compare_service(sa, sb)
    assert {(r["scenario"], r["connections"]) for r in closed} == {("plaintext", 16),
                                                                    ("plaintext", 64)}
    cap, _, _ = compare.compare_capacity(sa, sb)
    cap = {(r["server"], r["scenario"]): r for r in cap}
    assert cap[("thread_pool", "plaintext_latency")]["ratio"] == 0.5
    assert cap[("event_loop", "plaintext_latency")]["lower_bound"] == ["A", "B"]
    assert cap[("thread_pool", "sleep_latency")]["ratio"] is None        # none passed
    assert compare.main([str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "Service, closed loop (connections)" in out
    assert "Service, open loop (offered rate)" in out and "Capacity at the SLO" in out
    assert "only in A: event_loop, plaintext_latency @ 5,000 req/s" in out
    md = (b / "compare.md").read_text()
    assert re.search(r"\| thread_pool \| plaintext_latency \| 20,000 \| [\d,]+ \| [\d,]+ \| "
                     r"[\d.~]+ \| [\d.~]+ \| 2\.00 \|", md)
    assert "| thread_pool | plaintext_latency | 10 | 20,000 | 10,000 | 0.50 |" in md
    assert "| event_loop | plaintext_latency | 10 | ≥ 40,000 | ≥ 40,000 | 1.00 | ≥: every rate " \
           "tried met the SLO in A and B (a lower bound) |" in md


def test_compare_v1_against_v2_matches_only_closed_levels(tmp_path, capsys):
    assert compare.main([str(SERVICE_RUN), str(OPEN_RUN), "-o", str(tmp_path / "c.md")]) == 0
    out = capsys.readouterr().out
    assert "only in B: event_loop, plaintext_latency @ 5,000 req/s" in out
    assert re.search(r"^event_loop\s+plaintext\s+16\s", out, re.M)


# ---- reproduce ------------------------------------------------------------------------------

SERVERS = ["event_loop", "thread_pool", "go_nethttp"]


def published_open(tmp_path, entries):
    root = tmp_path / "published"
    copy_run(OPEN_RUN, root / "fixture-open")
    (root / "charts.json").write_text(json.dumps({"schema_version": 1, "charts": entries}))
    return root


def entry(metric, scenario):
    return {"run": "fixture-open", "metric": metric, "scenario": scenario,
            "suite": "fixture-open", "servers": SERVERS}


def test_reproduce_an_open_loop_chart_by_offered_rate(tmp_path):
    e = entry("latency_p99", "plaintext_latency")
    root = published_open(tmp_path, {"open_p99": e})
    new = changed_run(tmp_path / "new", p99_factor=2.0)
    rows, paths, md = reproduce.reproduce("open_p99", e, root, new)
    by = {(r["server"], r["level"]): r for r in rows}
    assert len(rows) == 12
    assert by[("thread_pool", 20000)]["ratio"] == pytest.approx(2.0)
    assert by[("thread_pool", 20000)]["flag"] == "beyond ±50%"         # p99's tolerance
    assert by[("thread_pool", 40000)]["marks"] == ["overloaded"]
    assert by[("event_loop", 40000)]["client_bound"]
    assert "| server | offered req/s | published ms | new ms | new/published | flag |" in md
    assert "| thread_pool | 20,000 | 4.13 | 8.26 | 2.00 | beyond ±50% |" in md
    assert "| thread_pool | 40,000 |" in md and "overloaded" in md
    svg = new / "reproduce_open_p99.svg"
    assert "offered load, requests/s" in svg_text(svg)
    assert "thread_pool_overloaded" in svg_ids(svg)


def test_reproduce_matches_a_probe_fraction_sweep_by_fraction(tmp_path):
    e = entry("throughput", "sleep_latency")
    root = published_open(tmp_path, {"sleep_rps": e})
    # another machine: every probe 10% higher, so every offered rate differs
    data = fixture_data()
    for c in data["capacity"]:
        if c["probe_rps"]:
            c["probe_rps"] *= 1.1
    for agg in data["aggregates"]:
        if agg["scenario"] == "sleep_latency":
            agg["rate"] = agg["offered_rate_rps"] = agg["rate"] * 1.1
            agg["requests_per_s"] = {k: v * 1.1 for k, v in agg["requests_per_s"].items()}
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "results.json").write_text(json.dumps(data))
    rows, _, md = reproduce.reproduce("sleep_rps", e, root, tmp_path / "new")
    assert len(rows) == 12 and not [r for r in rows if r["new"] is None]
    assert {r["level"] for r in rows} == {0.25, 0.5, 0.75, 0.9}
    assert all(r["ratio"] == pytest.approx(1.1) for r in rows)
    assert "fractions of each server's closed-loop probe" in md
    assert "| event_loop | 90% |" in md


def test_reproduce_capacity_per_server(tmp_path):
    e = entry("capacity", "plaintext_latency")
    root = published_open(tmp_path, {"cap": e})
    new = changed_run(tmp_path / "new", capacity={
        ("thread_pool", "plaintext_latency"): {"capacity_rps": 10000}})
    rows, paths, md = reproduce.reproduce("cap", e, root, new)
    by = {r["server"]: r for r in rows}
    assert by["thread_pool"]["ratio"] == 0.5 and by["thread_pool"]["flag"] == "beyond ±25%"
    assert by["event_loop"]["marks"] == ["all_passed"]
    assert "| server | SLO p99 ms |" in md and "≥ (every rate tried met the SLO)" in md
    assert (new / "reproduce_cap.png").stat().st_size > 1024
    # a none_passed capacity is a zero, not a missing point
    none_e = entry("capacity", "sleep_latency")
    rows, _, _ = reproduce.reproduce("cap", none_e, root, new)
    tp = next(r for r in rows if r["server"] == "thread_pool")
    assert tp["published"] == 0 and tp["marks"] == ["none_passed"] and tp["ratio"] is None


def test_reproduce_accepts_every_registry_chart_metric(tmp_path):
    entries = {f"{m}_x": entry(m, "plaintext_latency") for m in metrics.REPRODUCIBLE}
    assert set(reproduce.load_index(published_open(tmp_path, entries))) == set(entries)


# ---- one registry ---------------------------------------------------------------------------

def test_no_script_keeps_its_own_metric_table():
    """Field names, labels, tolerances and flag meanings are written in metrics.py only."""
    scripts = [p for p in res.REPO_ROOT.joinpath("scripts").glob("*.py") if p.name != "metrics.py"]
    assert len(scripts) >= 8
    flag_phrases = [f.meaning[:40] for f in metrics.FLAGS.values()] + \
        [f.meaning_open[:40] for f in metrics.FLAGS.values() if f.meaning_open] + \
        [f.chart_note[:30] for f in metrics.FLAGS.values() if f.chart_note]
    for path in scripts:
        text = path.read_text(encoding="utf-8")
        for m in metrics.METRICS:
            assert f'"{m.name}"' not in text and f"'{m.name}'" not in text, (path.name, m.name)
        assert not re.search(r"^\s*METRICS\s*=", text, re.M), path.name
        assert not re.search(r"tolerance\s*[=:]\s*0\.\d", text), path.name
        for phrase in flag_phrases:
            assert phrase not in text, (path.name, phrase)


def test_registry_entries_are_complete():
    for m in metrics.METRICS:
        assert m.better in ("higher", "lower") and m.unit and m.label and m.short
        assert m.log_axis in (True, False, "auto")
        assert m.source in ("aggregates", "startup", "capacity")
        assert m.tolerance is None or 0 < m.tolerance < 1
    assert set(metrics.FLAGS) == {"client_bound", "errors", "noisy", "starved", "server_died",
                                  "overloaded", "downstream_bound", "noisy_machine"}
    assert metrics.SEND_LAG.from_measurement({"send_lag_us": {"p99": 40}}) == 40
    assert metrics.CAPACITY.stat({"capacity_rps": 5}) == (5, 5, 5)
    assert metrics.P99.axis_label(True) == "p99 latency, ms (log) (lower is better)"
