"""Claims about the rest of the field the articles name (issue 17): 13 (Rust when maximum
performance is critical) and 14 (Python too slow for systems programming).

Both judge one reference server against the others at equal load: the same closed-loop
scenario and connection count of one service run, the newest run that measured that server
(quick, full or baseline preferred: every scenario). CPU per request is per served request,
so client_bound does not weaken it (as in claim 11); latency and throughput keep every flag.
"""
import statistics

import metrics
import results as res
from claim_checks import base
from claim_checks.base import judged, not_measured

RUN_CMD = "./lab run"          # the quick suite runs every registered server
PREFERRED_KINDS = ("quick", "full", "baseline")

RUST = "rust_tokio"
PYTHON = "python_asyncio"
# "Maximum performance": within these factors of the best C++ model or Go at the same level.
# p99 gets the wider margin: one descheduling moves a tail (the ±50 % of metrics.py's tolerance).
RUST_CPU_MARGIN = 1.2
RUST_P99_MARGIN = 1.5
# "Too slow": at least twice Go's CPU per request; at most half Go's requests/s.
PYTHON_CPU_FACTOR = 2.0
PYTHON_THROUGHPUT_FRACTION = 0.5


def run_with(evidence, server):
    """(run, None) — the service run to judge `server` from: of the runs with closed-loop
    aggregates of it, the newest quick/full/baseline, else the newest of any kind — or
    (None, why not) naming a run that listed the server without measuring it."""
    candidates, why = [], ""
    for kind, run in evidence.items():
        svc = getattr(run, "service", None)
        if not svc:
            continue
        if any(a["server"] == server and not res.is_open(a) for a in svc["aggregates"]):
            candidates.append((kind in PREFERRED_KINDS, run.folder.name, run))
        else:
            entry = res.server_info(svc).get(server)
            if entry and entry.get("status") not in ("ok", None):
                why = (f"{server} was {entry['status']} in {run.folder.name}"
                       + (f": {entry['reason']}" if entry.get("reason") else ""))
    if not candidates:
        return None, why or f"no run has measured {server}"
    return max(candidates, key=lambda c: c[:2])[2], None


def verdict_for(claim, evidence, server, labels, scope):
    """(verdict carrying its scope, run to judge from); with no run, every part of the verdict
    is not measured yet and the run is None."""
    v = base.Verdict(claim, reasons=[scope])
    run, why = run_with(evidence, server)
    if run:
        v.runs.append(base.run_name(run))
    else:
        base.none_measured(v, labels, RUN_CMD, why)
    return v, run


def _value(agg, metric):
    return metric.stat(agg)[0]


def at_equal_load(svc, subject, groups, metric):
    """[((scenario, connections), subject's aggregate, {group: (server, aggregate)})]: every
    closed-loop level where the subject and a server of some group have `metric`, with each
    group's best server there (lowest for lower-is-better metrics, else highest)."""
    levels = {}
    for agg in svc["aggregates"]:
        t = metric.stat(agg)
        if not res.is_open(agg) and t and t[0]:
            levels.setdefault((res.scenario_key(agg), agg["connections"]), {})[agg["server"]] = agg
    pick = min if metric.better == "lower" else max
    out = []
    for level, aggs in levels.items():
        if subject not in aggs:
            continue
        best = {}
        for group, servers in groups.items():
            present = [s for s in servers if s in aggs]
            if present:
                chosen = pick(present, key=lambda s: _value(aggs[s], metric))
                best[group] = (chosen, aggs[chosen])
        if best:
            out.append((level, aggs[subject], best))
    return out


def ratios(pairs, metric, groups=None):
    """Subject ÷ the best of `groups` (default: all) at each level that has one."""
    pick = min if metric.better == "lower" else max
    out = []
    for _, agg, best in pairs:
        values = [_value(a, metric) for g, (_, a) in best.items() if groups is None or g in groups]
        if values:
            out.append(_value(agg, metric) / pick(values))
    return out


def figures(pairs, subject, metric, run_name, drop=()):
    figs = []
    for (scenario, connections), agg, best in pairs:
        where = f"{scenario}, {connections} connections"
        figs.append(base.stat_figure(f"{subject} {metric.label} ({where})", agg, metric, run_name))
        for group, (server, a) in best.items():
            figs.append(base.stat_figure(f"{server} (best {group}) ({where})", a, metric,
                                         run_name))
    for f in figs:
        f.flags = [x for x in f.flags if x not in drop]
    return figs


def spread_text(values):
    spread = f"{min(values):.2f}–{max(values):.2f}× " if min(values) != max(values) else ""
    return (f"{statistics.median(values):.2f}× (median; {spread}over {len(values)} "
            f"scenario/level pair{'s' if len(values) != 1 else ''})")


def relative_chart(folder, name, title, context, svc, reference, reference_name, metric, lines):
    """One bar per server: its `metric` ÷ the best of `reference` servers at the same level,
    median over the levels (error bar: min–max)."""
    from claim_checks import drawing
    info = res.server_info(svc)
    per_server = {}
    for s in info:
        pairs = at_equal_load(svc, s, {"reference": reference}, metric)
        if pairs:
            per_server[s] = ratios(pairs, metric)
    rows = sorted(((s, info[s].get("model"), statistics.median(r), min(r), max(r))
                   for s, r in per_server.items() if r), key=lambda row: row[2])
    log = metrics.wants_log_axis([x for r in rows for x in r[3:]])
    return drawing.bar_chart(folder, name, title, context, rows,
                             f"{metric.label} ÷ {reference_name}'s{' (log)' if log else ''}",
                             log=log, lines=lines)


# ---- 13: Rust for maximum performance -------------------------------------------------------

def rust_claim(claim, evidence):
    labels = (f"Rust's CPU per request is within {RUST_CPU_MARGIN}× of the best C++ model "
              f"and Go", f"Rust's p99 is within {RUST_P99_MARGIN}× of the best C++ model and Go")
    v, run = verdict_for(claim, evidence, RUST, labels,
                         "\"maximum performance\" is measured as server CPU per request and "
                         "closed-loop p99 latency of this lab's small HTTP service at equal load, "
                         "on this machine; memory, startup and hot inner loops are other claims")
    if not run:
        return v
    svc, name = run.service, base.run_name(run)
    groups = {"C++": base.by_language(svc, "cpp"), "Go": base.by_language(svc, "go")}
    for label, metric, margin, drop in ((labels[0], metrics.CPU, RUST_CPU_MARGIN,
                                         ("client_bound",)),
                                        (labels[1], metrics.P99, RUST_P99_MARGIN, ())):
        pairs = at_equal_load(svc, RUST, groups, metric)
        r = ratios(pairs, metric)
        if not r:
            v.parts.append(not_measured(label, RUN_CMD, f"{name} has no C++ or Go server "
                                        f"beside {RUST} with a {metric.label}"))
            continue
        v.parts.append(judged(label, statistics.median(r) <= margin,
                              f"{RUST}'s {metric.label} is {spread_text(r)} the best C++/Go "
                              f"server's at the same level (rule: median ≤ {margin}×)",
                              figures(pairs, RUST, metric, name, drop)))
    reference = groups["C++"] + groups["Go"]
    v.chart = lambda folder, ctx: relative_chart(
        folder, "claim13_rust", "Claim 13: server CPU per request ÷ the best C++/Go server "
        "at the same level", ctx, svc, reference, "best C++/Go", metrics.CPU,
        [(1, "best C++/Go"), (RUST_CPU_MARGIN, f"rule: Rust ≤ {RUST_CPU_MARGIN}×")])
    return v


# ---- 14: Python too slow -------------------------------------------------------------------

def python_claim(claim, evidence):
    labels = (f"Python needs ≥ {PYTHON_CPU_FACTOR:g}× Go's CPU per request",
              f"Python serves ≤ {PYTHON_THROUGHPUT_FRACTION * 100:.0f} % of Go's requests/s "
              f"at equal load")
    v, run = verdict_for(claim, evidence, PYTHON, labels,
                         "\"systems programming\" is broader than an HTTP service (kernels, "
                         "drivers, databases, tools): this verdict covers a small HTTP service "
                         "only — aiohttp on uvloop (C-accelerated parsing and event loop), one "
                         "process per server thread")
    if not run:
        return v
    svc, name = run.service, base.run_name(run)
    groups = {"Go": base.by_language(svc, "go"), "Node.js": base.by_language(svc, "javascript")}
    for label, metric, rule, drop in (
            (labels[0], metrics.CPU, lambda m: m >= PYTHON_CPU_FACTOR, ("client_bound",)),
            (labels[1], metrics.REQUESTS, lambda m: m <= PYTHON_THROUGHPUT_FRACTION, ())):
        pairs = [p for p in at_equal_load(svc, PYTHON, groups, metric) if "Go" in p[2]]
        r = ratios(pairs, metric, ("Go",))
        if not r:
            v.parts.append(not_measured(label, RUN_CMD, f"{name} has no Go server beside "
                                        f"{PYTHON} with a {metric.label}"))
            continue
        node = ratios(pairs, metric, ("Node.js",))
        rule_text = (f"≥ {PYTHON_CPU_FACTOR:g}×" if metric is metrics.CPU
                     else f"≤ {PYTHON_THROUGHPUT_FRACTION:g}×")
        detail = (f"{PYTHON}'s {metric.label} is {spread_text(r)} Go's"
                  + (f"; {statistics.median(node):.2f}× Node.js's (median)" if node else "")
                  + f" (rule: median {rule_text} Go's)")
        v.parts.append(judged(label, rule(statistics.median(r)), detail,
                              figures(pairs, PYTHON, metric, name, drop)))
    reference = groups["Go"]
    v.chart = lambda folder, ctx: relative_chart(
        folder, "claim14_python", "Claim 14: server CPU per request ÷ Go's at the same level",
        ctx, svc, reference, "Go", metrics.CPU,
        [(1, "Go"), (PYTHON_CPU_FACTOR, f"rule: Python ≥ {PYTHON_CPU_FACTOR:g}×")])
    return v


FIELD_SOURCE = "Go vs Java vs Node.js backend articles (issue 17)"

CLAIMS = [
    base.Claim(13, "Rust for maximum performance",
               "Choose Rust when maximum performance is critical.",
               FIELD_SOURCE, rust_claim),
    base.Claim(14, "Python too slow",
               "Python is \"too slow for systems programming\" (the articles cite a well-known "
               "migration from Python to Go).",
               FIELD_SOURCE, python_claim),
]
