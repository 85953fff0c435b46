"""The findings-first report pieces (headline.py, flags_table.py) and the explorer's data
(scripts/explore/explore.py); the page itself is tested in Chromium (explore/browser_test.js)."""
import json
import sys

import pytest

from conftest import GATEWAY_RUN, MICRO_RUN, OPEN_RUN, SCRIPTS, SERVICE_RUN, copy_run

sys.path.insert(0, str(SCRIPTS / "explore"))
import explore         # noqa: E402
import flags_table     # noqa: E402
import headline        # noqa: E402
import metrics         # noqa: E402
import results as res  # noqa: E402
import style           # noqa: E402


# ---- headline -------------------------------------------------------------------------------

def agg(server, rps, cpu, connections=64, flags=()):
    return {"server": server, "scenario": "plaintext", "connections": connections,
            "pipeline": 1, "load": "closed", "rate": None, "repetitions": 1, "flags": list(flags),
            "requests_per_s": {"median": rps, "min": rps, "max": rps},
            "cpu_us_per_request": {"median": cpu, "min": cpu, "max": cpu}}


def service_of(*aggs):
    return {"servers": [], "measurements": [], "startup": [], "capacity": [],
            "aggregates": list(aggs)}


def test_headline_names_leader_and_margin():
    svc = service_of(agg("a", 1000, 20), agg("a", 3000, 20, 256), agg("b", 2000, 10))
    (scen, sentences), = headline.scenario_sentences(svc)
    assert scen == "plaintext"
    assert sentences == ["a leads with 3,000 req/s at 256 connections, 1.50× the next "
                         "(b, 2,000 req/s)."]


def test_headline_calls_a_tie_within_the_margin():
    svc = service_of(agg("a", 1000, 20), agg("b", 980, 10))
    assert "a and b are level (within 5%)" in headline.headline_text(svc)


def test_headline_ranks_by_cpu_when_client_bound_and_names_starved():
    svc = service_of(agg("a", 3000, 20, flags=["client_bound"]), agg("b", 2000, 10),
                     agg("c", 100, 50, flags=["starved"]))
    text = headline.headline_text(svc)
    assert "load generator was the limit" in text and "(a client-bound)" in text
    assert "b is cheapest at 10 µs, 2.00× less CPU than the next (a, 20 µs)" in text
    assert "Starved (a connection went unanswered) at some level: c." in text


def test_headline_of_the_open_fixture_uses_capacity():
    text = headline.headline_text(res.Run(OPEN_RUN).service)
    assert "plaintext_latency (open loop): event_loop serves the most within the SLO " \
           "(p99 < 10 ms): ≥ 40,000 req/s" in text


def test_plot_writes_headline_txt(plotted_run):
    text = (plotted_run / "headline.txt").read_text()
    assert text == headline.headline_text(res.Run(plotted_run).service)
    assert text.startswith("plaintext: ")


# ---- flags table ----------------------------------------------------------------------------

def test_every_flag_has_a_mark():
    assert set(flags_table.MARKS) == set(metrics.FLAGS)
    assert len(set(flags_table.MARKS.values())) == len(flags_table.MARKS)


def test_flag_table_counts_levels_per_server_and_scenario():
    svc = service_of(agg("a", 1, 1, 16, ["client_bound"]), agg("a", 1, 1, 64, ["client_bound",
                                                                              "noisy"]),
                     agg("b", 1, 1, 16), agg("b", 1, 1, 64, ["starved"]))
    headers, rows = flags_table.flag_table(svc)
    assert headers == ["server", "plaintext"]
    assert rows == [["a", "C 2/2 · N 1/2"], ["b", "S 1/2"]]
    assert flags_table.flag_table(service_of(agg("a", 1, 1))) is None


def test_long_reasons_shorten_to_check_names():
    raw = ("partial reference server: conformance failed: 3 of 26 checks: compute_vectors "
           "(GET /compute?n=0: expected status 200, got 404 \"Not Found\"); head (GET /x; "
           "expected 200); split_request (request sent one byte at a time: " + "x" * 200 + ")")
    short, details = flags_table.split_reason(raw)
    assert short == ("partial reference server: conformance failed: 3 of 26 checks: "
                     "compute_vectors, head, split_request")
    assert details == raw
    assert flags_table.split_reason("needs JDK >= 21") == ("needs JDK >= 21", None)
    short, details = flags_table.split_reason("y" * 300)
    assert len(short) < 210 and details == "y" * 300


# ---- explorer data --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data():
    runs = [(res.Run(SERVICE_RUN), False), (res.Run(OPEN_RUN), False),
            (res.Run(GATEWAY_RUN), True)]
    return explore.page_data(runs)


def test_metrics_and_flags_come_from_the_registry(data):
    for name, d in data["metrics"].items():
        if name in metrics.BY_NAME:
            m = metrics.BY_NAME[name]
            assert (d["unit"], d["scale"], d["better"], d["log"]) == \
                (m.unit, m.scale, m.better, m.log_axis)
    assert set(data["flags"]) == set(metrics.FLAGS)
    assert data["flags"]["client_bound"]["note"] == metrics.FLAGS["client_bound"].note()


def test_styles_come_from_style_py(data):
    st = data["styles"]["go_nethttp"]
    expected = style.model_style("goroutine")
    assert (st["color"], st["marker"], st["model_label"]) == \
        (expected["color"], expected["marker"], expected["label"])
    assert st["dash"] == explore.dash_of(style.LANGUAGE_LINESTYLE["go"]) != []


def test_points_are_the_aggregates_in_display_units(data):
    service = json.loads((SERVICE_RUN / "results.json").read_text())
    run = next(r for r in data["runs"] if r["id"] == "service_run")
    scen = next(s for s in run["scenarios"] if s["key"] == "plaintext")
    checked = 0
    for name, points in scen["views"].items():
        m = metrics.BY_NAME[name]
        for p in points:
            a = next(a for a in service["aggregates"] if a["server"] == p["s"]
                     and a["scenario"] == "plaintext" and a["connections"] == p["x"])
            assert p["m"] == pytest.approx(a[name]["median"] * m.scale)
            assert (p["lo"], p["hi"]) == pytest.approx((a[name]["min"] * m.scale,
                                                        a[name]["max"] * m.scale))
            assert p["n"] == a["repetitions"]
            checked += 1
    assert checked > 20


def test_open_gateway_and_startup_views(data):
    open_run = next(r for r in data["runs"] if r["id"] == "open_loop_run")
    keys = [s["key"] for s in open_run["scenarios"]]
    assert "plaintext_latency (open loop)" in keys
    scen = next(s for s in open_run["scenarios"] if s["key"] == "plaintext_latency (open loop)")
    assert scen["x_label"] == "offered requests/s" and scen["slo_p99_ms"] == 10
    caps = {p["s"]: p["text"] for p in scen["views"]["capacity_rps"]}
    assert caps["event_loop"] == "≥ 40,000"
    gw = next(r for r in data["runs"] if r["id"] == "published/gateway_run")
    assert gw["published"] and gw["label"].endswith("(published)")
    ratios = next(s for s in gw["scenarios"] if s["load"] == "gateway")
    assert set(ratios["views"]) == {f"gateway_{p}_{m}" for p, m in explore.GATEWAY_RATIOS}
    service_run = next(r for r in data["runs"] if r["id"] == "service_run")
    startup = next(s for s in service_run["scenarios"] if s["key"] == "startup")
    assert set(startup["views"]) == {metrics.STARTUP.name, metrics.IDLE_RSS.name}


def test_render_inlines_library_and_data(data, tmp_path, monkeypatch):
    js, css = tmp_path / "u.js", tmp_path / "u.css"
    js.write_text("window.uPlot = function () {};")
    css.write_text(".uplot {}")
    monkeypatch.setattr(explore, "UPLOT_JS", js)
    monkeypatch.setattr(explore, "UPLOT_CSS", css)
    data = json.loads(json.dumps(data))
    data["runs"][0]["subtitle"] = "</script><b>x</b>"      # must not end the data script
    page = explore.render(data)
    assert "window.uPlot = function" in page and ".uplot {}" in page
    assert "/*LAB_DATA*/" not in page and "/*UPLOT_JS*/" not in page
    blob = page.split('id="lab-data">')[1].split("</script>")[0]
    assert json.loads(blob)["runs"][0]["subtitle"] == "</script><b>x</b>"


def test_micro_runs_are_a_scenario_of_primitives():
    micro = json.loads((MICRO_RUN / "micro.json").read_text())
    data = explore.page_data([(res.Run(MICRO_RUN), True)])
    (scen,) = data["runs"][0]["scenarios"]
    assert scen["key"] == "micro-benchmarks" and scen["load"] == "servers"
    shown = sorted(p["m"] for pts in scen["views"].values() for p in pts)
    assert shown == sorted(r["value"] for r in micro["results"])
    r = micro["results"][0]
    key = "micro_" + ("switch" if r["measurement"].startswith("switch") else r["measurement"])
    assert data["metrics"][key]["unit"] == r["unit"]
    model = style.PRIMITIVE_MODEL[r["primitive"]]
    name = scen["views"][key][0]["s"]
    assert data["styles"][name]["color"] == style.model_style(model)["color"]


def test_main_errors_are_one_line(tmp_path, capsys):
    assert explore.main([str(tmp_path / "missing")]) == 2
    assert "no such run folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert explore.main([str(tmp_path / "empty"), "--no-published"]) == 2
    assert "holds neither results.json nor micro.json" in capsys.readouterr().err


def test_main_reports_a_missing_library(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(explore, "UPLOT_JS", tmp_path / "absent.js")
    run = copy_run(SERVICE_RUN, tmp_path / "run")
    assert explore.main([str(run), "--no-published"]) == 2
    assert "./lab explore installs it" in capsys.readouterr().err
