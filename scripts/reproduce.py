#!/usr/bin/env python3
"""./lab reproduce [chart]: re-run the experiment behind a published chart and overlay it.

Without a chart name, lists the published charts (results/published/charts.json). With one,
runs exactly that experiment again (same suite and levels; the durations and repetitions
the published run recorded; same servers; same scenario) with the lab harness, then writes
into the new run folder reproduce_<chart>.png/.svg (new values solid, published values
dotted, same colours) and reproduce_<chart>.md: a table of ratios new/published per server
and level, flagging those beyond the tolerance. A level is a connection count (closed-loop
scenario), an offered rate (open loop: the x axis is then the offered rate, never
connections; a sweep given as fractions of each server's probe is matched by fraction), or
the scenario's SLO (metric "capacity": capacity at the SLO per server).

Beside the ratios it prints the machine fingerprint ratios of the two runs and names, for each
point beyond tolerance, what plausibly explains it — the new measurement's noise (steal, other
processes), GC pauses, page faults, a client-bound point, or the fingerprint figure that moved
with it — or "unexplained" (scripts/machine.py). A ranking reversal is reported only when a
Mann-Whitney U test over the repetitions says both orders are significant (p < 0.05 in each
run); reversals of the min–max bands that are not significant are listed as such.
"""
import argparse
import json
import os
import subprocess
import tempfile
import sys
from collections import namedtuple
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import charts                      # noqa: E402
import machine                     # noqa: E402
import metrics                     # noqa: E402
import open_charts                 # noqa: E402
import results as res              # noqa: E402
import style                       # noqa: E402
import uncertainty                 # noqa: E402

from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

# One point of a published or new chart. marks: e.g. ("overloaded",) or ("all_passed",);
# x: where it is drawn (connections, the offered rate, or the server's index for capacity).
Point = namedtuple("Point", "median min max client_bound marks x", defaults=((), None))

INDEX_VERSION = 1
# A chart's metric names an entry of the registry (metrics.REPRODUCIBLE: its aggregate field,
# label and tolerance); the tolerances and why they are what they are live in metrics.py.
REQUIRED = ("run", "metric", "scenario", "suite", "servers")


def published_dir():
    return res.REPO_ROOT / "results" / "published"


def load_index(folder):
    path = Path(folder) / "charts.json"
    if not path.exists():
        raise res.ResultsError(f"{path}: no published chart index (see "
                               f"results/published/README.md for its format)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise res.ResultsError(f"{path}: not valid JSON ({e})")
    if data.get("schema_version") != INDEX_VERSION:
        raise res.ResultsError(f"charts.json has schema_version {data.get('schema_version')}; "
                               f"this script reads version {INDEX_VERSION} ({path})")
    entries = data.get("charts") or {}
    for name, entry in entries.items():
        missing = [k for k in REQUIRED if k not in entry]
        if missing:
            raise res.ResultsError(f"{path}: chart {name!r} lacks {', '.join(missing)}")
        if entry["metric"] not in metrics.REPRODUCIBLE:
            raise res.ResultsError(f"{path}: chart {name!r} has metric {entry['metric']!r}; "
                                   f"valid: {', '.join(metrics.REPRODUCIBLE)}")
    return entries


def harness_command(entry, recorded_suite=None, suite_file=None):
    """The harness command line of the experiment. recorded_suite is the published run's
    results.json "suite" block: the suite as it was run, after any --duration or
    --repetitions override, which the suite name alone would not bring back. suite_file, when
    given, holds that block: the harness then runs the recorded levels even where the suite's
    file has changed since (the quick suite lost levels to stay under 5 minutes)."""
    harness = Path(os.environ.get("LAB_BIN") or res.REPO_ROOT / "build" / "release" / "bin")
    # Charts key a pipelined scenario as "name (pipeline N)"; the harness knows it as "name".
    suite_scenario = entry["scenario"].split(" (pipeline ")[0]
    # Cold starts are not part of any reproducible metric (metrics.REPRODUCIBLE): skip them.
    cmd = [str(harness / "lab_harness"), "run", "--suite", str(suite_file or entry["suite"]),
           "--servers", ",".join(entry["servers"]), "--scenarios", suite_scenario,
           "--startup-runs", "0"]
    recorded_suite = recorded_suite or {}
    if "duration_s" in recorded_suite:
        cmd += ["--duration", f"{float(recorded_suite['duration_s']):g}"]
    if "repetitions" in recorded_suite:
        cmd += ["--repetitions", str(int(recorded_suite["repetitions"]))]
    return cmd


def run_experiment(entry, pub_root):
    """Runs the harness and returns the run folder it created."""
    results_dir = res.REPO_ROOT / "results"
    before = {p.name for p in results_dir.iterdir()} if results_dir.is_dir() else set()
    published = res.Run(Path(pub_root) / entry["run"]).service
    recorded = published.get("suite") if published else None
    suite_file = None
    if recorded and recorded.get("scenarios"):
        suite_file = Path(tempfile.mkdtemp(prefix="lab-reproduce-")) / f"{recorded.get('name', 'suite')}.json"
        suite_file.write_text(json.dumps(recorded, indent=1))
    cmd = harness_command(entry, recorded, suite_file)
    if not Path(cmd[0]).exists():
        raise res.ResultsError(f"{cmd[0]} is not built; run ./lab build first")
    print("reproduce: running " + " ".join(cmd), flush=True)
    status = subprocess.call(cmd, cwd=res.REPO_ROOT)
    new = [p for p in results_dir.iterdir() if p.name not in before
           and (p / res.SERVICE_FILE).exists()] if results_dir.is_dir() else []
    if not new:
        raise res.ResultsError(f"the harness exited with status {status} and wrote no run "
                               f"folder under {results_dir}")
    if status != 0:
        print(f"reproduce: the harness exited with status {status} (a server failed?); "
              f"comparing what it measured", file=sys.stderr)
    return max(new, key=lambda p: p.name)


def level_kind(service, entry):
    """How the chart's points are keyed: "capacity" (per server, at the scenario's SLO),
    "fraction" (an open-loop sweep given as fractions of each server's closed-loop probe: the
    offered rates differ between runs, the fractions do not), "rate" (open loop, absolute
    rates) or "connections" (closed loop)."""
    if metrics.REPRODUCIBLE[entry["metric"]].source == "capacity":
        return "capacity"
    loads = {res.load_of(a) for a in service["aggregates"] if res.scenario_key(a) == entry["scenario"]}
    if "open" not in loads:
        return "connections"
    for scen in (service.get("suite") or {}).get("scenarios") or []:
        if scen.get("name") == entry["scenario"] and scen.get("rate_fractions"):
            return "fraction"
    return "rate"


def level_text(kind, level):
    return {"connections": f"{level} connections",
            "rate": f"{res.fmt_num(level)} req/s offered",
            "fraction": f"{level:.0%} of the probe" if isinstance(level, float) else str(level),
            "capacity": f"SLO p99 < {level:g} ms" if isinstance(level, (int, float))
            else "SLO ?"}[kind]


LEVEL_HEADER = {"connections": "connections", "rate": "offered req/s",
                "fraction": "fraction of probe", "capacity": "SLO p99 ms"}


def points(service, entry, metric, kind):
    """(server, level) -> Point for the chart's scenario, servers and level kind."""
    out = {}
    if kind == "capacity":
        for c in service.get("capacity") or []:
            if c.get("scenario") == entry["scenario"] and c["server"] in entry["servers"]:
                status = c.get("status")
                t = metric.stat(c)
                if status == "none_passed":     # no rate met the SLO: a capacity of zero
                    t = (0.0, 0.0, 0.0)
                if t is not None and status in ("ok", "all_passed", "none_passed"):
                    out[(c["server"], c.get("slo_p99_ms"))] = Point(
                        *t, False, (status,) if status != "ok" else ())
        return out
    load = "closed" if kind == "connections" else "open"
    probes = {c["server"]: c.get("probe_rps") for c in service.get("capacity") or []
              if c.get("scenario") == entry["scenario"]}
    for agg in service["aggregates"]:
        if (res.scenario_key(agg) == entry["scenario"] and agg["server"] in entry["servers"]
                and res.load_of(agg) == load):
            t = metric.stat(agg)
            if t is None:
                continue
            level = res.level(agg)
            if kind == "fraction":
                if not probes.get(agg["server"]):
                    continue
                level = round(agg["rate"] / probes[agg["server"]], 2)
            marks = ("overloaded",) if res.is_overloaded(agg) else ()
            out[(agg["server"], level)] = Point(*t, res.is_client_bound(agg), marks,
                                                res.level(agg))
    return out


def ratio_rows(published, new, tolerance):
    """One row per (server, level) in the published chart: ratio new/published and a flag."""
    rows = []
    for key in sorted(published, key=lambda k: (k[0], k[1])):
        p = published[key]
        n = new.get(key)
        marks = set(getattr(p, "marks", ()))
        row = {"server": key[0], "level": key[1], "published": p[0],
               "new": n[0] if n else None, "ratio": None, "flag": "", "client_bound": p[3]}
        if n is None:
            row["flag"] = "not measured in the new run"
        else:
            row["client_bound"] = p[3] or n[3]
            marks |= set(getattr(n, "marks", ()))
            if p[0]:
                row["ratio"] = n[0] / p[0]
                if abs(row["ratio"] - 1) > tolerance:
                    row["flag"] = f"beyond ±{tolerance * 100:.0f}%"
        row["marks"] = sorted(marks)
        rows.append(row)
    return rows


def point_measurements(service, entry, kind):
    """(server, level) -> the finished measurements behind each point (levels as points()
    keys them); empty for capacity."""
    if kind == "capacity":
        return {}
    load = "closed" if kind == "connections" else "open"
    probes = {c["server"]: c.get("probe_rps") for c in service.get("capacity") or []
              if c.get("scenario") == entry["scenario"]}
    out = {}
    for m in service.get("measurements") or []:
        if m.get("status", "ok") != "ok" or m.get("search_step") or \
                m.get("server") not in entry["servers"]:
            continue
        res.normalise_level(m)
        if res.scenario_key(m) != entry["scenario"] or res.load_of(m) != load:
            continue
        level = res.level(m)
        if kind == "fraction":
            if not probes.get(m["server"]) or not level:
                continue
            level = round(level / probes[m["server"]], 2)
        out.setdefault((m["server"], level), []).append(m)
    return out


def repetitions(points_, measured, metric):
    """(server, level) -> the metric's value per repetition, where they are the ones behind
    the point's median (uncertainty.values_behind)."""
    out = {}
    for key, p in points_.items():
        values = [metric.from_measurement(m) for m in measured.get(key, [])]
        values = uncertainty.values_behind(p[0], [v for v in values if v is not None])
        if values:
            out[key] = values
    return out


def significant_order(reps, a, b, level):
    """True/False: whether the U test separates a and b at this level; None without data."""
    va, vb = reps.get((a, level)), reps.get((b, level))
    if not va or not vb:
        return None
    return uncertainty.significant(uncertainty.mann_whitney(va, vb))


def split_by_significance(changed, reps_pub, reps_new):
    """({level: pairs} significant in both runs or untestable, {level: pairs} not significant)
    of ranking_changes' pairs. Untestable (repetitions not in the files) keeps the band rule."""
    kept, weak = {}, {}
    for level, pairs in changed.items():
        for a, b in pairs:
            tests = [significant_order(r, a, b, level) for r in (reps_pub, reps_new)]
            target = weak if False in tests else kept
            target.setdefault(level, []).append((a, b))
    return kept, weak


def explanations(rows, entry, metric, kind, pub_service, new_service):
    """{(server, level): cause} for every row beyond tolerance (machine.explain)."""
    pub_m = point_measurements(pub_service, entry, kind)
    new_m = point_measurements(new_service, entry, kind)
    ratios = machine.figure_ratios(pub_service.get("context"), new_service.get("context"))
    info = res.server_info(new_service)
    out = {}
    for r in rows:
        if r["ratio"] is None or not r["flag"] or not r["ratio"]:
            continue
        key = (r["server"], r["level"])
        slow = 1 / r["ratio"] if metric.better == "higher" else r["ratio"]
        language = (info.get(r["server"]) or {}).get("language", "cpp")
        out[key] = machine.explain(slow, language, r["client_bound"],
                                   machine.noise_of(pub_m.get(key, [])),
                                   machine.noise_of(new_m.get(key, [])), ratios)
    return out


def ranking_changes(published, new):
    """{level: [(a, b), ...]}: pairs of servers whose order is reversed between the runs, in
    a way both runs can tell apart: a was clearly below b in the published run (min-max bands
    apart) and is clearly above it in the new one. Near-ties that swap places inside each
    other's spread are noise, not a changed story: at /sleep with 16 connections every server
    answers ~1,500 req/s and a plain sort reorders them on every run."""
    def below(x, y):
        return x[2] < y[1]          # x's max under y's min
    changed = {}
    for level in sorted({c for _, c in published}, key=lambda c: (c is None, c)):
        common = sorted(s for s, c in published if c == level and (s, level) in new)
        pairs = [(a, b) for a in common for b in common
                 if below(published[(a, level)], published[(b, level)])
                 and below(new[(b, level)], new[(a, level)])]
        if pairs:
            changed[level] = pairs
    return changed


def plot_overlay(name, entry, pub_service, new_service, folder, kind):
    metric = metrics.REPRODUCIBLE[entry["metric"]]
    pub, new = (points(pub_service, entry, metric, kind), points(new_service, entry, metric, kind))
    info = {**res.server_info(pub_service), **res.server_info(new_service)}
    styles = style.ServerStyles((s, info.get(s, {}).get("model"), info.get(s, {}).get("language"))
                                for s in entry["servers"])
    fig, ax = charts.new_figure(f"Reproduction of '{name}': {metric.label} — "
                                f"{entry['scenario']}", new_service["context"])
    fig.text(0.5, 0.905, "published: " + res.context_subtitle(pub_service["context"]),
             ha="center", fontsize=8, color="#777")
    if kind == "capacity":
        return plot_capacity_overlay(name, entry, metric, pub, new, info, fig, ax, folder)
    xs_all = set()
    medians = []
    seen = set()
    for server in entry["servers"]:
        st = styles[server]
        for data, published in ((pub, True), (new, False)):
            pts = sorted((v.x if v.x is not None else lvl, v) for (s, lvl), v in data.items()
                         if s == server)
            if not pts:
                continue
            xs = [x for x, _ in pts]
            xs_all.update(xs)
            med = [metric.shown(v[0]) for _, v in pts]
            medians += med
            ax.plot(xs, med, color=st["color"], marker=st["marker"],
                    linestyle=":" if published else st["linestyle"],
                    alpha=0.55 if published else 1.0, markersize=6 if published else 8,
                    markerfacecolor=st["color"], label=None if published else server)
            ax.fill_between(xs, [metric.shown(v[1]) for _, v in pts],
                            [metric.shown(v[2]) for _, v in pts],
                            color=st["color"], alpha=0.08 if published else 0.18, linewidth=0)
            for x, m, (_, v) in zip(xs, med, pts):
                if v[3]:
                    seen.add("client_bound")
                    charts.draw_client_bound(ax, st, x, m)
                if "overloaded" in v.marks:
                    seen.add("overloaded")
                    ax.plot([x], [m], marker="x", markersize=11, markeredgewidth=2,
                            linestyle="none", color=open_charts.OVERLOADED_COLOR,
                            gid=f"{server}_overloaded")
    extra = [(Line2D([], [], color="#333", linestyle="-"), "this run (solid)"),
             (Line2D([], [], color="#333", linestyle=":", alpha=0.55), "published (dotted, faded)")]
    if kind == "connections":
        charts.connections_axes(ax, xs_all, medians, metric)
        charts.legend_with_notes(ax, "client_bound" in seen, extra=extra)
    else:
        open_charts.rate_axis(ax, xs_all)
        charts.value_axis(ax, metric, medians)
        ax.grid(True, which="major", alpha=0.3)
        notes = open_charts.notes_handles(seen - {"client_bound"})
        charts.legend_with_notes(ax, "client_bound" in seen, extra=extra + notes, load="open")
    return charts.save(fig, folder, f"reproduce_{name}", rect=(0, 0, 1, 0.9))


def plot_capacity_overlay(name, entry, metric, pub, new, info, fig, ax, folder):
    """Capacity at the SLO: per server, the published bar (hatched, faded) beside the new one,
    each labelled as the capacity table says it ("≥ 40,000", "none")."""
    servers = [s for s in entry["servers"] if any(k[0] == s for k in list(pub) + list(new))]
    top = max([metric.shown(v[0]) for v in list(pub.values()) + list(new.values())] + [1.0])
    for i, server in enumerate(servers):
        st = style.model_style(info.get(server, {}).get("model"))
        for data, published, dx in ((pub, True, -0.2), (new, False, 0.2)):
            v = next((p for (s, _), p in data.items() if s == server), None)
            if v is None or "none_passed" in v.marks:
                ax.text(i + dx, top * 0.02, "none" if v else "not run", ha="center",
                        va="bottom", fontsize=8)
                continue
            value = metric.shown(v[0])
            ax.bar(i + dx, value, 0.38, color=st["color"], edgecolor="#222",
                   alpha=0.45 if published else 0.9, hatch="//" if published else "")
            label = ("≥ " if "all_passed" in v.marks else "") + res.fmt_num(value)
            ax.text(i + dx, value + top * 0.01, label, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(servers)))
    ax.set_xticklabels(servers, rotation=20, ha="right")
    ax.set_ylim(0, top * 1.3)
    ax.set_ylabel(metric.axis_label())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: open_charts.rate_text(v)))
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(handles=[Patch(facecolor="#999", edgecolor="#222", alpha=0.45, hatch="//",
                             label="published (hatched, faded)"),
                       Patch(facecolor="#999", edgecolor="#222", label="this run"),
                       Patch(facecolor="white", label="≥: every rate tried met the SLO; "
                                                      "none: no rate did")],
              fontsize=8, loc="upper right")
    return charts.save(fig, folder, f"reproduce_{name}", rect=(0, 0, 1, 0.9))


def ratio_markdown(name, entry, rows, tolerance, changed, pub_folder, new_folder, kind,
                   weak=None, causes=None, fingerprint_lines=()):
    metric = metrics.REPRODUCIBLE[entry["metric"]]
    flagged = [r for r in rows if r["ratio"] is not None and r["flag"]]
    missing = [r for r in rows if r["new"] is None]
    lines = [f"# Reproduction of published chart '{name}'", "",
             f"- published run: {pub_folder}", f"- new run: {new_folder}",
             f"- metric: {entry['metric']} ({metric.name}, medians), scenario {entry['scenario']}, "
             f"suite {entry['suite']}",
             f"- tolerance: ±{tolerance * 100:.0f}% on new/published (machines differ; the "
             f"claim to reproduce is the shape and the order, not the digits)",
             "- ranking of servers: "
             + ("reversed at " + "; ".join(
                    f"{level_text(kind, level)} "
                    f"({', '.join(f'{a} now higher than {b}' for a, b in pairs)})"
                    for level, pairs in changed.items()) if changed
                else "no pair of servers changed places significantly"),
             f"- {len(flagged)} of {len(rows)} points beyond tolerance"
             + (f"; {len(missing)} not measured in the new run" if missing else "")]
    if weak:
        lines.append("- not significant (U test over repetitions, p ≥ "
                     f"{uncertainty.ALPHA:g} in a run), so not reported as reversals: " +
                     "; ".join(f"{level_text(kind, level)} "
                               f"({', '.join(f'{a} above {b}' for a, b in pairs)})"
                               for level, pairs in weak.items()))
    lines += [f"- {l}" if not l.startswith("  ") else f"  - {l.strip()}"
              for l in fingerprint_lines]
    if kind == "fraction":
        lines.append("- levels are fractions of each server's closed-loop probe in its own "
                     "run: the offered rates differ between the runs, the fractions match")
    if any("overloaded" in r["marks"] for r in rows):
        lines.append(f"- overloaded: {metrics.FLAGS['overloaded'].explain('open')}")
    causes = causes or {}
    lines += ["", f"| server | {LEVEL_HEADER[kind]} | published {metric.unit} | "
                  f"new {metric.unit} | new/published | flag | plausible cause |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        notes = [r["flag"]] + (["client-bound"] if r["client_bound"] else []) + \
            [{"all_passed": "≥ (every rate tried met the SLO)",
              "none_passed": "none (no rate tried met the SLO)"}.get(m, m) for m in r["marks"]]
        level = r["level"]
        shown_level = res.fmt_num(level) if kind == "rate" else \
            (f"{level:.0%}" if kind == "fraction" else str(level))
        lines.append(f"| {r['server']} | {shown_level} | "
                     f"{res.fmt_num(metric.shown(r['published']))} | "
                     f"{res.fmt_num(metric.shown(r['new']))} | "
                     f"{'–' if r['ratio'] is None else format(r['ratio'], '.2f')} | "
                     f"{'; '.join(n for n in notes if n)} | "
                     f"{causes.get((r['server'], r['level']), '')} |")
    return "\n".join(lines) + "\n"


def reproduce(name, entry, pub_root, new_folder, tolerance=None):
    """Overlay chart + ratio table for one published chart against a new run folder.
    Returns (rows, paths written)."""
    metric = metrics.REPRODUCIBLE[entry["metric"]]
    tolerance = metric.tolerance if tolerance is None else tolerance
    pub_run = res.Run(Path(pub_root) / entry["run"])
    new_run = res.Run(new_folder)
    if Path(pub_root).resolve() in new_run.folder.resolve().parents:
        # Published folders stay as the harness wrote them; the overlay goes into the new run.
        raise res.ResultsError(f"{new_run.folder} is a published run; reproduce writes its "
                               f"chart and table into the new run folder, so give a run "
                               f"under results/ (or copy this one there first)")
    if not pub_run.service or not new_run.service:
        raise res.ResultsError("reproduce compares service runs (results.json) only")
    kind = level_kind(pub_run.service, entry)
    pub = points(pub_run.service, entry, metric, kind)
    new = points(new_run.service, entry, metric, kind)
    if not pub:
        raise res.ResultsError(f"the published run {pub_run.folder} has no {metric.name} for "
                               f"scenario {entry['scenario']!r} and servers {entry['servers']}")
    rows = ratio_rows(pub, new, tolerance)
    reps_pub = repetitions(pub, point_measurements(pub_run.service, entry, kind), metric)
    reps_new = repetitions(new, point_measurements(new_run.service, entry, kind), metric)
    changed, weak = split_by_significance(ranking_changes(pub, new), reps_pub, reps_new)
    causes = explanations(rows, entry, metric, kind, pub_run.service, new_run.service)
    for r in rows:
        r["cause"] = causes.get((r["server"], r["level"]))
    paths = plot_overlay(name, entry, pub_run.service, new_run.service, new_run.folder, kind)
    md = ratio_markdown(name, entry, rows, tolerance, changed, pub_run.folder, new_run.folder,
                        kind, weak, causes,
                        machine.fingerprint_lines(pub_run.context, new_run.context))
    md_path = new_run.folder / f"reproduce_{name}.md"
    md_path.write_text(md, encoding="utf-8")
    return rows, paths + [md_path], md


def main(argv=None):
    parser = argparse.ArgumentParser(prog="./lab reproduce", description=__doc__.split("\n\n")[0],
                                     epilog="Index format: results/published/README.md.")
    parser.add_argument("chart", nargs="?", help="published chart name (omit to list them)")
    parser.add_argument("--new", metavar="RUN_FOLDER",
                        help="compare with this existing run instead of running the harness")
    parser.add_argument("--published-dir", metavar="DIR",
                        help="published results folder (default: results/published)")
    parser.add_argument("--tolerance", type=float, metavar="FRACTION",
                        help="flag ratios beyond 1±FRACTION (default: the metric's tolerance "
                             "in scripts/metrics.py: 0.25 for throughput, CPU/request, RSS "
                             "and capacity; 0.5 for latency percentiles)")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 when any point is beyond tolerance "
                             "or was not measured in the new run")
    args = parser.parse_args(argv)
    try:
        root = Path(args.published_dir) if args.published_dir else published_dir()
        entries = load_index(root)
        if not args.chart:
            if not entries:
                print(f"no published charts yet in {root}/charts.json")
            for name, e in sorted(entries.items()):
                print(f"{name:32} {e['metric']} · {e['scenario']} · suite {e['suite']} · "
                      f"{len(e['servers'])} servers · {e.get('title', '')}")
            return 0
        if args.chart not in entries:
            raise res.ResultsError(f"no published chart {args.chart!r}; valid: "
                                   f"{', '.join(sorted(entries)) or '(none yet)'}")
        entry = entries[args.chart]
        new_folder = Path(args.new) if args.new else run_experiment(entry, root)
        rows, paths, md = reproduce(args.chart, entry, root, new_folder, args.tolerance)
    except res.ResultsError as e:
        print(f"reproduce: {e}", file=sys.stderr)
        return 2
    print(md, end="")
    for p in paths:
        print(f"written: {p}")
    return 1 if args.strict and any(r["flag"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
