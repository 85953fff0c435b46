"""Tests of micro/run's reading and checking logic on small inputs in the tools' own formats.

The end-to-end tests (ctest micro_quick_*) run the real benchmarks; these pin down the parts
where a mistake would silently produce wrong numbers: units, per-hand-off division, the
sanity checks and the expectation arithmetic.
"""
import importlib.machinery
import importlib.util
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parent / "run"
loader = importlib.machinery.SourceFileLoader("micro_run", str(RUN))
spec = importlib.util.spec_from_loader("micro_run", loader)
micro_run = importlib.util.module_from_spec(spec)
loader.exec_module(micro_run)


def gbench_run(name, real_time, time_unit="ns", repetition_index=0, **counters):
    """One entry of Google Benchmark 1.7's JSON "benchmarks" array."""
    return {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 1,
            "repetition_index": repetition_index, "threads": 1, "iterations": 1000,
            "real_time": real_time, "cpu_time": real_time, "time_unit": time_unit, **counters}


def by_key(results):
    return {(r["primitive"], r["measurement"], r["params"].get("stack_size")): r for r in results}


def test_cpp_results_divide_by_hand_offs_and_convert_units():
    runs = [
        gbench_run("std_thread/switch_pipe_pinned/real_time", 12000.0, per_iteration=2.0),
        gbench_run("std_thread/switch_pipe_pinned/real_time", 10000.0, repetition_index=1,
                   per_iteration=2.0),
        gbench_run("std_thread/switch_pipe_pinned/real_time", 14000.0, repetition_index=2,
                   per_iteration=2.0),
        {"name": "std_thread/switch_pipe_pinned/real_time_mean", "run_type": "aggregate",
         "real_time": 1.0, "time_unit": "ns"},
        gbench_run("boost_fiber/skynet", 276.5, time_unit="ms", answer=499999500000.0,
                   leaves=1000000.0, stack_size=16384.0),
        gbench_run("boost_fiber/memory_per_idle_unit/stack_size:8192/iterations:1", 5e8,
                   bytes_per_unit=7450.6, virtual_bytes_per_unit=8217.8, stack_size=8192.0,
                   units=10000.0),
        gbench_run("cpp20_coroutine/create_join", 1.5, time_unit="us", per_iteration=1.0),
    ]
    results = by_key(micro_run.cpp_results(runs))
    switch = results[("std_thread", "switch_pipe_pinned", None)]
    assert (switch["value"], switch["min"], switch["max"]) == (6000.0, 5000.0, 7000.0)
    assert switch["repetitions"] == 3 and switch["unit"] == "ns"
    skynet = results[("boost_fiber", "skynet", 16384)]
    assert skynet["unit"] == "ms" and skynet["value"] == pytest.approx(276.5)
    assert skynet["params"]["answer"] == 499999500000
    memory = results[("boost_fiber", "memory_per_idle_unit", 8192)]
    assert memory["unit"] == "bytes" and memory["value"] == pytest.approx(7450.6)
    assert memory["params"]["virtual_bytes_per_unit"] == pytest.approx(8217.8)
    assert results[("cpp20_coroutine", "create_join", None)]["value"] == pytest.approx(1500.0)


def test_cpp_results_keep_benchmark_errors():
    runs = [gbench_run("asio_post/skynet", 10.0, time_unit="ms", error_occurred=True,
                       error_message="skynet answer wrong: 7", answer=7.0, leaves=1000000.0)]
    (only,) = micro_run.cpp_results(runs)
    assert only["error"] == "skynet answer wrong: 7"


def test_parse_go_bench_reads_custom_metrics():
    text = ("goos: linux\nBenchmarkPingPong-2   \t  840586\t   357.4 ns/op\t   178.7 ns/switch\n"
            "BenchmarkSkynet-2 \t 1\t1913940187 ns/op\t499999500000 answer\nPASS\n")
    rows = micro_run.parse_go_bench(text)
    assert rows == [("BenchmarkPingPong", {"ns/op": 357.4, "ns/switch": 178.7}),
                    ("BenchmarkSkynet", {"ns/op": 1913940187.0, "answer": 499999500000.0})]


def valid_document():
    context = {k: "x" for k in ("date", "host", "kernel", "cpu_model", "cores", "compiler",
                                "runtimes", "git_commit", "build_type")}
    results = [micro_run.result(p, m, "node", [1.0, 2.0, 3.0], "ns")
               for p, m in micro_run.EXPECTED["node"]]
    results[1].update(unit="ms", params={"leaves": 1000, "answer": 499500})
    return {"schema_version": 1, "kind": "micro", "context": context, "results": results}


def test_sanity_accepts_a_valid_document():
    assert micro_run.sanity_problems(valid_document(), ["node"]) == []


@pytest.mark.parametrize("spoil, expected", [
    (lambda d: d["results"][1]["params"].update(answer=499499), "skynet answer 499499"),
    (lambda d: d["results"][0].update(min=0.0), "positive numbers"),
    (lambda d: d["results"].append(micro_run.result("goroutine", "memory_per_idle_unit", "go",
                                                    [11 * 2**20], "bytes")), "outside (0, 10 MiB)"),
    (lambda d: d["results"].pop(0), "no result for node_promise switch"),
    (lambda d: d["context"].pop("git_commit"), "context lacks 'git_commit'"),
    (lambda d: d["results"][0].pop("unit"), "missing keys ['unit']"),
])
def test_sanity_finds_impossible_or_missing_results(spoil, expected):
    document = valid_document()
    spoil(document)
    problems = micro_run.sanity_problems(document, ["node"])
    assert any(expected in p for p in problems), problems


def test_expectations_compare_within_one_run():
    results = [
        micro_run.result("boost_context", "switch", "cpp", [10.0], "ns"),
        micro_run.result("boost_fiber", "switch", "cpp", [60.0], "ns"),
        micro_run.result("cpp20_coroutine", "switch", "cpp", [4.0], "ns"),
        micro_run.result("std_thread", "switch_pipe_pinned", "cpp", [1300.0], "ns"),
        micro_run.result("std_thread", "switch_futex_pinned", "cpp", [1100.0], "ns"),
    ]
    checks = {text.split(":")[0]: ok for ok, text in micro_run.expectations(results)}
    assert checks["fiber switch within 5x of raw Boost.Context switch"] is False  # 6x
    assert checks["C++20 coroutine resume (resume + suspend round trip) < 20 ns"] is True  # 8 ns
    # fastest thread variant 1100 ns / 60 ns = 18x
    assert checks["thread switch >= 20x fiber switch (fastest thread variant, "
                  "switch_futex_pinned)"] is False
