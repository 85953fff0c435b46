"""Claims about behaviour under load: 2 (10,000 connections per core), 5 (throughput and its
warm-up curve), 6 (p99 and GC pauses), 7 (CPU-bound work on one and two cores), 8 (the API
gateway's fan-out).
"""
import io
import json
import re
import statistics
import tarfile

import gateway_charts as gw
import metrics
import results as res
from claim_checks import base
from claim_checks.base import Figure, judged, not_measured

C10K_CMD = ("./lab run --suite c10k --servers go_nethttp,event_loop,coroutine,fiber,"
            "thread_per_request,thread_pool,node_http,java_threads")
WARMUP_CMD = "./lab run --suite warmup"
LATENCY_CMD = "./lab run --suite latency"
CPU1_CMD = "./lab run --suite cpu_bound --server-cpus 0 --client-cpus 1"
CPU2_CMD = "./lab run --suite cpu_bound --server-cpus 0-1 --client-cpus 1"
GATEWAY_CMD = "./lab run --suite gateway"
HOL_CMD = "./lab workshop hol"
STEADY_FRACTION = 0.9     # "time to reach 90 % of steady throughput"


def _sleep_ms(path):
    m = re.search(r"[?&]ms=(\d+)", path or "")
    return int(m.group(1)) if m else None


# ---- 2: 10,000 connections per core -------------------------------------------------------

def c10k_claim(claim, evidence):
    v = base.Verdict(claim)
    label = "Go holds 10,000+ concurrent connections on one core"
    run = evidence.get("c10k")
    if not run or not run.service:
        v.parts = [not_measured(label, C10K_CMD)]
        return v
    svc, name = run.service, base.run_name(run)
    v.runs.append(name)
    cores = len((svc["context"].get("cpu_layout") or {}).get("server_cpus") or [1])
    rows = []
    for agg in svc["aggregates"]:
        ms = _sleep_ms(agg.get("path"))
        if res.is_open(agg) or not ms:
            continue
        ideal = agg["connections"] * 1000 / ms
        rps = metrics.REQUESTS.stat(agg)
        rows.append((agg, ideal, rps[0] if rps else 0))
    go = [r for r in rows if res.server_info(svc).get(r[0]["server"], {}).get("language") == "go"]
    if not go:
        v.parts = [not_measured(label, C10K_CMD, "the c10k run has no Go server")]
        return v
    agg, ideal, rps = max(go, key=lambda r: r[0]["connections"])
    flags = res.flags_of(agg)
    per_core = agg["connections"] / cores
    held = per_core >= 10000 and rps >= 0.6 * ideal and "starved" not in flags \
        and "errors" not in flags
    fig = base.stat_figure(f"{agg['server']} req/s at {agg['connections']:,} connections "
                           f"(ideal {ideal:,.0f})", agg, metrics.REQUESTS, name)
    others = sorted(rows, key=lambda r: -r[2])
    other_text = ", ".join(f"{a['server']} {r:,.0f}" for a, _, r in others
                           if a["server"] != agg["server"])
    v.parts.append(judged(label, held,
                          f"{agg['server']} on {cores} core(s): {rps:,.0f} req/s of "
                          f"{ideal:,.0f} ideal ({rps / ideal:.0%}), "
                          f"{'not starved' if 'starved' not in flags else 'starved'}; "
                          f"others: {other_text}",
                          [fig] + [base.stat_figure(f"{a['server']} req/s", a, metrics.REQUESTS,
                                                    name) for a, _, _ in others
                                   if a["server"] != agg["server"]]))
    v.chart = lambda folder, ctx: _c10k_chart(svc, rows, folder, ctx)
    return v


def _c10k_chart(svc, rows, folder, context):
    from claim_checks import drawing
    info = res.server_info(svc)
    data = sorted(((a["server"], info.get(a["server"], {}).get("model"), r, r, r)
                   for a, _, r in rows), key=lambda row: row[2])
    ideal = max(i for _, i, _ in rows)
    return drawing.bar_chart(folder, "claim02_c10k", "Claim 2: requests/s with 10,000 "
                            "connections of 1-second requests", context, data, "requests/s",
                            lines=[(ideal, "every connection served")])


# ---- 5: throughput and warm-up ------------------------------------------------------------

def read_lab_load_report(folder, relative):
    """A lab_load JSON report from logs/ or, for published runs, from logs.tar.xz."""
    path = folder / relative
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    archive = folder / "logs.tar.xz"
    if archive.exists():
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if member.name.lstrip("./").endswith(relative):
                    return json.load(io.TextIOWrapper(tar.extractfile(member), "utf-8"))
    return None


def warmup_curves(run):
    """server -> {"curve": median responses/s per second, "runs": n, "steady", "t90",
    "flags"}: per-second counts of every ok measurement of the run (one per cold start)."""
    per_server = {}
    for m in run.service["measurements"]:
        if m.get("status", "ok") != "ok" or not m.get("histogram_file"):
            continue
        report = read_lab_load_report(run.folder, m["histogram_file"])
        curve = (report or {}).get("responses_per_second")
        if not curve:
            continue
        duration = int(round(m.get("duration_s") or len(curve)))
        entry = per_server.setdefault(m["server"], {"curves": [], "flags": []})
        entry["curves"].append(curve[:duration])
        entry["flags"] += [f for f in res.flags_of(m) if f not in entry["flags"]]
    out = {}
    for server, entry in per_server.items():
        length = min(len(c) for c in entry["curves"])
        curve = [statistics.median(c[k] for c in entry["curves"]) for k in range(length)]
        t90, steady = time_to_steady(curve)
        out[server] = {"curve": curve, "runs": len(entry["curves"]), "steady": steady,
                       "t90": t90, "flags": entry["flags"]}
    return out


def time_to_steady(curve):
    """(seconds to the first second at >= 90 % of steady, steady): steady throughput is the
    median of the last third of the curve. (None, steady) if it is never reached."""
    if not curve:
        return None, None
    tail = curve[len(curve) - max(1, len(curve) // 3):]
    steady = statistics.median(tail)
    for k, x in enumerate(curve):
        if x >= STEADY_FRACTION * steady:
            return k + 1, steady
    return None, steady


def _span(values):
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def warmup_claim(claim, evidence):
    v = base.Verdict(claim)
    labels = ("Java reaches its throughput only after a JIT warm-up",
              "Java's throughput is high after warm-up (≥ 80 % of Go's)",
              "Node.js is moderate (below 90 % of Go's)")
    run = evidence.get("warmup")
    if not run or not run.service:
        return base.none_measured(v, labels, WARMUP_CMD)
    name = base.run_name(run)
    v.runs.append(name)
    curves = warmup_curves(run)
    if not curves:
        return base.none_measured(v, labels, WARMUP_CMD, "the warm-up run holds no per-second "
                                  "counts (lab_load before responses_per_second)")
    info = res.server_info(run.service)

    def lang_of(server):
        return info.get(server, {}).get("language")

    def fig(server):
        c = curves[server]
        return Figure(f"{server}: steady req/s (reached 90 % after {c['t90'] or '>30'} s, "
                      f"{c['runs']} cold starts)", c["steady"], "req/s",
                      flags=c["flags"], run=name)
    go = [s for s in curves if lang_of(s) == "go"]
    java = [s for s in curves if lang_of(s) == "java"]
    node = [s for s in curves if s == "node_http"] or \
        [s for s in curves if lang_of(s) == "javascript"]
    if not go or not java:
        return base.none_measured(v, labels, WARMUP_CMD, "the run lacks a Go or a Java server")
    go_t90 = max(curves[s]["t90"] or 99 for s in go)
    go_steady = max(curves[s]["steady"] for s in go)
    java_t90 = [curves[s]["t90"] or 99 for s in java]
    v.parts.append(judged(labels[0], min(java_t90) >= go_t90 + 2,
                          f"Java reaches 90 % of steady after {_span(java_t90)} s, "
                          f"Go after {go_t90} s", [fig(s) for s in java + go]))
    java_ratio = max(curves[s]["steady"] for s in java) / go_steady
    v.parts.append(judged(labels[1], java_ratio >= 0.8,
                          f"best Java steady throughput is {java_ratio:.0%} of Go's", []))
    if node:
        node_ratio = max(curves[s]["steady"] for s in node) / go_steady
        v.parts.append(judged(labels[2], node_ratio < 0.9,
                              f"Node.js steady throughput is {node_ratio:.0%} of Go's",
                              [fig(s) for s in node]))
    v.chart = lambda folder, ctx: _warmup_chart(curves, info, folder, ctx)
    return v


def _warmup_chart(curves, info, folder, context):
    from claim_checks import drawing
    series = {s: (info.get(s, {}).get("model"), info.get(s, {}).get("language"), c["curve"],
                  c["t90"]) for s, c in curves.items()}
    return drawing.warmup_chart(folder, "claim05_warmup", "Claim 5: requests/s second by second "
                               "after a cold start", context, series)


# ---- 6: p99 and GC pauses -----------------------------------------------------------------

def gc_of(measurement):
    """(pause count, total ms, max ms or None) from a measurement's GC block, or None.
    Accepts the names a runtime-log reader may use (count/pauses, total_ms/pause_total_ms)."""
    gc = measurement.get("gc") or (measurement.get("server_stats") or {}).get("gc")
    if not isinstance(gc, dict):
        return None
    count = gc.get("pauses", gc.get("count", gc.get("pause_count")))
    total = gc.get("pause_total_ms", gc.get("total_ms"))
    if isinstance(count, list):
        pauses = count
        return len(pauses), sum(pauses), max(pauses) if pauses else 0
    if count is None and total is None:
        return None
    return count or 0, total or 0, gc.get("pause_max_ms", gc.get("max_ms"))


def _p99_at(svc, server, scenario, fraction):
    for agg in svc["aggregates"]:
        if agg["server"] == server and agg.get("scenario") == scenario and res.is_open(agg) \
                and abs((agg.get("rate_fraction") or 0) - fraction) < 1e-6:
            return agg
    return None


def p99_claim(claim, evidence):
    v = base.Verdict(claim)
    run = evidence.get("latency")
    labels = ("Go's p99 is low (within the SLO at half its capacity)",
              "Node.js's p99 is low for I/O (/sleep within the SLO at half its capacity)",
              "Java's p99 varies with GC pauses",
              "Node.js's p99 is high for CPU work")
    if not run or not run.service:
        v.parts = [not_measured(label, LATENCY_CMD) for label in labels[:3]]
        v.parts.append(hol_part(labels[3], evidence, "node_http"))
        return v
    svc, name = run.service, base.run_name(run)
    v.runs.append(name)
    info = res.server_info(svc)
    slo = {s["name"]: s.get("slo_p99_ms") for s in (svc.get("suite") or {}).get("scenarios", [])}

    def within(servers, scenario):
        figs, ok = [], True
        for s in servers:
            agg = _p99_at(svc, s, scenario, 0.5)
            if not agg:
                continue
            fig = base.stat_figure(f"{s} p99, {scenario} at 50 % of capacity", agg, metrics.P99,
                                   name)
            figs.append(fig)
            ok = ok and fig.value is not None and fig.value <= (slo.get(scenario) or 1e9)
        return ok, figs
    go = [s for s in info if info[s].get("language") == "go"]
    node = [s for s in info if s == "node_http"]
    for label, servers, scen in ((labels[0], go, "plaintext_latency"),
                                 (labels[1], node, "sleep_latency")):
        ok, figs = within(servers, scen)
        if figs:
            v.parts.append(judged(label, ok, f"SLO p99 ≤ {slo.get(scen)} ms; "
                                  + ", ".join(f"{f.label.split(' p99')[0]} "
                                              f"{res.fmt_num(f.value)} ms" for f in figs), figs))
        else:
            v.parts.append(not_measured(label, LATENCY_CMD, f"no {scen} sweep for these servers"))
    java = [s for s in info if info[s].get("language") == "java"]
    gc_rows = []
    for m in svc["measurements"]:
        g = gc_of(m)
        if g and m["server"] in java and m.get("latency_us"):
            gc_rows.append((m, g))
    if not gc_rows:
        v.parts.append(not_measured(labels[2], LATENCY_CMD, "the run's measurements carry no GC "
                                    "pauses (recorded from each runtime's GC log once the "
                                    "harness reads them)"))
    else:
        tied = [(m, g) for m, g in gc_rows if g[2] is not None and m["latency_us"].get("p99")
                and g[2] >= 0.5 * m["latency_us"]["p99"] / 1000]
        figs = [Figure(f"{m['server']} max GC pause at {res.level_text(m)}", g[2], "ms",
                       flags=res.flags_of(m), run=name) for m, g in gc_rows[:6]]
        v.parts.append(judged(labels[2], bool(tied),
                              f"{len(tied)} of {len(gc_rows)} Java measurements had a GC pause of "
                              f"at least half their p99", figs))
    v.parts.append(hol_part(labels[3], evidence, "node_http"))
    if "hol" in evidence:
        v.runs.append(base.run_name(evidence["hol"]))
    v.chart = lambda folder, ctx: _p99_chart(svc, info, slo, folder, ctx)
    return v


def _p99_chart(svc, info, slo, folder, context):
    from claim_checks import drawing
    scen = "plaintext_latency"
    rows = []
    for server in info:
        agg = _p99_at(svc, server, scen, 0.5)
        t = agg and metrics.P99.stat(agg)
        if t:
            rows.append((server, info[server].get("model"), *(metrics.P99.shown(x) for x in t)))
    rows.sort(key=lambda r: r[2])
    return drawing.bar_chart(folder, "claim06_p99", "Claim 6: p99 at 50 % of each server's "
                             f"capacity, {scen} (open loop)", context, rows, "p99, ms (log)",
                             log=True, lines=[(slo.get(scen), "SLO")] if slo.get(scen) else [])


# ---- 7: CPU-bound work on one and two cores -----------------------------------------------

def _compute_aggs(run):
    """server -> the closed-loop aggregate of the run's /compute scenario: the highest level
    without a weakening flag, else the highest level."""
    def rank(agg):
        weak = any(f in base.WEAKENING_FLAGS for f in res.flags_of(agg))
        return (not weak, agg["connections"])
    out = {}
    for agg in run.service["aggregates"]:
        if (agg.get("path") or "").startswith("/compute") and not res.is_open(agg):
            if agg["server"] not in out or rank(agg) > rank(out[agg["server"]]):
                out[agg["server"]] = agg
    return out


def hol_part(label, evidence, server, remedy=None):
    """Head-of-line blocking from ./lab workshop hol: p99 of cheap /plaintext requests beside
    CPU-bound /compute vs alone. Holds when the p99 beside is >= 3x the p99 alone (and, with
    a remedy server, the remedy's is < half of it)."""
    run = evidence.get("hol")
    rows = {r["server"]: r for r in (run.data.get("servers", []) if run else [])}
    if server not in rows:
        return not_measured(label, HOL_CMD, "no ./lab workshop hol run with " + server)
    name = base.run_name(run)

    def p99(r, when):
        return ((r.get(when) or {}).get("p99") or 0) / 1000
    figs = [Figure(f"{s} cheap p99 {when}", p99(r, when), "ms", run=name)
            for s, r in sorted(rows.items()) for when in ("alone", "beside")]
    r = rows[server]
    holds = p99(r, "beside") >= 3 * max(p99(r, "alone"), 0.001)
    detail = f"{server}: p99 of cheap requests {p99(r, 'alone'):.1f} ms alone, " \
             f"{p99(r, 'beside'):.1f} ms beside /compute"
    if remedy and remedy in rows:
        holds = holds and p99(rows[remedy], "beside") < p99(r, "beside") / 2
        detail += f"; {remedy}: {p99(rows[remedy], 'beside'):.1f} ms"
    return judged(label, holds, detail, figs)


def cpu_claim(claim, evidence):
    v = base.Verdict(claim)
    labels = ("Node.js is poor at CPU-bound work (CPU per /compute request)",
              "Node.js uses one core per process without clustering (1 → 2 cores: < 1.3×)",
              "Go uses both cores (1 → 2 cores: ≥ 1.6×)",
              "a CPU-bound request blocks cheap ones on an event loop (not with --offload tbb)")
    # Part 1: raw speed, from the quick/full run's /compute scenario.
    # (today's quick suite has no /compute scenario; the full suite and older quick runs do)
    quick = next((evidence[k] for k in ("quick", "full", "cpu_bound@1") if k in evidence
                  and evidence[k].service and _compute_aggs(evidence[k])), None)
    if quick:
        name = base.run_name(quick)
        v.runs.append(name)
        aggs = _compute_aggs(quick)
        info = res.server_info(quick.service)
        cpu = {s: metrics.CPU.stat(a)[0] for s, a in aggs.items() if metrics.CPU.stat(a)}
        node = [s for s in cpu if s == "node_http"]
        fast = [x for s, x in cpu.items() if info.get(s, {}).get("language") in ("cpp", "go")]
        if node and fast:
            ratio = cpu[node[0]] / min(fast)
            figs = [base.stat_figure(f"{s} CPU per /compute request", aggs[s], metrics.CPU, name)
                    for s in sorted(cpu, key=cpu.get)]
            # CPU per request is per served request: client-bound does not weaken it
            for f in figs:
                f.flags = [x for x in f.flags if x != "client_bound"]
            v.parts.append(judged(labels[0], ratio > 1.5,
                                  f"Node.js needs {ratio:.2f}× the CPU of the fastest C++/Go "
                                  f"server per /compute request ({cpu[node[0]]:.0f} vs "
                                  f"{min(fast):.0f} µs)", figs))
    if not v.parts:
        v.parts.append(not_measured(labels[0], "./lab run --suite full --scenarios compute"))
    hol = hol_part(labels[3], evidence, "event_loop", "event_loop+tbb")
    if "hol" in evidence:
        v.runs.append(base.run_name(evidence["hol"]))
    one, two = evidence.get("cpu_bound@1"), evidence.get("cpu_bound@2")
    if not one or not two:
        missing = " and ".join(c for c, r in ((CPU1_CMD, one), (CPU2_CMD, two)) if not r)
        for label in labels[1:3]:
            v.parts.append(not_measured(label, missing))
        v.parts.append(hol)
        if quick:
            v.chart = lambda folder, ctx: _compute_cpu_chart(quick, folder, ctx)
        return v
    v.runs += [base.run_name(one), base.run_name(two)]
    a1, a2 = _compute_aggs(one), _compute_aggs(two)
    speedups = {}
    for s in sorted(set(a1) & set(a2)):
        r1, r2 = metrics.REQUESTS.stat(a1[s]), metrics.REQUESTS.stat(a2[s])
        if r1 and r2 and r1[0]:
            speedups[s] = (r2[0] / r1[0], a1[s], a2[s])

    def figs_of(servers):
        out = []
        for s in servers:
            if s in speedups:
                sp, x1, x2 = speedups[s]
                out.append(Figure(f"{s} speed-up 1 → 2 cores", sp, "×",
                                  flags=list(dict.fromkeys(res.flags_of(x1) + res.flags_of(x2))),
                                  run=base.run_name(two)))
        return out
    node_figs = figs_of(["node_http"])
    if node_figs:
        v.parts.append(judged(labels[1], node_figs[0].value < 1.3,
                              f"node_http {node_figs[0].value:.2f}×"
                              + (f", node_cluster {speedups['node_cluster'][0]:.2f}×"
                                 if "node_cluster" in speedups else ""),
                              node_figs + figs_of(["node_cluster"])))
    go_figs = figs_of([s for s in speedups if s.startswith("go")])
    if go_figs:
        v.parts.append(judged(labels[2], min(f.value for f in go_figs) >= 1.6,
                              ", ".join(f"{f.label.split(' ')[0]} {f.value:.2f}×"
                                        for f in go_figs), go_figs))
    v.parts.append(hol)
    v.chart = lambda folder, ctx: _speedup_chart(speedups, res.server_info(two.service),
                                                 folder, ctx)
    return v


def _compute_cpu_chart(run, folder, context):
    from claim_checks import drawing
    info = res.server_info(run.service)
    rows = []
    for s, agg in _compute_aggs(run).items():
        t = metrics.CPU.stat(agg)
        if t:
            rows.append((s, info.get(s, {}).get("model"), *t))
    rows.sort(key=lambda r: r[2])
    return drawing.bar_chart(folder, "claim07_compute_cpu", "Claim 7: server CPU per /compute "
                             "request (one core)", context, rows, "CPU per request, µs")


def _speedup_chart(speedups, info, folder, context):
    from claim_checks import drawing
    rows = sorted(((s, info.get(s, {}).get("model"), sp, sp, sp)
                   for s, (sp, _, _) in speedups.items()), key=lambda r: r[2])
    return drawing.bar_chart(folder, "claim07_cpu_scaling", "Claim 7: /compute throughput, "
                            "2 server cores ÷ 1", context, rows, "speed-up 1 → 2 cores",
                            lines=[(2, "perfect"), (1, "none")])


# ---- 8: API gateway -----------------------------------------------------------------------

ASYNC_SERVERS = ("event_loop", "coroutine", "fiber")


def gateway_claim(claim, evidence):
    v = base.Verdict(claim)
    labels = ("a fan-out completes in the time of the slowest call, not the sum",
              "a server handles tens of thousands of gateway requests concurrently")
    run = evidence.get("gateway")
    if not run or not run.service:
        return base.none_measured(v, labels, GATEWAY_CMD)
    svc, name = run.service, base.run_name(run)
    v.runs.append(name)
    info = res.server_info(svc)
    gateway_scens = gw.gateway_scenarios(svc)     # aggregates may not carry their path
    levels = sorted({a["connections"] for a in svc["aggregates"] if not res.is_open(a)
                     and res.scenario_key(a) in gateway_scens})
    # p50 at the lowest level: its p99 carries the warm-up's backlog (docs/reference-comparison)
    rows = gw.latency_ratios(svc, levels[0] if levels else None)
    par = {r["server"]: r for r in rows if r["mode"] == "parallel"
           and r["fanout"] == max(x["fanout"] for x in rows)}
    seq = {r["server"]: r for r in rows if r["mode"] == "sequential"
           and r["fanout"] == max(x["fanout"] for x in rows)}
    judged_servers = [] if not levels else [s for s in par if info.get(s, {}).get("language") in ("go", "javascript")
                      or s in ASYNC_SERVERS]
    if not judged_servers:
        v.parts.append(not_measured(labels[0], GATEWAY_CMD, "no parallel fan-out measured"))
    else:
        holding = [s for s in judged_servers if 0 < par[s]["p50"] <= 1.5]
        figs = [Figure(f"{s} p50 ÷ delay, fan-out {par[s]['fanout']} parallel"
                       + (f" (sequential {seq[s]['p50']:.1f})" if seq.get(s, {}).get("p50")
                          else "") + ("" if par[s]["p50"] else " (no answer)"),
                       par[s]["p50"] or None, "×", run=name,
                       flags=["downstream_bound"] if par[s]["downstream_bound"] else [])
                for s in sorted(par, key=lambda s: par[s]["p50"])]
        fails = [s for s in par if not 0 < par[s]["p50"] <= 1.5]
        v.parts.append(judged(labels[0], len(holding) == len(judged_servers),
                              f"at {levels[0]} connections, p50 ÷ delay at fan-out "
                              f"{par[judged_servers[0]]['fanout']}: {len(holding)} of "
                              f"{len(judged_servers)} Go/Node.js/async C++ servers ≤ 1.5"
                              + (f"; not within 1.5: {', '.join(sorted(fails))}" if fails else ""),
                              figs))
    # Concurrency: highest level at which each server's p99 stays within 2x its p99 at 64.
    scen = next((s for s, p in gateway_scens.items()
                 if p["mode"] == "parallel" and p["fanout"] == 4), None)
    sustained = {}
    if scen:
        for server, aggs in res.aggregates_of(svc, scen, "closed").items():
            base_aggs = [a for a in aggs if a["connections"] >= gw.RATIO_LEVEL]
            if not base_aggs or not metrics.P99.stat(base_aggs[0]):
                continue
            p0 = metrics.P99.stat(base_aggs[0])[0]
            ok = [a["connections"] for a in base_aggs
                  if metrics.P99.stat(a) and metrics.P99.stat(a)[0] <= 2 * p0
                  and "starved" not in res.flags_of(a)]
            if ok:
                sustained[server] = max(ok)
    if sustained:
        best = max(sustained.values())
        figs = [Figure(f"{s}: most concurrent requests before p99 doubled", n, "requests",
                       run=name) for s, n in sorted(sustained.items(), key=lambda kv: -kv[1])]
        v.parts.append(judged(labels[1], best >= 10000,
                              f"p99 (fan-out 4) more than doubles beyond {min(sustained.values())}"
                              f"–{best} concurrent requests (highest measured: {max(levels)}; "
                              f"bounded by the pool of downstream connections, "
                              f"--downstream-pool)", figs))
    else:
        v.parts.append(not_measured(labels[1], GATEWAY_CMD, "no fan-out 4 parallel levels"))
    v.chart = lambda folder, ctx: _gateway_chart(par, info, folder, ctx)
    return v


def _gateway_chart(par, info, folder, context):
    from claim_checks import drawing
    rows = sorted(((s if r["p50"] else f"{s} (no answer)", info.get(s, {}).get("model"),
                    r["p50"], r["p50"], r["p50"]) for s, r in par.items()), key=lambda r: r[2])
    fanout = next(iter(par.values()))["fanout"] if par else "?"
    return drawing.bar_chart(folder, "claim08_gateway", f"Claim 8: fan-out {fanout} in parallel, "
                            "p50 latency ÷ downstream delay", context, rows,
                            "p50 ÷ delay (1 = slowest call, not the sum)", log=True,
                            lines=[(1, "slowest"), (fanout, "sum")] if par else [])


CLAIMS = [
    base.Claim(2, "10,000 connections per core", "Go handles 10,000+ concurrent connections "
               "per core.", base.articles(2),
               c10k_claim),
    base.Claim(5, "Throughput and warm-up",
               "Throughput: Go high (compiled, multi-core), Java high \"after JIT warm-up\", "
               "Node.js moderate (single-threaded event loop).",
               base.articles(5), warmup_claim),
    base.Claim(6, "P99 latency", "P99 latency: Go low and predictable, Java variable (GC "
               "pauses), Node.js low for I/O but high for CPU work.",
               base.articles(6), p99_claim),
    base.Claim(7, "CPU-bound work and cores",
               "Node.js is limited to one CPU core per process without clustering; Go gives "
               "\"true multi-core parallelism\"; Node.js is poor at CPU-bound work.",
               base.articles(7), cpu_claim),
    base.Claim(8, "API gateway fan-out",
               "The API-gateway request \"completes in the time of the slowest operation, not "
               "the sum\", and a server handles \"tens of thousands\" of them concurrently.",
               "the API-gateway article (issue 11)", gateway_claim),
]
