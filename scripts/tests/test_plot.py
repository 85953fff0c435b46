"""Every chart type is drawn from the fixtures, non-empty, valid SVG, with the context."""
import xml.etree.ElementTree as ET

import charts
import style

EXPECTED = [f"{prefix}_{scen}" for scen in ("plaintext", "json")
            for prefix in ("throughput", "latency_p99", "latency_spectrum", "cpu_per_request")]
EXPECTED += ["memory_peak_rss", "memory_rss_over_time", "startup", "micro"]


def svg_text(path):
    root = ET.parse(path).getroot()          # raises if the SVG does not parse
    assert root.tag.endswith("svg")
    return " ".join(t for t in root.itertext())


def test_every_chart_type_is_written_as_png_and_svg(plotted_run):
    for name in EXPECTED:
        png, svg = plotted_run / f"{name}.png", plotted_run / f"{name}.svg"
        assert png.exists() and svg.exists(), name
        assert png.stat().st_size > 1024, name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        svg_text(svg)


def test_every_chart_names_machine_date_and_suite(plotted_run):
    for name in EXPECTED:
        text = svg_text(plotted_run / f"{name}.svg")
        assert "Synthetic CPU @ 3.0GHz" in text, name
        assert "2 cores" in text, name
        assert "2026-11-23" in text, name
        assert "suite fixture" in text or "suite micro-quick" in text, name
    assert "server CPUs 0 / client CPUs 1" in svg_text(plotted_run / "throughput_plaintext.svg")


def test_client_bound_points_are_explained_where_they_occur(plotted_run):
    # event_loop is client-bound only in plaintext at 256 connections
    import metrics
    note = metrics.FLAGS["client_bound"].note("closed")
    assert note in svg_text(plotted_run / "throughput_plaintext.svg")
    assert note not in svg_text(plotted_run / "throughput_json.svg")


def test_throughput_chart_has_a_line_per_measured_server(plotted_run):
    text = svg_text(plotted_run / "throughput_plaintext.svg")
    for server in ("thread_per_request", "thread_pool", "event_loop", "coroutine", "go_nethttp"):
        assert server in text
    assert "java_virtual" not in text      # skipped: never measured, never drawn


def test_micro_chart_shows_published_references(plotted_run):
    text = svg_text(plotted_run / "micro.svg")
    assert "published reference" in text
    assert "10,000 leaves" in text          # threads-only skynet size is labelled


def test_same_model_same_look_everywhere():
    a = style.ServerStyles([("x", "fiber", "cpp"), ("y", "event_loop", "go")])
    b = style.ServerStyles([("z", "fiber", "java")])
    assert a["x"]["color"] == b["z"]["color"] == style.MODEL_STYLE["fiber"]["color"]
    assert a["x"]["marker"] == b["z"]["marker"]
    assert a["x"]["linestyle"] != b["z"]["linestyle"]
    assert style.primitive_style("boost_fiber") == style.MODEL_STYLE["fiber"]
    colours = [s["color"] for s in style.MODEL_STYLE.values()]
    assert len(set(colours)) == len(colours)
    markers = [s["marker"] for s in style.MODEL_STYLE.values()]
    assert len(set(markers)) == len(markers)


def test_two_servers_of_one_model_and_language_get_different_lines():
    s = style.ServerStyles([("event_loop", "event_loop", "cpp"),
                            ("event_loop+tbb", "event_loop", "cpp")])
    assert s["event_loop"]["color"] == s["event_loop+tbb"]["color"]
    assert s["event_loop"]["linestyle"] != s["event_loop+tbb"]["linestyle"]


def test_spectrum_level_is_the_most_common_then_highest(plotted_run):
    import results as res
    run = res.Run(plotted_run)
    assert charts.spectrum_level(run.service, "plaintext") == 256


def test_unit_conversion():
    assert charts.convert(1.2, "us", "ns") == 1200
    assert charts.convert(2, "kb", "bytes") == 2048
    assert charts.convert(1, "ms", "bytes") is None


def test_published_compare_to_rows_sit_in_the_panel_they_are_compared_with(plotted_run):
    text = svg_text(plotted_run / "micro.svg")
    assert "process" in text and "ucontext" in text      # compare_to rows are drawn
    import report
    import results as res
    from conftest import PUBLISHED_MICRO
    run = res.Run(plotted_run)
    rows = report.micro_rows(run.micro, charts.load_published(PUBLISHED_MICRO))
    thread_rows = [r for r in rows if r[:2] == ["std_thread", "create_join"]]
    assert len(thread_rows) == 3                          # Bendersky, process launch, Boost.Fiber
    assert any("process create_join" in r[3] for r in thread_rows)


def test_the_repositorys_published_references_are_readable():
    import results as res
    path = res.REPO_ROOT / "micro" / "published.json"
    if not path.exists():
        import pytest
        pytest.skip("micro/published.json is not there yet")
    refs = charts.load_published(path)
    assert refs and all({"primitive", "measurement", "value", "unit"} <= set(r) for r in refs)


def test_a_stats_block_named_server_is_moved_aside():
    import results as res
    m = {"server": {"cpu_us_per_request": 3.0, "rss_samples": [[0, 1]]}, "server_name": "x"}
    res.normalise_measurement(m)
    assert m["server"] == "x" and res.process_stats(m)["cpu_us_per_request"] == 3.0
    m = {"server": "y", "server_stats": {"rss_peak_kb": 5}}
    res.normalise_measurement(m)
    assert m["server"] == "y" and res.process_stats(m)["rss_peak_kb"] == 5


def test_log_axis_only_when_values_span_more_than_ten_times():
    # Pipelined CPU per request: 0.8 µs (C++) beside 40 µs (Node.js) needs a log axis;
    # plaintext's 11-31 µs reads better on a linear one. Zeros and gaps are ignored.
    import metrics
    assert metrics.wants_log_axis([0.8, 2.5, 9.5, 40.4])
    assert not metrics.wants_log_axis([11.2, 15.3, 25.0, 31.4])
    assert not metrics.wants_log_axis([0, None, 5.0])
    assert not metrics.wants_log_axis([])
    # the registry decides per metric: p99 always log, throughput by the span rule
    assert metrics.P99.use_log([1.0, 2.0]) and not metrics.REQUESTS.use_log([1.0, 2.0])
    assert metrics.REQUESTS.use_log([1.0, 20.0]) and not metrics.RSS.use_log([1.0, 200.0])
