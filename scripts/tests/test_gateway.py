"""The API-gateway charts (gateway_charts.py) on the synthetic gateway fixture and on small
hand-made runs whose ratios are known exactly."""
import json

import pytest

import conftest
import gateway_charts as gw
import metrics
import report
import results as res


def gateway_service():
    return res.Run(conftest.GATEWAY_RUN).service


def agg(server, scenario, connections, p50_ms, p99_ms, rss_kb=1000, flags=()):
    med = lambda v: {"median": v, "min": v, "max": v}   # noqa: E731
    return {"server": server, "model": "event_loop", "scenario": scenario,
            "connections": connections, "pipeline": 1, "load": "closed", "rate": None,
            "repetitions": 1, "requests_per_s": med(100.0),
            "latency_p50_us": med(p50_ms * 1000), "latency_p99_us": med(p99_ms * 1000),
            "rss_peak_kb": med(rss_kb), "downstream_calls_per_request": med(4.0),
            "downstream_cpu_utilization": med(0.5), "flags": list(flags)}


def hand_service(aggregates, scenarios):
    return {"context": {}, "servers": [{"name": "a", "model": "event_loop", "status": "ok"}],
            "suite": {"scenarios": scenarios}, "measurements": [], "aggregates": aggregates,
            "startup": [], "capacity": []}


def test_gateway_params_parse_the_query():
    assert gw.gateway_params("/gateway?fanout=16&ms=10&mode=sequential") == \
        {"fanout": 16, "ms": 10.0, "mode": "sequential"}
    assert gw.gateway_params("/plaintext") is None
    assert gw.gateway_params("/gateway?fanout=x") is None


def test_ratios_on_known_numbers():
    scen = [{"name": "f4p", "path": "/gateway?fanout=4&ms=20&mode=parallel"},
            {"name": "f4s", "path": "/gateway?fanout=4&ms=20&mode=sequential"}]
    svc = hand_service([agg("a", "f4p", 64, 22.0, 30.0), agg("a", "f4s", 64, 84.0, 100.0),
                        agg("a", "f4p", 16, 99.0, 99.0)], scen)
    rows = {r["mode"]: r for r in gw.latency_ratios(svc)}
    assert rows["parallel"]["p50"] == pytest.approx(1.1)      # 22 ms / 20 ms, at 64 only
    assert rows["parallel"]["p99"] == pytest.approx(1.5)
    assert rows["sequential"]["p50"] == pytest.approx(4.2)
    assert rows["sequential"]["fanout"] == 4 and rows["sequential"]["level"] == 64


def test_memory_per_call_on_known_numbers():
    scen = [{"name": "f16p", "path": "/gateway?fanout=16&ms=10&mode=parallel"},
            {"name": "f4p", "path": "/gateway?fanout=4&ms=10&mode=parallel"}]
    svc = hand_service([agg("a", "f16p", 16, 10, 11, rss_kb=1000),
                        agg("a", "f16p", 1024, 10, 11, rss_kb=1000 + 1008 * 16 * 3,
                            flags=["downstream_bound"]),
                        agg("a", "f4p", 16, 10, 11), agg("a", "f4p", 1024, 10, 11)], scen)
    per = gw.memory_per_call(svc)["a"]
    assert per["scenario"] == "f16p" and per["calls"] == 1008 * 16   # the largest fan-out
    assert per["kib"] == pytest.approx(3.0)
    assert per["downstream_bound"]


def test_tail_prediction_formula():
    assert gw.parse_tail("tail:0.01:100") == (0.01, 100.0)
    assert gw.parse_tail("fixed") is None
    assert gw.slow_fraction(0.01, 16) == pytest.approx(1 - 0.99 ** 16)
    assert 0.14 < gw.slow_fraction(0.01, 16) < 0.15
    assert gw.predicted_p99_ms(10, 0.01, 100, 16) == 110          # 14.9 % > 1 %
    assert gw.predicted_p99_ms(10, 0.0005, 100, 16) == 10         # 0.8 % < 1 %: p99 unaffected
    assert gw.predicted_p99_ms(10, 0.005, 100, 1) == 10           # one call: 0.5 % < 1 %


def test_fixture_ratios_and_tail():
    svc = gateway_service()
    rows = gw.latency_ratios(svc)
    assert {r["scenario"] for r in rows} == {"fanout1_parallel", "fanout4_parallel",
                                             "fanout4_sequential", "fanout16_parallel",
                                             "fanout16_sequential"}   # not the tail profile
    for r in rows:
        expected = 1 if r["mode"] == "parallel" else r["fanout"]
        assert expected * 0.9 < r["p50"] < expected * 1.2, r
    tail = gw.tail_rows(svc)
    assert {r["server"] for r in tail} == {"thread_pool", "event_loop", "go_nethttp"}
    assert {r["level"] for r in tail} == {64, 256}
    assert all(r["predicted_ms"] == 110 for r in tail)


def test_gateway_charts_and_report(plotted_gateway_run):
    for name in gw.CHART_NAMES + ("throughput_fanout16_parallel",
                                  "cpu_per_request_fanout4_sequential"):
        for ext in ("png", "svg"):
            assert (plotted_gateway_run / f"{name}.{ext}").stat().st_size > 1000
    svg = (plotted_gateway_run / "throughput_fanout4_sequential.svg").read_text()
    assert "4 × 10 ms calls, sequential" in svg
    # the downstream-bound point (thread_pool, fanout16_parallel, 1024) is drawn and explained
    note = metrics.FLAGS["downstream_bound"].chart_note
    assert "red ring" + note[len("red outline"):] in \
        (plotted_gateway_run / "latency_p99_fanout16_parallel.svg").read_text()
    assert note in (plotted_gateway_run / "gateway_memory_per_call.svg").read_text()
    assert "110 ms" in (plotted_gateway_run / "gateway_tail.svg").read_text()
    md = (plotted_gateway_run / "report.md").read_text()
    assert "## API gateway" in md
    assert metrics.FLAGS["downstream_bound"].meaning in md
    assert "Downstream-bound: thread_pool, fanout16_parallel @ 1024 connections — downstream " \
           "CPU 95%." in md
    for name in gw.CHART_NAMES:
        assert f"{name}.png" in md
    for row in gw.summary_rows(gateway_service()):      # the table, row for row
        assert "| " + " | ".join(row) + " |" in md


def test_summary_rows():
    rows = {r[0]: r for r in gw.summary_rows(gateway_service())}
    assert set(rows) == {"thread_pool", "event_loop", "go_nethttp"}
    for r in rows.values():
        assert 0.9 < float(r[1]) < 1.2 and 0.9 < float(r[2]) < 1.2       # parallel
        assert 3.6 < float(r[3]) < 4.4 and 14.5 < float(r[4]) < 17.5    # sequential


@pytest.mark.parametrize("fixture", ["plotted_run", "plotted_open_run"])
def test_runs_without_gateway_are_unchanged(fixture, request):
    folder = request.getfixturevalue(fixture)
    assert not list(folder.glob("gateway_*"))
    assert "API gateway" not in (folder / "report.md").read_text()
    svc = json.loads((folder / "results.json").read_text())
    assert gw.gateway_scenarios(svc) == {}
    assert report.gateway_blocks(svc, {}) == []
    for scen in res.scenarios(svc):
        assert gw.scenario_title(svc, scen) == scen
