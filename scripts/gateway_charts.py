"""Charts and numbers of the API-gateway scenarios (/gateway, issue 11).

A gateway scenario's path is `/gateway?fanout=K&ms=M&mode=parallel|sequential`: each request
makes K calls of M ms to the downstream service started beside the server. Fan-out, delay and
mode are parsed from that query (the suite's scenario path, or a measurement's). Throughput,
p99 and CPU per request vs connections are the ordinary closed-loop charts (charts.py, with a
title naming fan-out and mode); this file adds:
  - gateway_slowest_not_sum: p50 and p99 / M per server and fan-out, parallel vs sequential
    (parallel waits for the slowest call: ~1; sequential for the sum: ~K);
  - gateway_memory_per_call: (peak RSS at the most connections − at the fewest) / the extra
    in-flight downstream calls (≈ Δconnections × K, parallel);
  - gateway_tail: gateway_tail's measured p99 beside the p99 its delay profile predicts.
Points the harness flagged downstream_bound get a red outline (metrics.FLAGS). Functions return
the paths they wrote; nothing here runs for a run without gateway scenarios.
"""
from urllib.parse import parse_qs, urlsplit

from matplotlib.lines import Line2D
from matplotlib.patches import Patch

import charts
import metrics
import results as res
import style

RATIO_LEVEL = 64                     # connections the "slowest, not sum" chart compares at
MODE_COLOURS = {"parallel": "#1f77b4", "sequential": "#ff7f0e"}
BOUND_EDGE = "#d62728"


def gateway_params(path):
    """{"fanout": K, "ms": M, "mode": ...} of a /gateway path, or None for any other path."""
    if not path:
        return None
    parts = urlsplit(path)
    if parts.path != "/gateway":
        return None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    try:
        return {"fanout": int(query.get("fanout", 1)), "ms": float(query.get("ms", 0)),
                "mode": query.get("mode", "parallel")}
    except ValueError:
        return None


def scenario_path(service, scenario):
    """A scenario's path: the suite's entry, else any measurement's."""
    for entry in (service.get("suite") or {}).get("scenarios") or []:
        if entry.get("name") == scenario:
            return entry.get("path")
    for m in service["measurements"]:
        if res.scenario_key(m) == scenario and m.get("path"):
            return m["path"]
    return None


def scenario_delay(service, scenario):
    """The downstream delay profile of a scenario ("fixed", "tail:P:EXTRA", ...)."""
    for entry in (service.get("suite") or {}).get("scenarios") or []:
        if entry.get("name") == scenario and entry.get("downstream"):
            return entry["downstream"].get("delay")
    for m in service["measurements"]:
        if res.scenario_key(m) == scenario and isinstance(m.get("downstream"), dict):
            return m["downstream"].get("delay")
    return (service.get("suite") or {}).get("downstream", {}).get("delay")


def gateway_scenarios(service, load="closed"):
    """{scenario: params} for the run's gateway scenarios of one load kind, in run order."""
    out = {}
    for scen in res.scenarios(service, load):
        params = gateway_params(scenario_path(service, scen))
        if params:
            out[scen] = params
    return out


def scenario_title(service, scenario):
    """"fanout4_parallel (gateway: 4 × 10 ms calls, parallel)" or the bare name."""
    params = gateway_params(scenario_path(service, scenario))
    if not params:
        return scenario
    delay = scenario_delay(service, scenario)
    extra = f", delay {delay}" if delay and delay != "fixed" else ""
    return (f"{scenario} (gateway: {params['fanout']} × {params['ms']:g} ms calls, "
            f"{params['mode']}{extra})")


def is_downstream_bound(record):
    return "downstream_bound" in (record.get("flags") or [])


def parse_tail(delay):
    """(P, EXTRA_MS) of "tail:P:EXTRA_MS", else None."""
    parts = (delay or "").split(":")
    if len(parts) != 3 or parts[0] != "tail":
        return None
    try:
        return float(parts[1]), float(parts[2])
    except ValueError:
        return None


def slow_fraction(p, fanout):
    """Fraction of requests with at least one slow call among `fanout` independent ones."""
    return 1.0 - (1.0 - p) ** fanout


def predicted_p99_ms(ms, p, extra_ms, fanout):
    """p99 of the slowest of `fanout` calls: ms + extra when more than 1 % of requests meet a
    slow call, else ms (the server's own overhead comes on top)."""
    return ms + extra_ms if slow_fraction(p, fanout) > 0.01 else ms


def _aggregate_at(service, scenario, level):
    """server -> the closed-loop aggregate of a scenario at `level` connections."""
    return {server: a for server, aggs in res.aggregates_of(service, scenario, "closed").items()
            for a in aggs if a["connections"] == level}


def ratio_level(service, scenarios):
    """RATIO_LEVEL when measured, else the closest level the gateway scenarios share."""
    levels = {a["connections"] for a in service["aggregates"]
              if res.scenario_key(a) in scenarios and not res.is_open(a)}
    if not levels:
        return None
    return RATIO_LEVEL if RATIO_LEVEL in levels else min(levels, key=lambda c: abs(c - 64))


def latency_ratios(service, level=None):
    """Rows {server, scenario, fanout, mode, ms, p50, p99, downstream_bound}: the median p50 and
    p99 at `level` connections divided by the downstream delay (fixed-delay scenarios only)."""
    scens = {s: p for s, p in gateway_scenarios(service).items()
             if p["ms"] > 0 and (scenario_delay(service, s) or "fixed") == "fixed"}
    level = level or ratio_level(service, scens)
    rows = []
    for scen, params in scens.items():
        for server, agg in sorted(_aggregate_at(service, scen, level).items()):
            p50, p99 = metrics.P50.stat(agg), metrics.P99.stat(agg)
            if p50 is None or p99 is None:
                continue
            ms = params["ms"]
            rows.append({"server": server, "scenario": scen, "fanout": params["fanout"],
                         "mode": params["mode"], "ms": ms, "level": level,
                         "p50": metrics.P50.shown(p50[0]) / ms,
                         "p99": metrics.P99.shown(p99[0]) / ms,
                         "downstream_bound": is_downstream_bound(agg)})
    return rows


def memory_per_call(service):
    """server -> {kib, scenario, fanout, low, high, calls, downstream_bound}: the growth of the
    median peak RSS from the fewest to the most connections over the extra in-flight calls
    ((high − low) × K) of the parallel scenario with the largest fan-out."""
    parallel = [(p["fanout"], s) for s, p in gateway_scenarios(service).items()
                if p["mode"] == "parallel" and p["ms"] > 0
                and (scenario_delay(service, s) or "fixed") == "fixed"]
    out = {}
    for fanout, scen in sorted(parallel, reverse=True):
        for server, aggs in res.aggregates_of(service, scen, "closed").items():
            points = [(a["connections"], metrics.RSS.stat(a), a) for a in aggs]
            points = [p for p in points if p[1] is not None]
            if server in out or len(points) < 2:
                continue
            (low, lo_t, lo_a), (high, hi_t, hi_a) = points[0], points[-1]
            calls = (high - low) * fanout
            out[server] = {"kib": (hi_t[0] - lo_t[0]) / calls, "scenario": scen,
                           "fanout": fanout, "low": low, "high": high, "calls": calls,
                           "downstream_bound": is_downstream_bound(lo_a)
                           or is_downstream_bound(hi_a)}
    return dict(sorted(out.items()))


def tail_rows(service):
    """Rows {server, scenario, level, measured_ms, predicted_ms, slow_fraction, ...} of the
    gateway scenarios whose delay is a tail profile."""
    rows = []
    for scen, params in gateway_scenarios(service).items():
        tail = parse_tail(scenario_delay(service, scen))
        if not tail:
            continue
        p, extra = tail
        predicted = predicted_p99_ms(params["ms"], p, extra, params["fanout"])
        for server, aggs in res.aggregates_of(service, scen, "closed").items():
            for agg in aggs:
                t = metrics.P99.stat(agg)
                if t is None:
                    continue
                rows.append({"server": server, "scenario": scen, "level": agg["connections"],
                             "measured_ms": metrics.P99.shown(t[0]),
                             "min_ms": metrics.P99.shown(t[1]),
                             "max_ms": metrics.P99.shown(t[2]),
                             "predicted_ms": predicted, "p": p, "extra_ms": extra,
                             "ms": params["ms"], "fanout": params["fanout"],
                             "slow_fraction": slow_fraction(p, params["fanout"]),
                             "downstream_bound": is_downstream_bound(agg)})
    return rows


def summary_rows(service):
    """Report table: per server, p50/ms parallel and sequential at fan-out 4 and 16, calls per
    request and downstream CPU (medians over the fixed-delay scenarios at the ratio level)."""
    ratios = latency_ratios(service)
    by = {(r["server"], r["fanout"], r["mode"]): r["p50"] for r in ratios}
    level = ratios[0]["level"] if ratios else None
    scens = {r["scenario"] for r in ratios}
    rows = []
    for server in sorted({r["server"] for r in ratios}):
        calls, cpu = [], []
        for agg in service["aggregates"]:
            if (agg["server"] == server and res.scenario_key(agg) in scens
                    and not res.is_open(agg) and agg["connections"] == level):
                c, u = metrics.DOWNSTREAM_CALLS.stat(agg), metrics.DOWNSTREAM_CPU.stat(agg)
                calls += [c[0] / max(1, gateway_params(
                    scenario_path(service, res.scenario_key(agg)))["fanout"])] if c else []
                cpu += [metrics.DOWNSTREAM_CPU.shown(u[2])] if u else []

        def fmt(v):
            return "–" if v is None else res.fmt_num(v)
        rows.append([server] + [fmt(by.get((server, k, m))) for k, m in
                                ((4, "parallel"), (16, "parallel"), (4, "sequential"),
                                 (16, "sequential"))]
                    + [fmt(min(calls)) + "–" + fmt(max(calls)) if calls else "–",
                       fmt(max(cpu)) if cpu else "–"])
    return rows


SUMMARY_HEADERS = ["server", "parallel p50/ms, K=4", "parallel p50/ms, K=16",
                   "sequential p50/ms, K=4", "sequential p50/ms, K=16",
                   "calls per request / K (min–max)", "downstream CPU % (max)"]


# ---- charts -------------------------------------------------------------------------------

def _bound_handle():
    return Patch(facecolor="white", edgecolor=BOUND_EDGE, linewidth=2,
                 label=metrics.FLAGS["downstream_bound"].note())


def plot_slowest_not_sum(service, folder):
    rows = latency_ratios(service)
    if not rows:
        return []
    fanouts = sorted({r["fanout"] for r in rows})
    servers = sorted({r["server"] for r in rows})
    level = rows[0]["level"]
    fig, axes = charts.plt.subplots(1, len(fanouts), squeeze=False,
                                    figsize=(max(9, 1.0 * len(servers) * len(fanouts) + 4), 5.8))
    axes = axes[0]
    fig.suptitle(f"Slowest, not sum: gateway latency / downstream delay, {level} connections",
                 fontsize=13, fontweight="bold", y=0.985)
    fig.text(0.5, 0.935, res.context_subtitle(service["context"]) +
             "\nparallel waits for the slowest call (≈ 1); sequential for their sum (≈ K)",
             ha="center", fontsize=8, color="#444", va="top")
    by = {(r["server"], r["fanout"], r["mode"]): r for r in rows}
    bars = [("parallel", "p50", ""), ("parallel", "p99", "//"),
            ("sequential", "p50", ""), ("sequential", "p99", "//")]
    width = 0.8 / len(bars)
    bound_seen = False
    for ax, k in zip(axes, fanouts):
        for i, server in enumerate(servers):
            for j, (mode, pct, hatch) in enumerate(bars):
                r = by.get((server, k, mode))
                if r is None:
                    continue
                x = i - 0.4 + width * (j + 0.5)
                bound = r["downstream_bound"]
                bound_seen |= bound
                ax.bar(x, r[pct], width, color=MODE_COLOURS[mode],
                       alpha=1.0 if pct == "p50" else 0.55, hatch=hatch,
                       edgecolor=BOUND_EDGE if bound else "#222",
                       linewidth=2 if bound else 0.6)
        ax.axhline(1, color="#2ca02c", linestyle="--", linewidth=1.2)
        if k > 1:
            ax.axhline(k, color="#9467bd", linestyle=":", linewidth=1.4)
        ax.set_yscale("log")
        charts.readable_log_axis(ax.yaxis)
        ax.set_title(f"fan-out K = {k}", fontsize=11)
        ax.set_xticks(range(len(servers)))
        ax.set_xticklabels(servers, rotation=25, ha="right", fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_ylabel("latency / downstream delay (log; lower is better)")
    handles = [Patch(facecolor=MODE_COLOURS[m], alpha=1.0 if p == "p50" else 0.55,
                     hatch=h, edgecolor="#222", label=f"{m} {p}") for m, p, h in bars]
    handles += [Line2D([], [], color="#2ca02c", linestyle="--", label="1 × delay (slowest)"),
                Line2D([], [], color="#9467bd", linestyle=":", label="K × delay (sum)")]
    if bound_seen:
        handles.append(_bound_handle())
    fig.legend(handles=handles, loc="lower center", ncol=4 if len(handles) < 8 else 3,
               fontsize=8)
    return charts.save(fig, folder, "gateway_slowest_not_sum", rect=(0, 0.09, 1, 0.90))


def plot_memory_per_call(service, folder):
    per = memory_per_call(service)
    if not per:
        return []
    info = res.server_info(service)
    first = next(iter(per.values()))
    fig, ax = charts.new_figure("Memory per in-flight downstream call", service["context"],
                                size=(max(9, 1.2 * len(per) + 3), 5.5))
    fig.text(0.5, 0.905, f"(peak RSS at {first['high']} − at {first['low']} connections) / "
             f"in-flight calls ≈ ({first['high']} − {first['low']}) × K, {first['scenario']} "
             f"(K = {first['fanout']})\nan approximation: it also counts the extra "
             f"connections' own memory", ha="center", va="top", fontsize=8, color="#444")
    bound_seen = False
    for i, (server, v) in enumerate(per.items()):
        st = style.model_style(info.get(server, {}).get("model"))
        bound_seen |= v["downstream_bound"]
        ax.bar(i, v["kib"], 0.6, color=st["color"], alpha=0.85,
               edgecolor=BOUND_EDGE if v["downstream_bound"] else "#222",
               linewidth=2 if v["downstream_bound"] else 0.6)
        ax.annotate(f"{v['kib']:.3g}", (i, max(v["kib"], 0)), ha="center", va="bottom",
                    fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax.axhline(0, color="#222", linewidth=0.8)
    ax.set_xticks(range(len(per)))
    ax.set_xticklabels(list(per), rotation=20, ha="right")
    ax.set_ylabel("KiB per in-flight call (lower is better)")
    ax.grid(True, axis="y", alpha=0.3)
    models = sorted({info.get(s, {}).get("model") or "?" for s in per})
    handles = [Patch(color=style.model_style(m)["color"], label=style.model_style(m)["label"])
               for m in models]
    if bound_seen:
        handles.append(_bound_handle())
    ax.set_ylim(0, max(v["kib"] for v in per.values()) * 1.25 or 1)
    ax.legend(handles=handles, fontsize=8, loc="upper left")
    return charts.save(fig, folder, "gateway_memory_per_call", rect=(0, 0, 1, 0.87))


def plot_tail(service, folder):
    rows = tail_rows(service)
    if not rows:
        return []
    levels = sorted({r["level"] for r in rows})
    servers = sorted({r["server"] for r in rows})
    info = res.server_info(service)
    r0 = rows[0]
    fig, ax = charts.new_figure(f"Tail at scale: measured vs predicted p99 — {r0['scenario']}",
                                service["context"], size=(max(9, 1.4 * len(servers) + 3), 5.5))
    fig.text(0.5, 0.905, f"{r0['fanout']} calls of {r0['ms']:g} ms, each {r0['p']:.3g} likely "
             f"to take {r0['extra_ms']:g} ms more\n1 − (1 − {r0['p']:.3g})^{r0['fanout']} = "
             f"{r0['slow_fraction']:.1%} of requests meet a slow call, so p99 ≈ "
             f"{r0['predicted_ms']:g} ms + the server's own overhead", ha="center", fontsize=8,
             color="#444", va="top")
    by = {(r["server"], r["level"]): r for r in rows}
    width = 0.8 / len(levels)
    hatches = ["", "//", "..", "xx"]
    bound_seen = False
    for i, server in enumerate(servers):
        st = style.model_style(info.get(server, {}).get("model"))
        for j, level in enumerate(levels):
            r = by.get((server, level))
            if r is None:
                continue
            x = i - 0.4 + width * (j + 0.5)
            bound_seen |= r["downstream_bound"]
            ax.bar(x, r["measured_ms"], width, color=st["color"], alpha=0.85,
                   hatch=hatches[j % len(hatches)],
                   edgecolor=BOUND_EDGE if r["downstream_bound"] else "#222",
                   linewidth=2 if r["downstream_bound"] else 0.6)
            ax.errorbar(x, r["measured_ms"], yerr=[[r["measured_ms"] - r["min_ms"]],
                                                   [r["max_ms"] - r["measured_ms"]]],
                        fmt="none", ecolor="#222", capsize=3)
    predicted = sorted({r["predicted_ms"] for r in rows})
    for p in predicted:
        ax.axhline(p, color="#d62728", linestyle="--", linewidth=1.4)
    ax.axhline(r0["ms"], color="#2ca02c", linestyle=":", linewidth=1.2)
    ax.set_xticks(range(len(servers)))
    ax.set_xticklabels(servers, rotation=20, ha="right")
    top = max([r["max_ms"] for r in rows] + predicted)
    ax.set_ylim(0, top * 1.4)      # room for the legend above the bars
    ax.set_ylabel(f"p99 latency, ms ({metrics.P99.better} is better)")
    ax.grid(True, axis="y", alpha=0.3)
    handles = [Patch(facecolor="white", edgecolor="#222", hatch=hatches[j % len(hatches)],
                     label=f"measured, {level} connections") for j, level in enumerate(levels)]
    handles += [Line2D([], [], color="#d62728", linestyle="--",
                       label=f"predicted p99 from the profile ({predicted[-1]:g} ms)"),
                Line2D([], [], color="#2ca02c", linestyle=":",
                       label=f"one call's delay ({r0['ms']:g} ms)")]
    if bound_seen:
        handles.append(_bound_handle())
    ax.legend(handles=handles, fontsize=8, loc="upper center", ncol=2, framealpha=0.9)
    return charts.save(fig, folder, "gateway_tail", rect=(0, 0, 1, 0.87))


CHART_NAMES = ("gateway_slowest_not_sum", "gateway_memory_per_call", "gateway_tail")


def plot_gateway(service, folder):
    """Every gateway chart the run allows: {name: [png, svg]} (empty without gateway data)."""
    if not gateway_scenarios(service):
        return {}
    drawn = {"gateway_slowest_not_sum": plot_slowest_not_sum(service, folder),
             "gateway_memory_per_call": plot_memory_per_call(service, folder),
             "gateway_tail": plot_tail(service, folder)}
    return {k: v for k, v in drawn.items() if v}
