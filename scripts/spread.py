#!/usr/bin/env python3
"""./lab spread RUN...: how reproducible a run is, point by point (issue 14's targets).

A point is an aggregate (server, scenario, level) of at least two repetitions. Its spread is
(max − min) / median over the repetitions, for throughput (requests/s), server CPU per request
and p99 latency. The targets: throughput and CPU per request within 5 % on at least 80 % of
points, p99 within 10 % on at least 70 %. Prints, per run, the fraction of points meeting each
bound, per scenario and overall, and the median spread; --json writes the same as data.
--repetitions N recomputes every point from its first N repetitions only (the measurements),
so protocols with different repetition counts compare fairly: the min–max range of 10 values
is wider than that of 3 from the same distribution.
--within-start groups instead the measurements of one server start that repeat the same request
(scenarios with the same path, connections and pipeline, as in the spread_floor suite): their
spread is the machine's moment-to-moment noise, without what a fresh start changes.
Closed-loop and open-loop points are counted apart (an open-loop point's throughput is the
offered rate whenever the server keeps up, so its spread says little); the targets are judged
on closed-loop points.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metrics         # noqa: E402
import results as res  # noqa: E402

# (metric, bound on the spread, fraction of points that must meet it)
TARGETS = [(metrics.REQUESTS, 0.05, 0.80), (metrics.CPU, 0.05, 0.80), (metrics.P99, 0.10, 0.70)]


def point_spreads(service, load="closed"):
    """[(aggregate, {metric short name: spread or None})] for aggregates of ≥ 2 repetitions."""
    out = []
    for agg in service.get("aggregates") or []:
        if res.load_of(agg) != load or (agg.get("repetitions") or 0) < 2:
            continue
        out.append((agg, {m.short: res.spread(m.stat(agg)) for m, _, _ in TARGETS}))
    return out


def first_repetitions(service, n):
    """A copy of `service` whose aggregates are recomputed from repetitions 0..n-1 of its
    finished measurements (capacity-search steps left out)."""
    groups = {}
    for m in service.get("measurements") or []:
        if m.get("status", "ok") != "ok" or m.get("search_step") or m.get("repetition", 0) >= n:
            continue
        res.normalise_level(m)
        groups.setdefault(res.level_identity(m), []).append(m)
    aggregates = []
    for (server, scenario, load, level), ms in groups.items():
        agg = {"server": server, "scenario": ms[0]["scenario"], "pipeline": ms[0].get("pipeline", 1),
               "load": load, "connections": ms[0].get("connections"), "rate": ms[0].get("rate"),
               "repetitions": len(ms)}
        for metric, _, _ in TARGETS:
            triple = res.median_min_max([metric.from_measurement(m) for m in ms])
            agg[metric.name] = None if triple is None else \
                {"median": triple[0], "min": triple[1], "max": triple[2]}
        aggregates.append(agg)
    return dict(service, aggregates=aggregates)


def within_start_points(service):
    """[(group, {metric short name: spread})]: one group per (server, repetition, path,
    connections, pipeline) measured at least twice in that start (closed loop only)."""
    groups = {}
    for m in service.get("measurements") or []:
        if m.get("status", "ok") != "ok" or m.get("search_step") or res.load_of(m) != "closed":
            continue
        key = (m["server"], m.get("repetition", 0), m.get("path"), m.get("connections"),
               m.get("pipeline", 1))
        groups.setdefault(key, []).append(m)
    out = []
    for (server, repetition, path, connections, pipeline), ms in sorted(groups.items(), key=str):
        if len(ms) < 2:
            continue
        spreads = {}
        for metric, _, _ in TARGETS:
            triple = res.median_min_max([metric.from_measurement(m) for m in ms])
            spreads[metric.short] = res.spread(triple)
        group = {"server": server, "repetition": repetition, "path": path,
                 "connections": connections, "pipeline": pipeline, "measurements": len(ms)}
        out.append((group, spreads))
    return out


def summarize(points):
    """{metric short: {"points", "within", "fraction", "median_spread", "bound", "target",
    "met"}} over (aggregate, spreads) pairs."""
    summary = {}
    for metric, bound, target in TARGETS:
        values = [s[metric.short] for _, s in points if s[metric.short] is not None]
        within = sum(1 for v in values if v <= bound)
        fraction = within / len(values) if values else None
        summary[metric.short] = {
            "points": len(values), "within": within, "fraction": fraction, "bound": bound,
            "target": target, "median_spread": statistics.median(values) if values else None,
            "met": fraction is not None and fraction >= target}
    return summary


def spread_report(service):
    """{"closed": {"all": summary, "by_scenario": {scenario: summary}}, "open": ...}."""
    report = {}
    for load in ("closed", "open"):
        points = point_spreads(service, load)
        if not points:
            continue
        by_scenario = {}
        for agg, s in points:
            by_scenario.setdefault(res.scenario_key(agg), []).append((agg, s))
        report[load] = {"all": summarize(points),
                        "by_scenario": {k: summarize(v) for k, v in by_scenario.items()}}
    return report


def fmt_summary(summary):
    parts = []
    for metric, bound, target in TARGETS:
        s = summary[metric.short]
        if not s["points"]:
            parts.append(f"{metric.short}: –")
            continue
        parts.append(f"{metric.short} ≤{bound:.0%}: {s['within']}/{s['points']} "
                     f"({s['fraction']:.0%}{' ✓' if s['met'] else ''}, median {s['median_spread']:.1%})")
    return "; ".join(parts)


def text_report(folder, report, repetitions):
    lines = [f"{folder} ({repetitions} repetitions)"]
    for load, part in report.items():
        lines.append(f"  {load} loop, all points: {fmt_summary(part['all'])}")
        for scen, summary in part["by_scenario"].items():
            lines.append(f"    {scen}: {fmt_summary(summary)}")
    if "closed" in report:
        met = all(report["closed"]["all"][m.short]["met"] for m, _, _ in TARGETS)
        lines.append("  targets (closed loop): " + ("met" if met else "not met") +
                     " — throughput and CPU/request ≤ 5 % on ≥ 80 % of points, p99 ≤ 10 % on ≥ 70 %")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="./lab spread", description=__doc__.split("\n\n")[0],
                                     epilog="Targets: " + ", ".join(
                                         f"{m.short} spread ≤ {b:.0%} on ≥ {t:.0%} of points"
                                         for m, b, t in TARGETS))
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run folders (results.json)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--within-start", action="store_true",
                        help="spread of the same request measured repeatedly within one server "
                             "start (suite spread_floor) instead of across repetitions")
    parser.add_argument("--repetitions", type=int, metavar="N",
                        help="use only each point's first N repetitions (compare protocols "
                             "with different counts at the same N)")
    args = parser.parse_args(argv)
    out = {}
    for folder in args.runs:
        try:
            run = res.Run(folder)
        except res.ResultsError as e:
            print(f"spread: {e}", file=sys.stderr)
            return 2
        if not run.service:
            print(f"spread: {folder}: not a service run (no results.json)", file=sys.stderr)
            return 2
        service = run.service
        reps = (service.get("suite") or {}).get("repetitions")
        if args.repetitions:
            if args.repetitions < 2:
                print("spread: --repetitions must be at least 2", file=sys.stderr)
                return 2
            service = first_repetitions(service, args.repetitions)
            reps = f"first {args.repetitions} of {reps}"
        if args.within_start:
            points = within_start_points(service)
            out[str(folder)] = {"within_start": summarize(points) if points else None,
                                "groups": [dict(g, spreads=sp) for g, sp in points]}
            if not args.json:
                print(f"{folder} (within one server start)")
                if not points:
                    print("  no request measured twice within a start (see suite spread_floor)")
                for g, sp in points:
                    print(f"  {g['server']} start {g['repetition']} {g['path']} c={g['connections']}"
                          f" ×{g['measurements']}: " + ", ".join(
                              f"{k} {v:.1%}" for k, v in sp.items() if v is not None))
                if points:
                    print(f"  all: {fmt_summary(summarize(points))}")
            continue
        report = spread_report(service)
        out[str(folder)] = report
        if not args.json:
            print(text_report(folder, report, reps))
    if args.json:
        print(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
