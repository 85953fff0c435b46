"""Claims about what a unit of concurrency and a service cost at rest and in memory/CPU:
1 (goroutine vs thread stack), 3 (memory per service), 4 (startup), 11 (cost per request).
"""
import statistics

import metrics
import results as res
from claim_checks import base
from claim_checks.base import Figure, judged, not_measured

MICRO_CMD = "./lab micro"
QUICK_CMD = "./lab run"
C10K_CMD = ("./lab run --suite c10k --servers go_nethttp,event_loop,coroutine,fiber,"
            "thread_per_request,thread_pool,node_http,java_threads")
SERVICE_KINDS = ("quick", "full", "baseline")
LANGUAGES = {"go": "Go", "java": "Java", "javascript": "Node.js", "cpp": "C++"}


def service_run(evidence, kinds=SERVICE_KINDS):
    """The newest service run among `kinds` (quick preferred: every server, every scenario)."""
    for kind in kinds:
        if kind in evidence and evidence[kind].service:
            return evidence[kind]
    return None


def micro_value(micro, primitive, measurement, stack_size=None):
    for r in micro["results"]:
        if r.get("primitive") == primitive and r.get("measurement") == measurement:
            if stack_size is None or (r.get("params") or {}).get("stack_size") == stack_size:
                return r
    return None


def micro_figure(r, label, run_name, scale=1.0, unit="bytes"):
    flags = []
    if r.get("min") is not None and r.get("value"):
        if (r["max"] - r["min"]) / r["value"] > metrics.NOISY_SPREAD:
            flags.append("noisy")
    return Figure(label, r["value"] * scale, unit, r.get("min", r["value"]) * scale,
                  r.get("max", r["value"]) * scale, flags, run_name)


# ---- 1: goroutine 2 KB, thread 1-2 MB -----------------------------------------------------

GOROUTINE_CLAIM_BYTES = 2 * 1024
THREAD_CLAIM_BYTES = 1024 * 1024


def stack_claim(claim, evidence):
    v = base.Verdict(claim)
    micro_run = evidence.get("micro")
    if not micro_run or not micro_run.micro:
        v.parts = [not_measured("a goroutine takes about 2 KB", MICRO_CMD),
                   not_measured("an OS thread takes 1 MB or more", MICRO_CMD)]
        return v
    micro, name = micro_run.micro, base.run_name(micro_run)
    v.runs.append(name)
    g = micro_value(micro, "goroutine", "memory_per_idle_unit")
    t = micro_value(micro, "std_thread", "memory_per_idle_unit")
    if g:
        fig = micro_figure(g, "RSS per idle goroutine", name, 1e-3, "kB")
        # "about 2 KB": within a factor of 2 either way
        holds = GOROUTINE_CLAIM_BYTES / 2 <= g["value"] <= GOROUTINE_CLAIM_BYTES * 2
        v.parts.append(judged("a goroutine takes about 2 KB", holds,
                              f"an idle goroutine adds {g['value'] / 1e3:.1f} kB of RSS",
                              [fig]))
    else:
        v.parts.append(not_measured("a goroutine takes about 2 KB", MICRO_CMD,
                                    "the micro run has no goroutine memory measurement"))
    if t:
        reserved = (t.get("params") or {}).get("virtual_bytes_per_unit")
        figs = [micro_figure(t, "RSS per idle std::thread", name, 1e-3, "kB")]
        if reserved:
            figs.append(Figure("address space reserved per std::thread", reserved / 2**20,
                               "MiB", run=name))
        holds = t["value"] >= THREAD_CLAIM_BYTES / 2
        detail = (f"an idle thread adds {t['value'] / 1e3:.1f} kB of RSS"
                  + (f" while reserving {reserved / 2**20:.0f} MiB of address space "
                     f"(untouched stack pages cost no memory)" if reserved else ""))
        if g:
            detail += f"; {t['value'] / g['value']:.1f}× a goroutine, not 500×"
        v.parts.append(judged("an OS thread takes 1 MB (or 2 MB) or more", holds, detail, figs))
    else:
        v.parts.append(not_measured("an OS thread takes 1 MB (or 2 MB) or more", MICRO_CMD,
                                    "the micro run has no std_thread memory measurement"))
    v.chart = lambda folder, ctx: _stack_chart(micro, folder, ctx)
    return v


def _stack_chart(micro, folder, context):
    from claim_checks import drawing
    rows = []
    for r in micro["results"]:
        if r.get("measurement") == "memory_per_idle_unit":
            size = (r.get("params") or {}).get("stack_size")
            label = r["primitive"] + (f" ({size // 1024} KiB stack)" if size else "")
            rows.append((label, r["primitive"], r["value"] / 1024, r.get("min", r["value"]) / 1024,
                         r.get("max", r["value"]) / 1024))
    return drawing.bar_chart(folder, "claim01_stack", "Claim 1: memory per idle unit of "
                            "concurrency (RSS)", context, rows, "RSS per idle unit, KiB (log)",
                            log=True, lines=[(2, "claim: goroutine 2 KB"),
                                             (1024, "claim: thread 1 MB")], primitive=True)


# ---- 3: memory per service ----------------------------------------------------------------

# MB as the claim says it (10^6 bytes)
BANDS_MB = {"go": (10, 50), "java": (200, 500), "javascript": (50, 150)}
MB = 1e6 / 1024  # KiB per MB


def peak_rss_by_server(service):
    """server -> (peak MB, its aggregate) over the run's closed-loop aggregates."""
    out = {}
    for agg in service["aggregates"]:
        t = metrics.RSS.stat(agg)
        if t is None or res.is_open(agg):
            continue
        if agg["server"] not in out or t[0] / MB > out[agg["server"]][0]:
            out[agg["server"]] = (t[0] / MB, agg)
    return out


def memory_claim(claim, evidence):
    v = base.Verdict(claim)
    run = service_run(evidence)
    if not run:
        v.parts = [not_measured("Go 10–50 MB, Java 200–500 MB, Node.js 50–150 MB", QUICK_CMD),
                   not_measured("Go uses 50 % less memory than Java", QUICK_CMD)]
        return v
    svc, name = run.service, base.run_name(run)
    v.runs.append(name)
    info = res.server_info(svc)
    peaks = peak_rss_by_server(svc)
    per_lang = {}
    figs = []
    for server, (mb, agg) in sorted(peaks.items()):
        lang = info.get(server, {}).get("language")
        if lang in BANDS_MB:
            per_lang.setdefault(lang, []).append(mb)
            figs.append(Figure(f"{server} peak RSS ({res.scenario_key(agg)}, "
                               f"{res.level_text(agg)})", mb, "MB",
                               flags=[f for f in res.flags_of(agg) if f == "noisy"], run=name))
    if not per_lang.get("go"):
        v.parts = [not_measured("Go 10–50 MB, Java 200–500 MB, Node.js 50–150 MB", QUICK_CMD,
                                "the run has no Go server")]
        return v
    placed = []
    for lang, (lo, hi) in BANDS_MB.items():
        values = per_lang.get(lang)
        if not values:
            continue
        where = ("within" if lo <= min(values) and max(values) <= hi else
                 "below" if max(values) < lo else "above" if min(values) > hi else "straddling")
        edge = " at the low edge" if where == "within" and min(values) < lo * 1.1 else ""
        placed.append(f"{LANGUAGES[lang]} {min(values):.0f}–{max(values):.0f} MB ({where} "
                      f"{lo}–{hi}{edge})")
    go_max = max(per_lang["go"])
    go_in = all(BANDS_MB["go"][0] <= x <= BANDS_MB["go"][1] for x in per_lang["go"])
    v.parts.append(judged("Go needs 10–50 MB", go_in, "; ".join(placed), figs))
    if per_lang.get("java"):
        java_min = min(per_lang["java"])
        v.parts.append(judged("Go needs 50 % less memory than Java", go_max <= 0.5 * java_min,
                              f"the largest Go peak is {go_max / java_min:.0%} of the smallest "
                              f"Java peak", []))
    v.chart = lambda folder, ctx: _memory_chart(svc, peaks, info, folder, ctx)
    return v


def _memory_chart(svc, peaks, info, folder, context):
    from claim_checks import drawing
    rows = [(s, info.get(s, {}).get("model"), mb, mb, mb) for s, (mb, _) in
            sorted(peaks.items(), key=lambda kv: kv[1][0])]
    bands = [(lo, hi, f"claim: {LANGUAGES[lang]} {lo}–{hi} MB")
             for lang, (lo, hi) in BANDS_MB.items()]
    return drawing.bar_chart(folder, "claim03_memory", "Claim 3: peak memory per service "
                            f"(suite {svc['context'].get('suite')})", context, rows,
                            "peak RSS, MB (log)", log=True, bands=bands)


# ---- 4: startup ---------------------------------------------------------------------------

def startup_claim(claim, evidence):
    v = base.Verdict(claim)
    run = None
    for kind in SERVICE_KINDS:
        if kind in evidence and evidence[kind].service and evidence[kind].service["startup"]:
            run = evidence[kind]
            break
    parts = [("go", "Go starts in milliseconds", lambda ms: ms < 100),
             ("java", "Java starts in seconds", lambda ms: ms >= 1000),
             ("javascript", "Node.js starts in under a second", lambda ms: ms < 1000)]
    if not run:
        v.parts = [not_measured(p[1], QUICK_CMD) for p in parts]
        return v
    svc, name = run.service, base.run_name(run)
    v.runs.append(name)
    info = res.server_info(svc)
    records = {r["server"]: r for r in svc["startup"]}
    for lang, label, rule in parts:
        servers = [s for s in sorted(records) if info.get(s, {}).get("language") == lang]
        figs = [base.stat_figure(f"{s} exec → first response", records[s], metrics.STARTUP, name)
                for s in servers]
        figs = [f for f in figs if f.value is not None]
        if not figs:
            v.parts.append(not_measured(label, QUICK_CMD, f"no {LANGUAGES[lang]} server started"))
            continue
        values = [f.value for f in figs]
        holds = all(rule(x) for x in values)
        v.parts.append(judged(label, holds, f"{min(values):.0f}–{max(values):.0f} ms "
                              f"(median of {svc['startup'][0].get('runs') or 'the'} cold "
                              f"starts)", figs))
    v.chart = lambda folder, ctx: _startup_chart(svc, records, info, folder, ctx)
    return v


def _startup_chart(svc, records, info, folder, context):
    from claim_checks import drawing
    rows = []
    for s, r in sorted(records.items()):
        t = metrics.STARTUP.stat(r)
        if t:
            rows.append((s, info.get(s, {}).get("model"), t[0], t[1], t[2]))
    rows.sort(key=lambda row: row[2])
    return drawing.bar_chart(folder, "claim04_startup", "Claim 4: startup, exec → first "
                            "response", context, rows, "time to first response, ms (log)",
                            log=True, lines=[(1000, "1 second")])


# ---- 11: cost per request -----------------------------------------------------------------

def cost_claim(claim, evidence):
    v = base.Verdict(claim)
    run = service_run(evidence)
    labels = ("Go needs 3–5× less compute than Java", "Go costs 40 % less than Java")
    if not run:
        return base.none_measured(v, labels, QUICK_CMD)
    svc, name = run.service, base.run_name(run)
    v.runs.append(name)
    info = res.server_info(svc)
    go = [s for s in info if info[s].get("language") == "go"]
    java = [s for s in info if info[s].get("language") == "java"]
    figs, ratios = [], []
    # CPU per request at equal load: the same scenario and connection count, each server's
    # median; every closed-loop scenario both languages ran.
    for scen in res.scenarios(svc, "closed"):
        aggs = res.aggregates_of(svc, scen, "closed")
        for g in go:
            for agg_g in aggs.get(g, []):
                for j in java:
                    agg_j = next((a for a in aggs.get(j, [])
                                  if a["connections"] == agg_g["connections"]), None)
                    tg, tj = metrics.CPU.stat(agg_g), agg_j and metrics.CPU.stat(agg_j)
                    if not tg or not tj or not tg[0]:
                        continue
                    ratios.append(tj[0] / tg[0])
                    where = f"{scen}, {agg_g['connections']} connections"
                    if not any(f.label == f"{g} CPU/request ({where})" for f in figs):
                        figs.append(base.stat_figure(f"{g} CPU/request ({where})", agg_g,
                                                     metrics.CPU, name))
                    figs.append(base.stat_figure(f"{j} CPU/request ({where})", agg_j,
                                                 metrics.CPU, name))
    if not ratios:
        return base.none_measured(v, labels, QUICK_CMD,
                                  "the run has no Go and Java server side by side")
    # Client-bound points do not weaken CPU per request (it is per served request), only
    # noisy ones do; keep the flags visible but judge on noise only.
    for f in figs:
        f.flags = [x for x in f.flags if x != "client_bound"]
    lo, hi, mid = min(ratios), max(ratios), statistics.median(ratios)
    detail = (f"Java's server CPU per request is {mid:.2f}× Go's (median; {lo:.2f}–{hi:.2f}×) "
              f"across {len(ratios)} scenario/level pairs")
    peaks = peak_rss_by_server(svc)
    mem = [peaks[j][0] / peaks[g][0] for g in go for j in java if g in peaks and j in peaks]
    mem_text = f"; peak memory {min(mem):.1f}–{max(mem):.1f}× Go's" if mem else ""
    v.parts.append(judged(labels[0], mid >= 3, detail + mem_text, figs))
    v.parts.append(judged(labels[1], mid >= 1 / 0.6,
                          f"a 40 % saving needs Java ≥ 1.67× Go's CPU per request; measured "
                          f"{mid:.2f}× (median; memory is a separate bill{mem_text})", []))
    v.chart = lambda folder, ctx: _cost_chart(ratios, folder, ctx)
    return v


def _cost_chart(ratios, folder, context):
    from claim_checks import drawing
    rows = [(f"pair {i + 1}", "virtual_thread", r, r, r) for i, r in enumerate(sorted(ratios))]
    return drawing.bar_chart(folder, "claim11_cost", "Claim 11: Java ÷ Go server CPU per request",
                            context, rows, "Java CPU/request ÷ Go CPU/request",
                            lines=[(3, "claim: 3×"), (1 / 0.6, "claim: 40 % saving")])


CLAIMS = [
    base.Claim(1, "Goroutine vs thread stack",
               "A goroutine starts with about 2 KB of stack; an OS thread takes 1 MB (another "
               "article says 2 MB) or more.",
               base.articles(1), stack_claim),
    base.Claim(3, "Memory per service",
               "Memory per service: Go 10–50 MB, Java 200–500 MB, Node.js 50–150 MB; \"50% "
               "less memory\".",
               base.articles(3), memory_claim),
    base.Claim(4, "Startup",
               "Startup: Go milliseconds, Java seconds (JVM warm-up), Node.js sub-second.",
               base.articles(4), startup_claim),
    base.Claim(11, "Cost",
               "Cost: \"3x to 5x\" lower compute spend and \"40% server cost reduction\" Go "
               "vs Java.",
               base.articles(11), cost_claim),
]
