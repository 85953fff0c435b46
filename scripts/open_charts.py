"""Charts of open-loop scenarios (load "open" in results schema 2): x is the offered rate.

Three charts per open scenario, each saved as PNG and SVG in the run folder:
  latency_vs_load_<scenario>   p50 / p99 / p99.9 vs offered req/s, one line per server, plus a
                               panel of achieved vs offered rate (where overload shows);
  spectrum_at_rate_<scenario>  latency vs percentile on a "nines" axis at one offered rate,
                               from lab_load's histograms when the run kept them;
  capacity_<scenario>          per server, the highest offered rate that met the p99 SLO.
An overloaded point (achieved < 95 % of offered) keeps its offered rate on the x axis, as the
load it was given, but is crossed out and reached by a dotted segment: its latency is that of
a growing backlog. Client-bound points are hollow, as on the closed-loop charts. Closed-loop
levels (connections) never appear on these axes.
"""
import math
import statistics

from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullLocator
import matplotlib.pyplot as plt

import charts
import histogram
import metrics
import results as res
import style

# x positions of the "nines" axis: -log10(1 - q), so 90 % -> 1, 99 % -> 2, 99.9 % -> 3.
NINES_TICKS = [(0.50, "50%"), (0.90, "90%"), (0.99, "99%"), (0.999, "99.9%"),
               (0.9999, "99.99%")]
MAX_NINES = 4.0          # curves from histograms stop at 99.99 % (and where data run out)
CURVE_POINTS = 120
MIN_HISTOGRAM_COUNT = 100
OVERLOADED_COLOR = "#111111"
SLO_COLOR = "#C00000"


def nines(q):
    return -math.log10(1.0 - q)


def rate_text(value):
    """Compact tick text for a rate: 400, 2.5k, 40k."""
    if value >= 1000:
        return f"{value / 1000:,.4g}k"
    return f"{value:,.4g}"


def open_points(service, scenario):
    """server -> points sorted by offered rate: {rate, agg, achieved, overloaded,
    client_bound} for every open-loop aggregate of the scenario."""
    out = {}
    for server, aggs in res.aggregates_of(service, scenario, "open").items():
        out[server] = [{"rate": a["rate"], "agg": a, "achieved": metrics.REQUESTS.stat(a),
                        "overloaded": res.is_overloaded(a),
                        "client_bound": res.is_client_bound(a)}
                       for a in aggs if a["rate"] is not None]
    return {s: p for s, p in out.items() if p}


def capacity_entries(service, scenario):
    return sorted((c for c in service.get("capacity") or [] if c.get("scenario") == scenario),
                  key=lambda c: c["server"])


def slo_ms(service, scenario):
    """The scenario's p99 SLO in ms: from its capacity entries, else from the suite block."""
    for c in capacity_entries(service, scenario):
        if c.get("slo_p99_ms") is not None:
            return c["slo_p99_ms"]
    for s in (service.get("suite") or {}).get("scenarios") or []:
        if s.get("name") == scenario and s.get("slo_p99_ms") is not None:
            return s["slo_p99_ms"]
    return None


def rate_axis(ax, rates, label=True):
    """x: offered req/s; log when the rates span more than metrics.LOG_AXIS_SPAN, a tick per
    rate when there are few distinct ones."""
    rates = sorted(set(rates))
    if metrics.wants_log_axis(rates):
        ax.set_xscale("log")
        charts.readable_log_axis(ax.xaxis)
    if 0 < len(rates) <= 8:
        ax.set_xticks(rates)
        ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: rate_text(v)))
    if label:
        ax.set_xlabel("offered load, requests/s")


def draw_series(ax, st, points, values, label, gid_prefix):
    """One server's line on one panel. values[i] = (median, min, max) already scaled, or None.
    Segments into or out of an overloaded point are dotted; overloaded points get a cross
    (artist gid '<gid_prefix>overloaded'), client-bound ones a hollow marker."""
    pts = [(p, v) for p, v in zip(points, values) if v is not None]
    if not pts:
        return set()
    xs = [p["rate"] for p, _ in pts]
    med = [v[0] for _, v in pts]
    ax.fill_between(xs, [v[1] for _, v in pts], [v[2] for _, v in pts], color=st["color"],
                    alpha=0.12, linewidth=0)
    for i in range(len(pts) - 1):
        bad = pts[i][0]["overloaded"] or pts[i + 1][0]["overloaded"]
        ax.plot(xs[i:i + 2], med[i:i + 2], color=st["color"],
                linestyle=":" if bad else st["linestyle"], linewidth=1.2 if bad else 1.6,
                alpha=0.7 if bad else 1.0)
    ax.plot(xs, med, linestyle="none", marker=st["marker"], markersize=7, color=st["color"])
    if label:       # legend entry with the server's line style, which the segments vary
        ax.plot([], [], linestyle=st["linestyle"], marker=st["marker"], markersize=7,
                color=st["color"], label=label)
    seen = set()
    for (p, _), x, y in zip(pts, xs, med):
        if p["client_bound"]:
            seen.add("client_bound")
            charts.draw_client_bound(ax, st, x, y)
        if p["overloaded"]:
            seen.add("overloaded")
            ax.plot([x], [y], marker="x", markersize=12, markeredgewidth=2.2, linestyle="none",
                    color=OVERLOADED_COLOR, gid=f"{gid_prefix}overloaded")
    return seen


def overloaded_handle():
    return Line2D([], [], marker="x", markersize=9, markeredgewidth=2, linestyle="none",
                  color=OVERLOADED_COLOR)


def notes_handles(seen):
    """Legend entries for the markings that occur on a chart, in the registry's words."""
    out = []
    if "client_bound" in seen:
        out.append((charts.client_bound_handle(),
                    metrics.FLAGS["client_bound"].note("open")))
    if "overloaded" in seen:
        out.append((overloaded_handle(), metrics.FLAGS["overloaded"].note("open")))
    return out


def figure(title, context, size, rows=1, cols=1, note=None):
    """A figure with the title, the run's context and an optional note line on top, placed
    in inches so they never collide whatever the height. Returns (fig, axes, top), top being
    the fraction of the height left for the axes."""
    fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False)
    height = size[1]
    fig.suptitle(title, fontsize=13, fontweight="bold", y=1 - 0.08 / height, va="top")
    fig.text(0.5, 1 - 0.42 / height, res.context_subtitle(context), ha="center", va="top",
             fontsize=8, color="#444")
    if note:
        fig.text(0.5, 1 - 0.62 / height, note, ha="center", va="top", fontsize=8,
                 color="#444")
    return fig, axes, 1 - (0.85 if note else 0.65) / height


def figure_legend(fig, handles, labels, cols=3):
    fig.legend(handles, labels, loc="lower center", fontsize=8, ncol=cols, framealpha=0.9)
    return -(-len(labels) // cols)          # rows


# ---- latency vs offered load ------------------------------------------------------------

def plot_latency_vs_load(service, folder, scenario):
    per_server = open_points(service, scenario)
    if not per_server:
        return []
    styles = charts.server_styles(service)
    import gateway_charts   # a gateway scenario's title names its fan-out and mode
    fig, axes, top_rect = figure(f"Latency vs offered load — "
                                 f"{gateway_charts.scenario_title(service, scenario)} "
                                 f"(open loop, constant rate)",
                                 service["context"], (13, 9.5), 2, 2)
    lat_axes = [axes[0][0], axes[0][1], axes[1][0]]
    achieved_ax = axes[1][1]
    seen = set()
    all_rates, lat_values = [], []
    for server, points in per_server.items():
        st = styles[server]
        label = f"{server} ({st['label']})"
        all_rates += [p["rate"] for p in points]
        for ax, metric in zip(lat_axes, metrics.OPEN_LATENCIES):
            values = [metric.stat(p["agg"]) for p in points]
            values = [tuple(metric.shown(v) for v in t) if t else None for t in values]
            lat_values += [v[0] for v in values if v]
            seen |= draw_series(ax, st, points, values, label if ax is lat_axes[0] else None,
                                f"{server}_{metric.chart}_")
        achieved = [p["achieved"] for p in points]
        seen |= draw_series(achieved_ax, st, points, achieved, None, f"{server}_achieved_")
    slo = slo_ms(service, scenario)
    for ax, metric in zip(lat_axes, metrics.OPEN_LATENCIES):
        rate_axis(ax, all_rates)
        ax.set_yscale("log")
        charts.readable_log_axis(ax.yaxis)
        ax.set_ylabel(metric.axis_label(True))
        ax.set_title(metric.title, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        if metric is metrics.P99 and slo is not None:
            ax.axhline(slo, color=SLO_COLOR, linestyle="--", linewidth=1.2,
                       label=f"SLO: p99 < {slo:g} ms")
    # the latency panels share one y range so p50 and p99.9 read against each other
    lows = [ax.get_ylim()[0] for ax in lat_axes]
    highs = [ax.get_ylim()[1] for ax in lat_axes]
    for ax in lat_axes:
        ax.set_ylim(min(lows), max(highs))
    # achieved vs offered: on the diagonal the server kept up; below 95 % it is overloaded
    diag = [min(all_rates) * 0.9, max(all_rates) * 1.05]
    achieved_ax.plot(diag, diag, color="#777", linestyle="--", linewidth=1)
    achieved_ax.plot(diag, [d * metrics.OVERLOADED_FRACTION for d in diag], color="#777",
                     linestyle=":", linewidth=1)
    achieved_ax.fill_between(diag, [0, 0], [d * metrics.OVERLOADED_FRACTION for d in diag],
                             color=SLO_COLOR, alpha=0.05, linewidth=0)
    rate_axis(achieved_ax, all_rates)
    if achieved_ax.get_xscale() == "log":
        achieved_ax.set_yscale("log")
        charts.readable_log_axis(achieved_ax.yaxis)
    else:
        achieved_ax.set_ylim(bottom=0)
    achieved_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: rate_text(v)))
    achieved_ax.set_ylabel(f"achieved {metrics.REQUESTS.unit} ({metrics.REQUESTS.better} is "
                           f"better)")
    achieved_ax.set_title("Achieved vs offered rate", fontsize=10)
    achieved_ax.grid(True, which="major", alpha=0.3)
    handles, labels = lat_axes[0].get_legend_handles_labels()
    for ax in lat_axes[1:]:
        for h, l in zip(*ax.get_legend_handles_labels()):
            handles.append(h)
            labels.append(l)
    handles.append(Line2D([], [], color="#777", linestyle="--"))
    labels.append("achieved = offered")
    handles.append(Line2D([], [], color="#777", linestyle=":"))
    labels.append(f"{metrics.OVERLOADED_FRACTION:.0%} of offered (below: overloaded)")
    for h, l in notes_handles(seen):
        handles.append(h)
        labels.append(l)
    rows = figure_legend(fig, handles, labels, cols=3)
    return charts.save(fig, folder, f"latency_vs_load_{charts.slug(scenario)}",
                       rect=(0, (0.15 + 0.2 * rows) / 9.5, 1, top_rect))


# ---- percentile spectrum at one rate ----------------------------------------------------

def spectrum_rates(service, scenario):
    """(description, {server: offered rate}) for the spectrum: the highest rate every server
    was measured at and none was overloaded at; else the median common rate. Sweeps given as
    fractions of each server's probe have no common rate: then the highest common fraction
    of the probe with no server overloaded; else each server at its highest rate not
    overloaded."""
    per_server = open_points(service, scenario)
    if not per_server:
        return None, {}
    by_rate = {s: {p["rate"]: p for p in pts} for s, pts in per_server.items()}
    common = sorted(set.intersection(*(set(r) for r in by_rate.values())))
    if common:
        clean = [r for r in common if not any(by_rate[s][r]["overloaded"] for s in by_rate)]
        if clean:
            rate, why = clean[-1], "the highest rate no server was overloaded at"
        else:
            rate, why = common[(len(common) - 1) // 2], "median rate; every server was " \
                                                        "overloaded somewhere"
        return f"at {res.fmt_num(rate)} req/s offered ({why})", {s: rate for s in by_rate}
    probes = {c["server"]: c.get("probe_rps") for c in capacity_entries(service, scenario)}
    if all(probes.get(s) for s in by_rate):
        fractions = {s: {round(r / probes[s], 2): p for r, p in rates.items()}
                     for s, rates in by_rate.items()}
        common_f = sorted(set.intersection(*(set(f) for f in fractions.values())))
        clean = [f for f in common_f
                 if not any(fractions[s][f]["overloaded"] for s in fractions)]
        if clean:
            f = clean[-1]
            return (f"each server at {f:.0%} of its closed-loop capacity probe (the highest "
                    f"such fraction no server was overloaded at)",
                    {s: fractions[s][f]["rate"] for s in fractions})
    chosen = {}
    for s, pts in per_server.items():
        clean = [p["rate"] for p in pts if not p["overloaded"]]
        chosen[s] = clean[-1] if clean else pts[0]["rate"]
    return "each server at its highest offered rate not overloaded", chosen


def spectrum_curves(service, folder, scenario, rates):
    """server -> {rate, source ("histogram" or "stored"), x (nines), median, min, max (µs),
    overloaded, client_bound, repetitions}. From lab_load's histograms when every repetition
    has one (a curve over all percentiles), else from the percentiles results.json stores."""
    out = {}
    for server, rate in rates.items():
        recs = [m for m in service["measurements"]
                if m["server"] == server and res.scenario_key(m) == scenario and res.is_open(m)
                and m.get("rate") == rate and m.get("status", "ok") == "ok"
                and m.get("latency_us")]
        if not recs:
            continue
        hists = [histogram.load_lab_load_histogram(folder / m["histogram_file"])
                 if m.get("histogram_file") else None for m in recs]
        point = next((p for p in open_points(service, scenario).get(server, [])
                      if p["rate"] == rate), None)
        entry = {"rate": rate, "repetitions": len(recs),
                 "overloaded": bool(point and point["overloaded"]),
                 "client_bound": bool(point and point["client_bound"])}
        # a curve needs enough values to say anything past the median
        if all(h is not None and h.count >= MIN_HISTOGRAM_COUNT for h in hists):
            top = min(MAX_NINES, min(math.log10(h.count) for h in hists))
            xs = [nines(0.5) + (top - nines(0.5)) * i / (CURVE_POINTS - 1)
                  for i in range(CURVE_POINTS)]
            per_x = [[h.percentile(100 * (1 - 10 ** -x)) / 1000 for h in hists] for x in xs]
            entry.update(source="histogram", x=xs)
        else:
            keys = [(k, q) for k, q, _ in metrics.PERCENTILES
                    if any(m["latency_us"].get(k) is not None for m in recs)]
            xs = [nines(q) for _, q in keys]
            per_x = [[m["latency_us"].get(k) for m in recs if m["latency_us"].get(k)
                      is not None] for k, _ in keys]
            entry.update(source="stored", x=xs)
        entry["median"] = [statistics.median(v) for v in per_x]
        entry["min"] = [min(v) for v in per_x]
        entry["max"] = [max(v) for v in per_x]
        out[server] = entry
    return out


def plot_spectrum_at_rate(service, folder, scenario):
    why, rates = spectrum_rates(service, scenario)
    curves = spectrum_curves(service, folder, scenario, rates)
    if not curves:
        return []
    styles = charts.server_styles(service)
    one_rate = len({c["rate"] for c in curves.values()}) == 1
    title = f"Latency by percentile — {scenario}, " + \
        (f"{res.fmt_num(next(iter(curves.values()))['rate'])} req/s offered" if one_rate
         else "each server at its own rate")
    fig, axes, top_rect = figure(title, service["context"], (10, 6.8),
                                 note=f"rate chosen: {why}")
    ax = axes[0][0]
    scale = metrics.P99.scale
    seen = set()
    sources = set()
    for server, c in sorted(curves.items()):
        st = styles[server]
        sources.add(c["source"])
        label = f"{server} ({st['label']})" + ("" if one_rate else
                                              f" @ {res.fmt_num(c['rate'])} req/s")
        med = [v * scale for v in c["median"]]
        ax.fill_between(c["x"], [v * scale for v in c["min"]], [v * scale for v in c["max"]],
                        color=st["color"], alpha=0.12, linewidth=0)
        hollow = c["client_bound"]
        if c["source"] == "histogram":
            # markers at the tick percentiles keep the model's marker recognisable
            marks = [i for i, x in enumerate(c["x"])
                     if any(abs(x - nines(q)) <= (c["x"][1] - c["x"][0]) / 2
                            for q, _ in NINES_TICKS)]
            ax.plot(c["x"], med, color=st["color"], linestyle=st["linestyle"], linewidth=1.6,
                    marker=st["marker"], markevery=marks, markersize=7,
                    markerfacecolor="white" if hollow else st["color"], label=label)
        else:
            ax.plot(c["x"], med, color=st["color"], linestyle=st["linestyle"], linewidth=1.6,
                    marker=st["marker"], markersize=7,
                    markerfacecolor="white" if hollow else st["color"], label=label)
        if hollow:
            seen.add("client_bound")
        if c["overloaded"]:
            seen.add("overloaded")
            ax.plot([c["x"][-1]], [med[-1]], marker="x", markersize=12, markeredgewidth=2.2,
                    color=OVERLOADED_COLOR, linestyle="none", gid=f"{server}_overloaded")
    slo = slo_ms(service, scenario)
    if slo is not None:
        ax.axhline(slo, color=SLO_COLOR, linestyle="--", linewidth=1.1,
                   label=f"SLO: p99 < {slo:g} ms")
        ax.plot([nines(0.99)], [slo], marker="o", color=SLO_COLOR, markersize=5)
    top = max(max(c["x"]) for c in curves.values())
    ticks = [(nines(q), t) for q, t in NINES_TICKS if nines(q) <= top + 1e-9]
    ax.set_xticks([x for x, _ in ticks])
    ax.set_xticklabels([t for _, t in ticks])
    ax.set_xlim(nines(0.5) - 0.1, top + 0.1)
    ax.set_yscale("log")
    charts.readable_log_axis(ax.yaxis)
    ax.set_xlabel("percentile (\"nines\" axis: each step is ten times rarer)")
    ax.set_ylabel(f"latency, {metrics.P99.unit} (log) ({metrics.P99.better} is better)")
    ax.grid(True, which="major", alpha=0.3)
    what = {"histogram": "lines: every percentile from lab_load's histograms",
            "stored": "markers: the percentiles results.json stores"}
    extra = [(Patch(color="#999", alpha=0.3), "band = min–max over repetitions; "
              + "; ".join(what[s] for s in sorted(sources)))]
    handles, labels = ax.get_legend_handles_labels()
    for h, l in extra + notes_handles(seen):
        handles.append(h)
        labels.append(l)
    # below the axes: the tail (upper right) and the SLO line must stay visible
    rows = figure_legend(fig, handles, labels, cols=2)
    return charts.save(fig, folder, f"spectrum_at_rate_{charts.slug(scenario)}",
                       rect=(0, (0.15 + 0.2 * rows) / 6.8, 1, top_rect))


# ---- capacity at the SLO ----------------------------------------------------------------

def plot_capacity(service, folder, scenario):
    entries = capacity_entries(service, scenario)
    if not entries:
        return []
    info = res.server_info(service)
    slos = sorted({c.get("slo_p99_ms") for c in entries if c.get("slo_p99_ms") is not None})
    slo_text = " / ".join(f"{s:g}" for s in slos) or "?"
    fig, axes, top_rect = figure(
        f"Capacity at p99 < {slo_text} ms — {scenario}", service["context"],
        (max(8, 1.5 * len(entries) + 4), 5.8),
        note="bar = the highest offered rate whose p99 met the SLO without overload "
             "(open loop, lab_load)")
    ax = axes[0][0]
    metric = metrics.CAPACITY
    tops = [v for c in entries for v in (c.get(metric.name), c.get("probe_rps"),
                                         c.get("first_failing_rps")) if v]
    top = max(tops) if tops else 1.0
    used = set()
    for i, c in enumerate(entries):
        st = style.model_style(info.get(c["server"], {}).get("model"))
        cap = c.get(metric.name)
        status = c.get("status")
        if cap:
            ax.bar(i, metric.shown(cap), 0.6, color=st["color"], edgecolor="#222", alpha=0.85,
                   hatch="//" if status == "all_passed" else "", gid=f"capacity_{c['server']}")
        text = res.capacity_text(c)
        if status == "none_passed" and c.get("first_failing_rps"):
            text += f"\n(fails from {res.fmt_num(c['first_failing_rps'])} req/s)"
        ax.text(i, (metric.shown(cap) if cap else top * 0.06) + top * 0.015, text,
                ha="center", va="bottom", fontsize=9, fontweight="bold")
        if status == "all_passed":
            used.add("all_passed")
        if c.get("probe_rps"):
            used.add("probe")
            ax.plot([i], [metric.shown(c["probe_rps"])], marker="D", markersize=7, color="#777",
                    markerfacecolor="white", linestyle="none")
        if c.get("first_failing_rps"):
            used.add("failing")
            ax.plot([i], [metric.shown(c["first_failing_rps"])], marker="_", markersize=28,
                    markeredgewidth=2.2, color=SLO_COLOR, linestyle="none")
    ax.set_xticks(range(len(entries)))
    ax.set_xticklabels([c["server"] for c in entries], rotation=20, ha="right")
    ax.set_xlim(-0.6, len(entries) - 0.4)
    ax.set_ylim(0, top * 1.3)          # room for the labels and the legend
    ax.set_ylabel(metric.axis_label())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: rate_text(v)))
    ax.grid(True, axis="y", alpha=0.3)
    handles = []
    if "all_passed" in used:
        handles.append((Patch(facecolor="#ddd", edgecolor="#222", hatch="//"),
                        "≥: even the highest rate tried met the SLO (capacity is at least this)"))
    if "failing" in used:
        handles.append((Line2D([], [], marker="_", markersize=14, markeredgewidth=2.2,
                               color=SLO_COLOR, linestyle="none"),
                        "first offered rate that failed the SLO"))
    if "probe" in used:
        handles.append((Line2D([], [], marker="D", color="#777", markerfacecolor="white",
                               linestyle="none"), "closed-loop probe (max throughput, wrk)"))
    if handles:
        ax.legend([h for h, _ in handles], [l for _, l in handles], fontsize=8,
                  loc="upper right", framealpha=0.9)
    return charts.save(fig, folder, f"capacity_{charts.slug(scenario)}", rect=(0, 0, 1, top_rect))


def chart_names(scenario):
    """The open-loop chart names of a scenario, in the order the report shows them."""
    s = charts.slug(scenario)
    return [f"latency_vs_load_{s}", f"spectrum_at_rate_{s}", f"capacity_{s}"]


def plot_open_scenario(service, folder, scenario):
    """Every open-loop chart of a scenario: {name: [png, svg]} (empty ones left out)."""
    names = chart_names(scenario)
    drawn = {names[0]: plot_latency_vs_load(service, folder, scenario),
             names[1]: plot_spectrum_at_rate(service, folder, scenario),
             names[2]: plot_capacity(service, folder, scenario)}
    return {k: v for k, v in drawn.items() if v}
