"""Charts of one run: each function draws one chart and saves it as PNG and SVG.

Every chart carries the run's context as a subtitle (machine, CPU layout, date, suite),
min-max bands or error bars over repetitions, hollow markers for client-bound points, and
the fixed colour+marker of each model (style.py). Labels, units, directions and log axes come
from the metric registry (metrics.py). This file draws closed-loop scenarios (x = connections),
memory, startup and micro-benchmarks; open-loop scenarios (x = offered rate) are drawn by
open_charts.py. Functions return the paths they wrote.
"""
import json
import math
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
# SVG text stays text: searchable, editable for slides, and much smaller than glyph paths.
matplotlib.rcParams["svg.fonttype"] = "none"
import matplotlib.pyplot as plt                     # noqa: E402
from matplotlib.lines import Line2D                 # noqa: E402
from matplotlib.patches import Patch                # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator  # noqa: E402

import metrics                                      # noqa: E402
import results as res                               # noqa: E402
import style                                        # noqa: E402

TIME_UNITS_NS = {"ns": 1.0, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9}
SIZE_UNITS_BYTES = {"bytes": 1.0, "b": 1.0, "kb": 1024.0, "kib": 1024.0, "mb": 1048576.0,
                    "mib": 1048576.0}


def slug(text):
    return "".join(c if c.isalnum() else "_" for c in text).strip("_").lower()


def new_figure(title, context, size=(9, 5.5)):
    fig, ax = plt.subplots(figsize=size)
    fig.suptitle(title, fontsize=13, fontweight="bold", y=0.985)
    fig.text(0.5, 0.935, res.context_subtitle(context), ha="center", fontsize=8, color="#444")
    return fig, ax


def save(fig, folder, name, rect=(0, 0, 1, 0.93)):
    """Lays out (leaving `rect` for the axes), writes name.png and name.svg, closes the figure."""
    folder = Path(folder)
    fig.tight_layout(rect=rect)
    paths = []
    for ext in ("png", "svg"):
        path = folder / f"{name}.{ext}"
        fig.savefig(path, dpi=110 if ext == "png" else None)
        paths.append(path)
    plt.close(fig)
    return paths


def readable_log_axis(axis, subs=(1.0, 2.0, 5.0)):
    """Log axis labelled 1, 2, 5, 10, 20 ... in plain numbers instead of 10^x."""
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.12g}"))
    axis.set_minor_locator(NullLocator())


def client_bound_handle():
    return Line2D([], [], marker="o", linestyle="none", markerfacecolor="white",
                  markeredgecolor="#333")


def legend_with_notes(ax, client_bound_seen, extra=None, loc="best", load="closed"):
    handles, labels = ax.get_legend_handles_labels()
    if client_bound_seen:
        handles.append(client_bound_handle())
        labels.append(metrics.FLAGS["client_bound"].note(load))
    for h, l in extra or []:
        handles.append(h)
        labels.append(l)
    if len(handles) > 6:
        # Many servers: beside the plot, where it cannot hide a line.
        fig = ax.get_figure()
        fig.set_size_inches(max(fig.get_size_inches()[0], 12), fig.get_size_inches()[1])
        ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0, framealpha=0.9)
    elif handles:
        ax.legend(handles, labels, fontsize=8, loc=loc, framealpha=0.9)


def server_styles(service):
    info = res.server_info(service)
    return style.ServerStyles(
        (name, i.get("model"), i.get("language")) for name, i in info.items())


def draw_client_bound(ax, st, x, y):
    """Redraws a point hollow: a floor for the server, not its limit."""
    ax.plot([x], [y], marker=st["marker"], markersize=9, linestyle="none",
            color=st["color"], markerfacecolor="white", markeredgewidth=2)


def value_axis(ax, metric, medians):
    """y axis of a metric: log where the registry says so (or, for "auto", where the displayed
    medians span more than metrics.LOG_AXIS_SPAN), labelled with unit and direction."""
    log_y = metric.use_log(medians)
    if log_y:
        ax.set_yscale("log")
        readable_log_axis(ax.yaxis)
    else:
        ax.set_ylim(bottom=0)
    ax.set_ylabel(metric.axis_label(log_y))


def connections_axes(ax, levels, medians, metric):
    """x: connections on a log2 axis, a tick per measured level; y: value_axis()."""
    ax.set_xscale("log", base=2)
    if levels:
        ax.set_xticks(sorted(levels))
        ax.set_xticklabels([str(x) for x in sorted(levels)])
        ax.xaxis.set_minor_locator(NullLocator())
    value_axis(ax, metric, medians)
    ax.set_xlabel("concurrent connections")
    ax.grid(True, which="major", alpha=0.3)


def plot_metric_vs_concurrency(service, folder, scenario, metric, name):
    """Closed loop: one line per server, the median of `metric` over repetitions vs
    connections, min-max as band; the error bar is the median's distribution-free confidence
    interval (uncertainty.median_ci: order statistics, its real coverage in the legend — with 3
    repetitions that is the min–max at 75 %), or the min–max where the file lacks the
    repetitions."""
    import gateway_charts   # names a gateway scenario's fan-out and mode in the title
    import uncertainty
    reps = uncertainty.repetition_values(service, metric)
    coverages = set()
    styles = server_styles(service)
    fig, ax = new_figure(f"{metric.title} — {gateway_charts.scenario_title(service, scenario)}",
                         service["context"])
    client_bound_seen = False
    downstream_bound_seen = False   # gateway scenarios: the downstream's CPUs were the limit
    levels = set()
    medians = []
    for server, aggs in res.aggregates_of(service, scenario, "closed").items():
        points = [(a["connections"], metric.stat(a), res.is_client_bound(a)) for a in aggs]
        points = [(c, t, cb) for c, t, cb in points if t is not None]
        if not points:
            continue
        st = styles[server]
        xs = [c for c, _, _ in points]
        med = [metric.shown(t[0]) for _, t, _ in points]
        lo = [metric.shown(t[1]) for _, t, _ in points]
        hi = [metric.shown(t[2]) for _, t, _ in points]
        levels.update(xs)
        medians += med
        ax.plot(xs, med, color=st["color"], linestyle=st["linestyle"], linewidth=1.6,
                marker=st["marker"], markersize=8, label=f"{server} ({st['label']})")
        ax.fill_between(xs, lo, hi, color=st["color"], alpha=0.15, linewidth=0)
        bar_lo, bar_hi = list(lo), list(hi)
        for i, (c, t, _) in enumerate(points):
            values = uncertainty.values_behind(
                t[0], reps.get((server, scenario, "closed", c)))
            ci = uncertainty.median_ci(values) if values else None
            if ci:
                bar_lo[i], bar_hi[i] = metric.shown(ci[0]), metric.shown(ci[1])
                coverages.add(round(ci[2], 3))
        ax.errorbar(xs, med, yerr=[[max(0, m - l) for m, l in zip(med, bar_lo)],
                                   [max(0, h - m) for m, h in zip(med, bar_hi)]],
                    fmt="none", ecolor=st["color"], elinewidth=1, capsize=3)
        for x, m, (_, _, cb) in zip(xs, med, points):
            if cb:
                client_bound_seen = True
                draw_client_bound(ax, st, x, m)
        for x, m, a in zip(xs, med, [a for a in aggs if metric.stat(a) is not None]):
            if "downstream_bound" in (a.get("flags") or []):
                downstream_bound_seen = True
                ax.plot([x], [m], marker="o", markersize=15, linestyle="none",
                        markerfacecolor="none", markeredgecolor="#d62728", markeredgewidth=2)
    connections_axes(ax, levels, medians, metric)
    extra = [(Line2D([], [], marker="o", markersize=10, linestyle="none",
                     markerfacecolor="none", markeredgecolor="#d62728", markeredgewidth=2),
              metrics.FLAGS["downstream_bound"].note().replace("red outline", "red ring"))] \
        if downstream_bound_seen else []
    if coverages:
        shown = "/".join(f"{c:.0%}" for c in sorted(coverages))
        extra.append((Line2D([], [], color="#444", marker="|", markersize=10, linestyle="none"),
                      f"error bar = {shown} CI of the median (order statistics); "
                      f"band = min–max"))
    legend_with_notes(ax, client_bound_seen, extra or None)
    return save(fig, folder, name)


def spectrum_level(service, scenario):
    """The level shown in the percentile spectrum: the one most servers were measured at
    (so they are comparable), the highest such."""
    counts = {}
    for m in service["measurements"]:
        if (res.scenario_key(m) == scenario and m.get("status", "ok") == "ok"
                and not res.is_open(m)):
            counts.setdefault(m["connections"], set()).add(m["server"])
    if not counts:
        return None
    return max(counts, key=lambda c: (len(counts[c]), c))


def plot_latency_spectrum(service, folder, scenario, level=None):
    level = level or spectrum_level(service, scenario)
    if level is None:
        return []
    styles = server_styles(service)
    fig, ax = new_figure(f"Latency by percentile — {scenario}, {level} connections",
                         service["context"])
    per_server = {}
    for m in service["measurements"]:
        if (res.scenario_key(m) == scenario and not res.is_open(m)
                and m["connections"] == level
                and m.get("status", "ok") == "ok" and m.get("latency_us")):
            per_server.setdefault(m["server"], []).append(m)
    client_bound_seen = False
    # wrk reports up to p99.9: show the percentiles some measurement of this level holds
    shown = [p for p in metrics.PERCENTILES
             if any(r["latency_us"].get(p[0]) is not None
                    for recs in per_server.values() for r in recs)]
    xs = [1.0 / (1.0 - q) for _, q, _ in shown]
    for server, recs in sorted(per_server.items()):
        st = styles[server]
        triples = [res.median_min_max([r["latency_us"].get(key) for r in recs])
                   for key, _, _ in shown]
        pts = [(x, t) for x, t in zip(xs, triples) if t is not None]
        if not pts:
            continue
        cb = any(res.is_client_bound(r) for r in recs)
        client_bound_seen |= cb
        px = [x for x, _ in pts]
        med = [t[0] / 1000 for _, t in pts]
        ax.plot(px, med, color=st["color"], linestyle=st["linestyle"], marker=st["marker"],
                markerfacecolor="white" if cb else st["color"], markersize=7,
                label=f"{server} ({st['label']})")
        ax.fill_between(px, [t[1] / 1000 for _, t in pts], [t[2] / 1000 for _, t in pts],
                        color=st["color"], alpha=0.15, linewidth=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels([label for _, _, label in shown])
    ax.minorticks_off()
    readable_log_axis(ax.yaxis)
    ax.set_xlabel("percentile (HdrHistogram-style axis: 1/(1−q))")
    ax.set_ylabel(f"latency, {metrics.P99.unit} ({metrics.P99.better} is better)")
    ax.grid(True, which="both", alpha=0.3)
    legend_with_notes(ax, client_bound_seen, loc="upper left")
    return save(fig, folder, f"latency_spectrum_{slug(scenario)}")


def plot_peak_rss(service, folder):
    """Grouped bars: per server, one bar per scenario (highest median peak RSS over levels)."""
    scens = res.scenarios(service)
    per = {}
    for agg in service["aggregates"]:
        t = metrics.RSS.stat(agg)
        if t is None:
            continue
        key = (agg["server"], res.scenario_key(agg))
        if key not in per or t[0] > per[key][0]:
            per[key] = t
    servers = sorted({s for s, _ in per})
    if not servers:
        return []
    info = res.server_info(service)
    fig, ax = new_figure("Peak memory (RSS) per server and scenario", service["context"],
                         size=(max(9, 1.3 * len(servers) + 3), 5.5))
    hatches = ["", "//", "..", "xx", "\\\\", "oo"]
    width = 0.8 / max(1, len(scens))
    for i, server in enumerate(servers):
        st = style.model_style(info[server].get("model"))
        for j, scen in enumerate(scens):
            t = per.get((server, scen))
            if t is None:
                continue
            med, lo, hi = (metrics.RSS.shown(v) for v in t)
            x = i - 0.4 + width * (j + 0.5)
            ax.bar(x, med, width, color=st["color"], edgecolor="#222",
                   hatch=hatches[j % len(hatches)], alpha=0.85)
            ax.errorbar(x, med, yerr=[[med - lo], [hi - med]], fmt="none", ecolor="#222",
                        capsize=3)
    ax.set_xticks(range(len(servers)))
    ax.set_xticklabels(servers, rotation=20, ha="right")
    ax.set_ylabel(metrics.RSS.axis_label())
    ax.grid(True, axis="y", alpha=0.3)
    handles = [Patch(facecolor="white", edgecolor="#222", hatch=hatches[j % len(hatches)],
                     label=scen) for j, scen in enumerate(scens)]
    models = sorted({info[s].get("model") or "?" for s in servers})
    handles += [Patch(color=style.model_style(m)["color"], label=style.model_style(m)["label"])
                for m in models]
    ax.legend(handles=handles, fontsize=8, ncol=2)
    return save(fig, folder, "memory_peak_rss")


def plot_rss_over_time(service, folder):
    """One panel per scenario: RSS samples of each server's run at the scenario's top level
    (first repetition)."""
    scens = res.scenarios(service)
    chosen = {}
    for m in service["measurements"]:
        samples = res.process_stats(m).get("rss_samples")
        if not samples:
            continue
        key = (res.scenario_key(m), m["server"])
        best = chosen.get(key)
        # the highest level; closed-loop before open-loop if a scenario key has both
        rank = (not res.is_open(m), res.level(m), -m.get("repetition", 0))
        if best is None or rank > best[0]:
            chosen[key] = (rank, m)
    scens = [s for s in scens if any(k[0] == s for k in chosen)]
    if not scens:
        return []
    styles = server_styles(service)
    fig, axes = plt.subplots(1, len(scens), figsize=(5 * len(scens) + 1, 5), sharey=True,
                             squeeze=False)
    fig.suptitle("Memory (RSS) over time during the run", fontsize=13, fontweight="bold",
                 y=0.985)
    fig.text(0.5, 0.935, res.context_subtitle(service["context"]), ha="center", fontsize=8,
             color="#444")
    for ax, scen in zip(axes[0], scens):
        levels = []
        for (s, server), (_, m) in sorted(chosen.items()):
            if s != scen:
                continue
            st = styles[server]
            samples = res.process_stats(m)["rss_samples"]
            if res.level_text(m) not in levels:
                levels.append(res.level_text(m))
            ax.plot([p[0] for p in samples], [p[1] / 1024 for p in samples], color=st["color"],
                    linestyle=st["linestyle"], marker=st["marker"], markersize=4,
                    markevery=max(1, len(samples) // 8), label=f"{server} ({st['label']})")
        where = levels[0] if len(levels) == 1 else "each server's highest level"
        ax.set_title(f"{scen}, {where} (repetition shown: first)", fontsize=9)
        ax.set_xlabel("seconds since measurement start")
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
    axes[0][0].set_ylabel(f"RSS, {metrics.RSS.unit}")
    handles = {}
    for ax in axes[0]:
        for h, l in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(l, h)
    fig.legend(list(handles.values()), list(handles), loc="lower center", fontsize=8,
               ncol=min(4, len(handles)))
    rows = math.ceil(len(handles) / 4)
    return save(fig, folder, "memory_rss_over_time", rect=(0, 0.04 + 0.035 * rows, 1, 0.93))


def plot_startup(service, folder):
    records = sorted(service["startup"], key=lambda r: r["server"])
    records = [r for r in records if metrics.STARTUP.stat(r)]
    if not records:
        return []
    info = res.server_info(service)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(max(10, 1.6 * len(records) + 4), 5.2))
    fig.suptitle("Startup: time to first response and idle memory", fontsize=13,
                 fontweight="bold", y=0.985)
    fig.text(0.5, 0.935, res.context_subtitle(service["context"]), ha="center", fontsize=8,
             color="#444")
    for ax, metric in ((ax1, metrics.STARTUP), (ax2, metrics.IDLE_RSS)):
        for i, rec in enumerate(records):
            st = style.model_style(info.get(rec["server"], {}).get("model") or rec.get("model"))
            t = metric.stat(rec)
            if t is None:
                continue
            med, lo, hi = (metric.shown(v) for v in t)
            ax.bar(i, med, 0.6, color=st["color"], alpha=0.8, edgecolor="#222")
            ax.errorbar(i, med, yerr=[[med - lo], [hi - med]], fmt="none", ecolor="#222",
                        capsize=4)
            samples = (rec.get(metric.name) or {}).get("samples") or []
            n = len(samples)
            ax.plot([i - 0.2 + 0.4 * k / max(1, n - 1) for k in range(n)],
                    [metric.shown(s) for s in samples], linestyle="none", marker=st["marker"],
                    markersize=4, color="#222", alpha=0.6)
        ax.set_xticks(range(len(records)))
        ax.set_xticklabels([r["server"] for r in records], rotation=20, ha="right")
        ax.set_ylabel(metric.axis_label(metric.log_axis is True))
        ax.grid(True, axis="y", alpha=0.3)
        if metric.log_axis is True:
            ax.set_yscale("log")
            readable_log_axis(ax.yaxis)
    runs = {r.get("runs") for r in records}
    ax1.set_title(f"bar = median, whisker = min–max, dots = each of {'/'.join(map(str, runs))} "
                  f"cold starts", fontsize=8)
    ax2.set_title("bar = median, whisker = min–max", fontsize=8)
    return save(fig, folder, "startup")


# ---- micro-benchmarks ------------------------------------------------------------------

def convert(value, unit, target):
    """Converts between time units or between size units; None when incompatible."""
    u, t = (unit or "").lower(), (target or "").lower()
    for table in (TIME_UNITS_NS, SIZE_UNITS_BYTES):
        table_l = {k.lower(): v for k, v in table.items()}
        if u in table_l and t in table_l:
            return value * table_l[u] / table_l[t]
    return None


def load_published(path=None):
    """Published references (micro/published.json): a list, or an object holding the list
    under "references"/"published"/"results". Missing file -> []."""
    explicit = path is not None
    path = Path(path or res.REPO_ROOT / "micro" / "published.json")
    if not path.exists():
        if explicit:
            raise res.ResultsError(f"{path}: no such file of published references")
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise res.ResultsError(f"{path}: not valid JSON ({e})")
    if isinstance(data, dict):
        for key in ("references", "published", "results"):
            if isinstance(data.get(key), list):
                return data[key]
        return []
    return data if isinstance(data, list) else []


def micro_family(measurement):
    """Panel of a micro measurement: the switch variants share one panel."""
    return "switch" if measurement.startswith("switch") else measurement


def micro_target(ref):
    """(primitive, measurement) of ours a published figure is compared with: its own, or
    the row named by its "compare_to" (e.g. process launch beside thread create+join)."""
    target = ref.get("compare_to") or ref
    return target.get("primitive"), target.get("measurement")


def micro_label(record, family):
    """x label: the primitive, plus the variant (pipe/futex, pinned) and a non-default size."""
    label = record["primitive"]
    meas = record["measurement"]
    if meas != family:
        label += "\n" + (meas[len("switch_"):] if meas.startswith("switch_") else meas
                         ).replace("_", ", ")
    leaves = (record.get("params") or {}).get("leaves")
    if leaves and leaves != 1000000:
        label += f"\n({leaves:,} leaves)"
    return label


def plot_micro(micro, folder, published):
    ours = micro["results"]
    families = []
    for r in ours:
        if micro_family(r["measurement"]) not in families:
            families.append(micro_family(r["measurement"]))
    if not families:
        return []
    cols = min(2, len(families))
    rows = math.ceil(len(families) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7 * cols, 4.8 * rows + 0.8), squeeze=False)
    fig.suptitle("Micro-benchmarks: ours beside published references (log scale)",
                 fontsize=13, fontweight="bold", y=0.99)
    fig.text(0.5, 0.962, res.context_subtitle(micro["context"]) +
             "\npublished values come from other hardware and years: compare orders of "
             "magnitude and ratios, not digits", ha="center", va="top", fontsize=8, color="#444")
    for ax, family in zip([a for row in axes for a in row], families):
        mine = [r for r in ours if micro_family(r["measurement"]) == family]
        unit = mine[0]["unit"]
        refs = [p for p in published
                if micro_family(micro_target(p)[1] or "") == family
                and convert(p["value"], p.get("unit"), unit) is not None]
        # categories: ours in order, then published figures that have no row of ours
        cats = []
        for r in mine:
            key = (r["primitive"], r["measurement"])
            if key not in [c[0] for c in cats]:
                cats.append((key, micro_label(r, family)))
        for p in refs:
            key = (p["primitive"], p["measurement"])
            if key not in [c[0] for c in cats]:
                cats.append((key, micro_label(p, family) + "\n(published)"))
        values = []
        for i, (key, _) in enumerate(cats):
            st = style.primitive_style(key[0])
            r = next((r for r in mine if (r["primitive"], r["measurement"]) == key), None)
            pubs = [convert(p["value"], p.get("unit"), unit) for p in refs
                    if (p["primitive"], p["measurement"]) == key]
            pubs = sorted(v for v in pubs if v)
            if r is not None and r.get("value"):
                v = convert(r["value"], r["unit"], unit) or r["value"]
                ax.bar(i - 0.2, v, 0.4, color=st["color"], edgecolor="#222")
                if r.get("min") is not None and r.get("max") is not None:
                    ax.errorbar(i - 0.2, v, yerr=[[max(0, v - r["min"])], [max(0, r["max"] - v)]],
                                fmt="none", ecolor="#222", capsize=3)
                values.append(v)
            if pubs:        # one hatched bar per published figure, beside ours
                x0, width = (i, 0.8) if r is None else (i + 0.2, 0.4)
                w = width / len(pubs)
                for k, v in enumerate(pubs):
                    ax.bar(x0 - width / 2 + w * (k + 0.5), v, w, color=style.PUBLISHED_COLOR,
                           hatch="//", edgecolor="#222")
                values.extend(pubs)
        ax.set_yscale("log")
        if values:
            lo = 10 ** math.floor(math.log10(min(values)))
            hi = 10 ** math.ceil(math.log10(max(values) * 1.5))
            ax.set_ylim(lo, hi)
        readable_log_axis(ax.yaxis, subs=(1.0,))
        ax.set_xticks(range(len(cats)))
        ax.set_xticklabels([c[1] for c in cats], rotation=30, ha="right", fontsize=7)
        ax.set_title(f"{family.replace('_', ' ')} — {unit} (log, lower is better)", fontsize=10)
        ax.grid(True, axis="y", which="major", alpha=0.3)
    for ax in [a for row in axes for a in row][len(families):]:
        ax.axis("off")
    handles = [Patch(facecolor="#999", edgecolor="#222", label="ours (colour = model)"),
               Patch(facecolor=style.PUBLISHED_COLOR, hatch="//", edgecolor="#222",
                     label="published reference")]
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=9)
    return save(fig, folder, "micro", rect=(0, 0.04, 1, 0.93))


# ---- all charts of a run ------------------------------------------------------------------

def closed_chart_names(scenario):
    """Chart name -> metric of a closed-loop scenario's charts vs connections."""
    return {f"{m.chart}_{slug(scenario)}": m for m in metrics.CLOSED_CHARTS}


def plot_run(run, published=None):
    """Draws every chart a run's data allows. Returns {chart name: [png, svg]}."""
    import open_charts      # draws with this module's helpers, so imported late
    import gateway_charts
    charts = {}
    if run.service:
        svc = run.service
        for scen in res.scenarios(svc, "closed"):
            for name, metric in closed_chart_names(scen).items():
                charts[name] = plot_metric_vs_concurrency(svc, run.folder, scen, metric, name)
            name = f"latency_spectrum_{slug(scen)}"
            charts[name] = plot_latency_spectrum(svc, run.folder, scen)
        for scen in res.scenarios(svc, "open"):
            charts.update(open_charts.plot_open_scenario(svc, run.folder, scen))
        charts.update(gateway_charts.plot_gateway(svc, run.folder))
        charts["memory_peak_rss"] = plot_peak_rss(svc, run.folder)
        charts["memory_rss_over_time"] = plot_rss_over_time(svc, run.folder)
        charts["startup"] = plot_startup(svc, run.folder)
    if run.micro:
        charts["micro"] = plot_micro(run.micro, run.folder,
                                     load_published() if published is None else published)
    return {k: v for k, v in charts.items() if v}
