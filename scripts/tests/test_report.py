"""report.md and report.html: every server and every warning, self-contained HTML that
renders in headless Chromium with every image loaded."""
import json
import re
import shutil
import subprocess

import pytest

from conftest import SERVICE_RUN

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if shutil.os.path.exists("/usr/bin/chromium") else None)


def fixture_data():
    return json.loads((SERVICE_RUN / "results.json").read_text())


def test_reports_list_every_server_of_the_fixture(plotted_run):
    data = fixture_data()
    for report in ("report.md", "report.html"):
        text = (plotted_run / report).read_text()
        for server in data["servers"]:
            assert server["name"] in text, (report, server["name"])


def test_reports_list_every_warning(plotted_run):
    md = (plotted_run / "report.md").read_text()
    html = (plotted_run / "report.html").read_text()
    warnings = md.split("## Warnings")[1].split("## Context")[0]
    assert "java_virtual was skipped" in warnings and "needs JDK >= 21" in warnings
    assert "fiber failed" in warnings and "conformance" in warnings
    assert re.search(r"Client-bound: event_loop, plaintext @ 256 connections", warnings)
    assert re.search(r"Noisy: thread_per_request, json @ 256 connections .* \d+%", warnings)
    assert re.search(r"Measurement failed: go_nethttp, json @ 256 connections, repetition 2: "
                     r"server died .*SIGKILL", warnings)
    assert "Server died: go_nethttp, json @ 256 connections" in warnings
    # three general lines, the flags table, then three flagged points folded away
    general = warnings.split("| server |")[0]
    points = warnings.split("<details>")[1]
    assert len([l for l in general.splitlines() if l.startswith("- ")]) == 3
    assert len([l for l in points.splitlines() if l.startswith("- ")]) == 3
    assert "| event_loop | C 1/3 |  |" in warnings and "| go_nethttp |  | D 1/3 |" in warnings
    for needle in ("java_virtual was skipped", "Client-bound: event_loop",
                   "Noisy: thread_per_request"):
        assert needle in html


def test_scenario_tables_carry_medians_and_flags(plotted_run):
    md = (plotted_run / "report.md").read_text()
    data = fixture_data()
    agg = next(a for a in data["aggregates"] if a["server"] == "event_loop"
               and a["scenario"] == "plaintext" and a["connections"] == 256)
    median = f"{agg['requests_per_s']['median']:,.0f}"
    row = next(l for l in md.splitlines() if l.startswith("| event_loop | event_loop | 256 |")
               and median in l)
    assert "client_bound" in row
    assert "## Scenario: plaintext" in md and "## Scenario: json" in md
    assert "## Micro-benchmarks" in md and "Bendersky" in md


def test_html_is_self_contained(plotted_run):
    html = (plotted_run / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", html)
    assert html.count("<img") == len(re.findall(r'src="data:image/png;base64,', html)) >= 12


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt install chromium)")
def test_html_renders_in_headless_chromium_with_every_image_loaded(plotted_run, tmp_path):
    html = (plotted_run / "report.html").read_text()
    probe = ("<script>window.addEventListener('load', () => {"
             "const imgs = [...document.images];"
             "const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;"
             "document.title = 'images ' + ok + '/' + imgs.length;});</script>")
    page = tmp_path / "probe.html"
    page.write_text(html.replace("</body>", probe + "</body>"))
    profile = tmp_path / "profile"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    match = re.search(r"<title>images (\d+)/(\d+)</title>", out.stdout)
    assert match, f"no probe title in the DOM; chromium said: {out.stderr[-2000:]}"
    loaded, total = int(match.group(1)), int(match.group(2))
    assert total == html.count("<img") >= 12
    assert loaded == total
    assert "Concurrency Lab report" in out.stdout


def test_starved_levels_are_warned_with_the_canary_wait():
    import report
    canary = {"requests_sent": 1, "responses": 0, "first_response_ms": None, "max_wait_ms": 1654.9}
    base = {"server": "thread_pool", "scenario": "plaintext", "connections": 256, "pipeline": 1}
    service = {"complete": True, "servers": [],
               "measurements": [dict(base, status="ok", flags=["starved"], canary=canary)],
               "aggregates": [dict(base, flags=["starved"], client_bound=False, repetitions=1,
                                   requests_per_s={"median": 1, "min": 1, "max": 1})]}
    warnings = report.service_warnings(service)
    assert warnings == ["Starved: thread_pool, plaintext @ 256 connections — a connection opened "
                        "during the run waited 1.7 s without an answer."]
    # what "starved" means is said once, in the registry's words
    assert report.flag_explanations(service) == [
        "Starved (starved): a connection opened during the run (the canary) waited too long "
        "without an answer: some connections are not being served, and throughput counts only "
        "the served ones."]
