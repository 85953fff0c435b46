"""./lab claims: verdict rules on synthetic runs (supported / not supported / weak evidence /
not measured yet), the not-a-run error, --help, and the verdicts on the published runs that
docs/reference-comparison.md states."""
import json
from pathlib import Path

import pytest

import claims
import claim_checks
from claim_checks import base, load, runs

PUBLISHED = Path(__file__).resolve().parents[2] / "results" / "published"


def stat(value, low=None, high=None):
    return {"median": value, "min": value if low is None else low,
            "max": value if high is None else high}


def write_service(folder, suite, servers, aggregates=(), startup=(), measurements=(),
                  server_cpus=(0,)):
    """A minimal schema-2 service run: servers = {name: (model, language)}."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {"schema_version": 2, "kind": "service", "complete": True,
            "context": {"suite": suite, "cores": 2, "date": "2026-01-01T00:00:00Z",
                        "cpu_layout": {"server_cpus": list(server_cpus), "client_cpus": [1]}},
            "suite": {"name": suite, "scenarios": []},
            "servers": [{"name": n, "model": m, "language": lang, "status": "ok"}
                        for n, (m, lang) in servers.items()],
            "aggregates": list(aggregates), "startup": list(startup),
            "measurements": list(measurements), "capacity": []}
    (folder / "results.json").write_text(json.dumps(data))
    return folder


def agg(server, scenario, path, connections, rps, flags=(), **extra):
    return {"server": server, "scenario": scenario, "path": path, "connections": connections,
            "pipeline": 1, "requests_per_s": rps if isinstance(rps, dict) else stat(rps),
            "flags": list(flags), "repetitions": 1, **extra}


SERVERS = {"go_nethttp": ("goroutine", "go"), "java_threads": ("thread_per_request", "java"),
           "node_http": ("event_loop", "javascript"), "event_loop": ("event_loop", "cpp")}


def verdict_of(number, folders):
    evidence = runs.newest_by_kind(folders)
    return next(v for v in claim_checks.evaluate_all(evidence) if v.claim.number == number)


def test_a_run_through_hosts_is_its_own_kind(tmp_path):
    local = write_service(tmp_path / "20260101T000000Z-quick", "quick", SERVERS)
    through = write_service(tmp_path / "20260102T000000Z-quick", "quick", SERVERS)
    data = json.loads((through / "results.json").read_text())
    data["context"]["hosts"] = {"roles": {"server": "srv", "load": ["load1", "load2"]}}
    (through / "results.json").write_text(json.dumps(data))
    chosen = runs.newest_by_kind([local, through])
    assert chosen["quick"].folder == local and chosen["quick@hosts"].folder == through


# ---- the CLI -----------------------------------------------------------------------------

def test_help_names_the_options(capsys):
    with pytest.raises(SystemExit) as e:
        claims.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--out" in out and "RUN_FOLDER" in out and "not a run" in out


def test_a_folder_that_is_not_a_run_is_an_error(tmp_path, capsys):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hello")
    assert claims.main([str(tmp_path / "notes"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "not a run folder" in err and "notes" in err
    assert claims.main([str(tmp_path / "missing"), "--out", str(tmp_path / "out")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_no_runs_every_claim_not_measured_with_its_command(tmp_path):
    verdicts = claim_checks.evaluate_all({})
    assert [v.claim.number for v in verdicts] == list(range(1, 15))
    for v in verdicts:
        if v.claim.number == 12:
            continue
        assert v.status == base.NOT_MEASURED, v.claim.number
        assert v.commands() and all(c.startswith("./lab ") for c in v.commands())
    assert verdicts[11].status == base.NOT_MEASURABLE
    assert len(verdicts[11].reasons) >= 3 and any("Uber" in r for r in verdicts[11].reasons)
    assert verdicts[12].commands() == verdicts[13].commands() == ["./lab run"]


def test_cli_writes_claims_md_and_charts(tmp_path, capsys):
    run = write_service(tmp_path / "20260101T000000Z-c10k", "c10k", SERVERS, aggregates=[
        agg(s, "sleep_c10k", "/sleep?ms=1000", 10000, r)
        for s, r in (("go_nethttp", 7000), ("event_loop", 8000), ("java_threads", 600))])
    assert claims.main([str(run), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "2. 10,000 connections per core" in out and "Verdict: supported" in out
    md = (tmp_path / "out" / "claims.md").read_text()
    assert "| 2 | 10,000 connections per core | supported |" in md
    assert "./lab micro" in md                      # claim 1's command: not measured yet
    assert (tmp_path / "out" / "claim02_c10k.png").exists()


# ---- verdict rules on synthetic runs ----------------------------------------------------

@pytest.mark.parametrize("go_rps,flags,expected", [
    (7000, [], base.SUPPORTED),
    (2000, [], base.NOT_SUPPORTED),
    (7000, ["starved"], base.NOT_SUPPORTED),
    (7000, ["client_bound"], base.WEAK),
    (7000, ["noisy"], base.WEAK),
])
def test_c10k_rule(tmp_path, go_rps, flags, expected):
    run = write_service(tmp_path / "20260101T000000Z-c10k", "c10k", SERVERS, aggregates=[
        agg("go_nethttp", "sleep_c10k", "/sleep?ms=1000", 10000, go_rps, flags)])
    v = verdict_of(2, [run])
    assert v.status == expected
    if expected == base.WEAK:
        assert flags[0] in v.summary()


def test_startup_parts(tmp_path):
    def start(server, ms):
        return {"server": server, "runs": 5, "time_to_first_response_ms": stat(ms, ms * .9,
                                                                                ms * 1.1)}
    run = write_service(tmp_path / "20260101T000000Z-quick", "quick", SERVERS,
                        startup=[start("go_nethttp", 15), start("java_threads", 2500),
                                 start("node_http", 200)])
    assert verdict_of(4, [run]).status == base.SUPPORTED
    run = write_service(tmp_path / "20260101T000001Z-quick", "quick", SERVERS,
                        startup=[start("go_nethttp", 15), start("java_threads", 300),
                                 start("node_http", 200)])
    v = verdict_of(4, [run])
    assert v.status == base.PARTLY
    assert "Java starts in seconds: not supported" in v.summary()
    fig = v.parts[0].figures[0]
    assert (fig.low, fig.high) == pytest.approx((13.5, 16.5))   # the spread is shown
    assert "(13.5–16.5)" in fig.text()


def test_cost_rule_and_noise(tmp_path):
    def cpu_agg(server, cpu, flags=()):
        return agg(server, "json", "/json", 256, 40000, flags,
                   cpu_us_per_request=stat(cpu), rss_peak_kb=stat(20000))
    run = write_service(tmp_path / "20260101T000000Z-quick", "quick", SERVERS,
                        aggregates=[cpu_agg("go_nethttp", 10), cpu_agg("java_threads", 40)])
    v = verdict_of(11, [run])
    assert v.status == base.SUPPORTED
    run = write_service(tmp_path / "20260101T000001Z-quick", "quick", SERVERS,
                        aggregates=[cpu_agg("go_nethttp", 10), cpu_agg("java_threads", 12)])
    assert verdict_of(11, [run]).status == base.NOT_SUPPORTED
    # client-bound does not weaken CPU per request (it is per served request); noise does
    run = write_service(tmp_path / "20260101T000002Z-quick", "quick", SERVERS,
                        aggregates=[cpu_agg("go_nethttp", 10, ["client_bound"]),
                                    cpu_agg("java_threads", 12)])
    assert verdict_of(11, [run]).status == base.NOT_SUPPORTED
    run = write_service(tmp_path / "20260101T000003Z-quick", "quick", SERVERS,
                        aggregates=[cpu_agg("go_nethttp", 10, ["noisy"]),
                                    cpu_agg("java_threads", 12)])
    assert verdict_of(11, [run]).status == base.WEAK



# ---- 13, 14: Rust and Python (issue 17) --------------------------------------------------

FIELD = dict(SERVERS, rust_tokio=("async_task", "rust"), python_asyncio=("event_loop", "python"),
             coroutine=("coroutine", "cpp"), nginx=("event_loop", "c"))


def field_run(folder, cpu, p99=None, rps=None, flags=None, suite="quick"):
    """A run with /json at 256 and /plaintext at 16 connections: cpu = {server: µs}."""
    aggregates = []
    for scenario, path, conns in (("json", "/json", 256), ("plaintext", "/plaintext", 16)):
        for server, us in cpu.items():
            aggregates.append(agg(server, scenario, path, conns, (rps or {}).get(server, 40000),
                                  (flags or {}).get(server, ()), cpu_us_per_request=stat(us),
                                  latency_p99_us=stat((p99 or {}).get(server, 2000))))
    return write_service(folder, suite, FIELD, aggregates=aggregates)


def test_rust_within_the_margin_of_the_best(tmp_path):
    # the best C++ (coroutine, 10 µs) beats Go (14 µs); nginx (c) is a ceiling, not a rival
    cpu = {"rust_tokio": 11, "coroutine": 10, "event_loop": 13, "go_nethttp": 14, "nginx": 3}
    v = verdict_of(13, [field_run(tmp_path / "20260101T000000Z-quick", cpu)])
    assert v.status == base.SUPPORTED, v.summary()
    assert "1.10×" in v.parts[0].detail and "≤ 1.2×" in v.parts[0].detail
    assert any(f.label.startswith("coroutine (best C++)") for f in v.parts[0].figures)
    assert v.reasons and "equal load" in v.reasons[0]
    (tmp_path / "out").mkdir(exist_ok=True)
    v.chart(tmp_path / "out", {"suite": "claims"})
    assert (tmp_path / "out" / "claim13_rust.png").exists()
    # 1.5× the best CPU and 3× its p99: not supported
    cpu["rust_tokio"] = 15
    run = field_run(tmp_path / "20260101T000001Z-quick", cpu,
                    p99={"rust_tokio": 6000})
    v = verdict_of(13, [run])
    assert [p.status for p in v.parts] == [base.NOT_SUPPORTED, base.NOT_SUPPORTED]
    # client-bound does not weaken CPU per request, but it does weaken the p99
    run = field_run(tmp_path / "20260101T000002Z-quick", dict(cpu, rust_tokio=11),
                    flags={"rust_tokio": ["client_bound"]})
    v = verdict_of(13, [run])
    assert v.parts[0].status == base.SUPPORTED and not v.parts[0].weak
    assert v.parts[1].weak and v.status == base.WEAK


def test_python_too_slow_against_go_and_node(tmp_path):
    cpu = {"python_asyncio": 60, "go_nethttp": 15, "node_http": 30, "event_loop": 10}
    rps = {"python_asyncio": 9000, "go_nethttp": 40000, "node_http": 20000}
    v = verdict_of(14, [field_run(tmp_path / "20260101T000000Z-quick", cpu, rps=rps)])
    assert v.status == base.SUPPORTED, v.summary()
    assert "4.00×" in v.parts[0].detail and "2.00× Node.js's" in v.parts[0].detail
    assert "0.23×" in v.parts[1].detail
    assert "systems programming" in v.reasons[0]
    (tmp_path / "out").mkdir(exist_ok=True)
    v.chart(tmp_path / "out", {"suite": "claims"})
    assert (tmp_path / "out" / "claim14_python.png").exists()
    cpu["python_asyncio"] = 25
    rps["python_asyncio"] = 32000
    v = verdict_of(14, [field_run(tmp_path / "20260101T000001Z-quick", cpu, rps=rps)])
    assert v.status == base.NOT_SUPPORTED, v.summary()
    v = verdict_of(14, [field_run(tmp_path / "20260101T000002Z-quick", cpu, rps=rps,
                                  flags={"go_nethttp": ["noisy"]})])
    assert v.status == base.WEAK


def test_field_not_measured_yet_names_the_run_command(tmp_path):
    # a run without the new servers, and one that lists rust_tokio as skipped with a reason
    run = write_service(tmp_path / "20260101T000000Z-quick", "quick", SERVERS, aggregates=[
        agg("go_nethttp", "json", "/json", 256, 40000, cpu_us_per_request=stat(15))])
    for number in (13, 14):
        v = verdict_of(number, [run])
        assert v.status == base.NOT_MEASURED and v.commands() == ["./lab run"]
    data = json.loads((run / "results.json").read_text())
    data["servers"].append({"name": "rust_tokio", "model": "async_task", "language": "rust",
                            "status": "skipped", "reason": "cargo is not installed"})
    (run / "results.json").write_text(json.dumps(data))
    v = verdict_of(13, [run])
    assert v.status == base.NOT_MEASURED
    assert "rust_tokio was skipped" in v.parts[0].detail and "cargo" in v.parts[0].detail
    # the newest run with the server wins over a newer run without it
    older = field_run(tmp_path / "20251231T000000Z-full",
                      {"rust_tokio": 11, "go_nethttp": 14, "coroutine": 10}, suite="full")
    v = verdict_of(13, [run, older])
    assert v.status == base.SUPPORTED and v.runs == [older.name]

def test_warmup_curve_from_lab_load_reports(tmp_path):
    folder = tmp_path / "20260101T000000Z-warmup"
    (folder / "logs").mkdir(parents=True)
    curves = {"go_nethttp": [9000] + [10000] * 29,
              "java_threads": [1000, 3000, 5000, 7000, 8000, 8500] + [9500] * 24,
              "node_http": [7000] * 30}
    measurements = []
    for server, curve in curves.items():
        name = f"logs/{server}-warmup_json-r0.lab_load.json"
        (folder / name).write_text(json.dumps({"responses_per_second": curve + [12]}))
        measurements.append({"server": server, "scenario": "warmup_json", "path": "/json",
                             "connections": 64, "duration_s": 30, "status": "ok",
                             "histogram_file": name, "flags": []})
    write_service(folder, "warmup", SERVERS, measurements=measurements)
    v = verdict_of(5, [folder])
    assert v.status == base.SUPPORTED, v.summary()
    # 8,500 req/s in second 6 is below 90 % of 9,500: the 7th second is the first at 90 %
    assert "Java reaches 90 % of steady after 7 s, Go after 1 s" in v.parts[0].detail
    assert load.time_to_steady([1, 5, 10, 10, 10, 10]) == (3, 10)
    assert load.time_to_steady([]) == (None, None)


def test_tool_runs_deploy_build_and_hol(tmp_path):
    deploy = tmp_path / "20260101T000000Z-deploy-size"
    deploy.mkdir()
    part = {"what": "x", "files": 1, "bytes": 1}
    (deploy / "deploy_size.json").write_text(json.dumps({"kind": "deploy_size", "servers": [
        {"server": "go_nethttp", "language": "go", "files": 3, "bytes": 9.7e6, "static": False,
         "parts": [part, part]},
        {"server": "java_threads", "language": "java", "files": 200, "bytes": 271e6,
         "parts": [part], "minimal": {"files": 90, "bytes": 49e6, "parts": []}},
        {"server": "node_http", "language": "javascript", "files": 9, "bytes": 104e6,
         "parts": [{"what": "JavaScript sources", "files": 2, "bytes": 9000},
                   {"what": "node_modules", "files": 0, "bytes": 0}]}]}))
    v = verdict_of(9, [deploy])
    assert v.status == base.NOT_SUPPORTED            # dynamic Go, 49 MB Java, no node_modules
    assert "dynamically linked" in v.parts[0].detail
    build = tmp_path / "20260101T000000Z-build-time"
    build.mkdir()
    (build / "build_time.json").write_text(json.dumps({"kind": "build_time", "servers": [
        {"server": "go_nethttp", "language": "go", "seconds": [2, 2.1, 2.2], "median_s": 2.1},
        {"server": "event_loop", "language": "cpp", "seconds": [30, 31, 29], "median_s": 30}]}))
    v = verdict_of(10, [build])
    assert v.status == base.SUPPORTED and "14.3×" in v.parts[1].detail
    hol = tmp_path / "20260101T000000Z-hol"
    hol.mkdir()
    (hol / "hol.json").write_text(json.dumps({"kind": "hol", "servers": [
        {"server": "event_loop", "alone": {"p99": 300}, "beside": {"p99": 9000}},
        {"server": "event_loop+tbb", "alone": {"p99": 300}, "beside": {"p99": 900}},
        {"server": "node_http", "alone": {"p99": 400}, "beside": {"p99": 500}}]}))
    v = verdict_of(7, [hol])
    assert v.parts[-1].status == base.SUPPORTED
    assert verdict_of(6, [hol]).parts[-1].status == base.NOT_SUPPORTED


def test_report_blocks_for_one_run(tmp_path):
    run = write_service(tmp_path / "20260101T000000Z-c10k", "c10k", SERVERS, aggregates=[
        agg("go_nethttp", "sleep_c10k", "/sleep?ms=1000", 10000, 7000)])
    import results as res
    blocks = claims.report_blocks(res.Run(run))
    assert blocks[0] == ("h2", "Claims this run speaks to")
    assert blocks[2][2][0][:3] == ["2", "10,000 connections per core", "supported"]


# ---- the published runs: what docs/reference-comparison.md says -----------------------------

@pytest.fixture(scope="module")
def published():
    # What `./lab claims results/published/*/` reads (the attack table is a run of its own kind).
    folders = [p for p in PUBLISHED.iterdir() if p.is_dir()]
    if not folders:
        pytest.skip("allowed: no published runs in this checkout")
    evidence = runs.newest_by_kind(folders)
    return {v.claim.number: v for v in claim_checks.evaluate_all(evidence)}


def test_published_verdicts_match_the_docs(published):
    # "Goroutine: supported. Thread: not supported as stated."
    assert published[1].status == base.PARTLY
    assert [p.status for p in published[1].parts] == [base.SUPPORTED, base.NOT_SUPPORTED]
    assert published[2].status == base.SUPPORTED                # c10k: "Supported."
    assert published[3].status == base.SUPPORTED                # "Supported at these loads"
    assert "Java" in published[3].parts[0].detail               # Java's band is named
    # "Go: supported. Java: not supported here."
    assert [p.status for p in published[4].parts][:2] == [base.SUPPORTED, base.NOT_SUPPORTED]
    # warm-up: Java's supported, Java high after it supported, Node.js moderate not supported
    assert [p.status for p in published[5].parts] == [base.SUPPORTED, base.SUPPORTED,
                                                      base.NOT_SUPPORTED]
    # p99: weak evidence overall (a client-bound point among Java's GC-tied tails)
    assert published[6].status == base.WEAK
    assert [p.status for p in published[6].parts] == [base.SUPPORTED] * 4
    # "Node.js is poor at CPU-bound work": not supported for raw speed; node_http one core,
    # Go both cores, head-of-line blocking: supported
    assert [p.status for p in published[7].parts] == [base.NOT_SUPPORTED] + [base.SUPPORTED] * 3
    # the gateway: slowest, not sum holds; not tens of thousands at the default pool
    assert [p.status for p in published[8].parts] == [base.SUPPORTED, base.NOT_SUPPORTED]
    assert published[9].status == base.NOT_SUPPORTED       # deployment: not as stated, all three
    assert published[10].status == base.NOT_SUPPORTED      # build: Go 8.8 s, javac 0.9 s
    assert published[11].status == base.NOT_SUPPORTED      # cost: 1.30x, not 3-5x
    assert published[12].status == base.NOT_MEASURABLE
    # every claim has a verdict on the published runs
    assert all(v.status != base.NOT_MEASURED for v in published.values())


# ---- the workshop ------------------------------------------------------------------------

def test_each_exercise_page_shows_its_command():
    import workshop
    pages = sorted((Path(__file__).resolve().parents[2] / "docs" / "workshop").glob("0*.md"))
    commands = workshop.exercise_commands()
    assert len(pages) == len(commands) >= 6
    for page, (n, _, command) in zip(pages, commands):
        assert page.name.startswith(f"{n:02d}-")
        assert command in page.read_text(), (page.name, command)
        text = page.read_text()
        for heading in ("**Question.**", "**Prediction", "**Command**", "**Chart.**",
                        "**What the published run shows", "**Explanation.**",
                        "**Going further.**"):
            assert heading in text, (page.name, heading)


def test_exercise_commands_take_a_duration_and_run_directly(tmp_path):
    import workshop
    for n, _, command in workshop.exercise_commands(1):
        argv = workshop.direct_argv(command, tmp_path)
        assert "--out" in argv
        if n != 1:                      # the micro-benchmarks' --quick is their short form
            assert "--duration 1" in command
    assert workshop.main(["hol", "--duration", "0"]) == 2


def test_gc_pauses_tie_a_java_tail_to_a_pause(tmp_path):
    # the block the harness writes per measurement (harness/runner/noise.cpp): server_stats.gc
    def m(server, p99_us, max_ms):
        return {"server": server, "scenario": "plaintext_latency", "load": "open", "rate": 1000,
                "offered_rate_rps": 1000, "connections": 1024, "status": "ok", "flags": [],
                "latency_us": {"p50": 50, "p99": p99_us},
                "server_stats": {"gc": {"runtime": "java", "pauses": 3, "pause_total_ms": 9,
                                        "pause_max_ms": max_ms}}}
    assert load.gc_of(m("java_threads", 1, 4.5)) == (3, 9, 4.5)
    run = write_service(tmp_path / "20260101T000000Z-latency", "latency", SERVERS,
                        measurements=[m("java_threads", 20000, 12.0)])
    part = verdict_of(6, [run]).parts[2]
    assert part.status == base.SUPPORTED and "1 of 1" in part.detail
    run = write_service(tmp_path / "20260101T000001Z-latency", "latency", SERVERS,
                        measurements=[m("java_threads", 20000, 1.0)])
    assert verdict_of(6, [run]).parts[2].status == base.NOT_SUPPORTED
