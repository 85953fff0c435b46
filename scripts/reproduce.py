#!/usr/bin/env python3
"""./lab reproduce [chart]: re-run the experiment behind a published chart and overlay it.

Without a chart name, lists the published charts (results/published/charts.json). With one,
runs exactly that experiment again (same suite and levels; the durations and repetitions
the published run recorded; same servers; same scenario) with the lab harness, then writes
into the new run folder reproduce_<chart>.png/.svg (new values solid, published values
dotted, same colours) and reproduce_<chart>.md: a table of ratios new/published per server
and level, flagging those beyond the tolerance.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import charts                      # noqa: E402
import results as res              # noqa: E402
import style                       # noqa: E402

from matplotlib.lines import Line2D  # noqa: E402

INDEX_VERSION = 1
# metric -> (aggregate field, default tolerance, axis label, scale, log y)
# Tolerances: a different CPU, kernel, turbo state and a busy neighbour move absolute
# throughput by 10-20% between machines of the same class, so +-25% on throughput (and on
# CPU/request and RSS) separates "your machine differs" from "the story changed".
# Tail latency is far noisier (one descheduling shows up at p99): +-50%.
METRICS = {
    "throughput": ("requests_per_s", 0.25, "requests per second", 1.0, False),
    "latency_p99": ("latency_p99_us", 0.50, "p99 latency, ms (log)", 1e-3, True),
    "cpu_per_request": ("cpu_us_per_request", 0.25, "server CPU µs per request", 1.0, False),
    "rss_peak": ("rss_peak_kb", 0.25, "peak RSS, MiB", 1 / 1024, False),
}
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
        if entry["metric"] not in METRICS:
            raise res.ResultsError(f"{path}: chart {name!r} has metric {entry['metric']!r}; "
                                   f"valid: {', '.join(METRICS)}")
    return entries


def harness_command(entry, recorded_suite=None):
    """The harness command line of the experiment. recorded_suite is the published run's
    results.json "suite" block: the suite as it was run, after any --duration or
    --repetitions override, which the suite name alone would not bring back."""
    harness = Path(os.environ.get("LAB_BIN") or res.REPO_ROOT / "build" / "release" / "bin")
    # Charts key a pipelined scenario as "name (pipeline N)"; the harness knows it as "name".
    suite_scenario = entry["scenario"].split(" (pipeline ")[0]
    # Cold starts are not part of any reproducible metric (METRICS): skip them.
    cmd = [str(harness / "lab_harness"), "run", "--suite", entry["suite"],
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
    cmd = harness_command(entry, published.get("suite") if published else None)
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


def points(service, entry, field):
    """(server, connections) -> (median, min, max, client_bound) for the chart's scenario."""
    out = {}
    for agg in service["aggregates"]:
        if res.scenario_key(agg) == entry["scenario"] and agg["server"] in entry["servers"]:
            t = res.stat(agg, field)
            if t is not None:
                out[(agg["server"], agg["connections"])] = t + (bool(agg.get("client_bound")),)
    return out


def ratio_rows(published, new, tolerance):
    """One row per (server, level) in the published chart: ratio new/published and a flag."""
    rows = []
    for key in sorted(published, key=lambda k: (k[0], k[1])):
        p = published[key]
        n = new.get(key)
        row = {"server": key[0], "connections": key[1], "published": p[0],
               "new": n[0] if n else None, "ratio": None, "flag": "", "client_bound": p[3]}
        if n is None:
            row["flag"] = "not measured in the new run"
        else:
            row["client_bound"] = p[3] or n[3]
            if p[0]:
                row["ratio"] = n[0] / p[0]
                if abs(row["ratio"] - 1) > tolerance:
                    row["flag"] = f"beyond ±{tolerance * 100:.0f}%"
        rows.append(row)
    return rows


def ranking_changes(published, new):
    """{level: [(a, b), ...]}: pairs of servers whose order is reversed between the runs, in
    a way both runs can tell apart: a was clearly below b in the published run (min-max bands
    apart) and is clearly above it in the new one. Near-ties that swap places inside each
    other's spread are noise, not a changed story: at /sleep with 16 connections every server
    answers ~1,500 req/s and a plain sort reorders them on every run."""
    def below(x, y):
        return x[2] < y[1]          # x's max under y's min
    changed = {}
    for level in sorted({c for _, c in published}):
        common = sorted(s for s, c in published if c == level and (s, level) in new)
        pairs = [(a, b) for a in common for b in common
                 if below(published[(a, level)], published[(b, level)])
                 and below(new[(b, level)], new[(a, level)])]
        if pairs:
            changed[level] = pairs
    return changed


def plot_overlay(name, entry, pub_service, new_service, folder):
    field, _, ylabel, scale, log_y = METRICS[entry["metric"]]
    pub, new = points(pub_service, entry, field), points(new_service, entry, field)
    info = {**res.server_info(pub_service), **res.server_info(new_service)}
    styles = style.ServerStyles((s, info.get(s, {}).get("model"), info.get(s, {}).get("language"))
                                for s in entry["servers"])
    fig, ax = charts.new_figure(f"Reproduction of '{name}': {entry['metric']} — "
                                f"{entry['scenario']}", new_service["context"])
    fig.text(0.5, 0.905, "published: " + res.context_subtitle(pub_service["context"]),
             ha="center", fontsize=8, color="#777")
    levels = set()
    medians = []
    client_bound = False
    for server in entry["servers"]:
        st = styles[server]
        for data, published in ((pub, True), (new, False)):
            pts = sorted((c, v) for (s, c), v in data.items() if s == server)
            if not pts:
                continue
            xs = [c for c, _ in pts]
            levels.update(xs)
            med = [v[0] * scale for _, v in pts]
            medians += med
            ax.plot(xs, med, color=st["color"], marker=st["marker"],
                    linestyle=":" if published else st["linestyle"],
                    alpha=0.55 if published else 1.0, markersize=6 if published else 8,
                    markerfacecolor=st["color"], label=None if published else server)
            ax.fill_between(xs, [v[1] * scale for _, v in pts], [v[2] * scale for _, v in pts],
                            color=st["color"], alpha=0.08 if published else 0.18, linewidth=0)
            for x, m, (_, v) in zip(xs, med, pts):
                if v[3]:
                    client_bound = True
                    charts.draw_client_bound(ax, st, x, m)
    # Log where the metric always is (p99), else the same span rule as the run's own charts.
    charts.connections_axes(ax, levels, medians, log_y or "auto", ylabel)
    charts.legend_with_notes(ax, client_bound, extra=[
        (Line2D([], [], color="#333", linestyle="-"), "this run (solid)"),
        (Line2D([], [], color="#333", linestyle=":", alpha=0.55), "published (dotted, faded)")])
    return charts.save(fig, folder, f"reproduce_{name}", rect=(0, 0, 1, 0.9))


def ratio_markdown(name, entry, rows, tolerance, changed, pub_folder, new_folder):
    field = METRICS[entry["metric"]][0]
    flagged = [r for r in rows if r["ratio"] is not None and r["flag"]]
    missing = [r for r in rows if r["new"] is None]
    lines = [f"# Reproduction of published chart '{name}'", "",
             f"- published run: {pub_folder}", f"- new run: {new_folder}",
             f"- metric: {entry['metric']} ({field}, medians), scenario {entry['scenario']}, "
             f"suite {entry['suite']}",
             f"- tolerance: ±{tolerance * 100:.0f}% on new/published (machines differ; the "
             f"claim to reproduce is the shape and the order, not the digits)",
             "- ranking of servers: "
             + ("reversed at " + "; ".join(
                    f"{level} connections ({', '.join(f'{a} now higher than {b}' for a, b in pairs)})"
                    for level, pairs in changed.items()) if changed
                else "no pair of servers changed places beyond their min–max spread"),
             f"- {len(flagged)} of {len(rows)} points beyond tolerance"
             + (f"; {len(missing)} not measured in the new run" if missing else ""), "",
             "| server | connections | published | new | new/published | flag |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        flag = r["flag"] + ("; client-bound" if r["client_bound"] else "")
        lines.append(f"| {r['server']} | {r['connections']} | {res.fmt_num(r['published'])} | "
                     f"{res.fmt_num(r['new'])} | "
                     f"{'–' if r['ratio'] is None else format(r['ratio'], '.2f')} | "
                     f"{flag.strip('; ')} |")
    return "\n".join(lines) + "\n"


def reproduce(name, entry, pub_root, new_folder, tolerance=None):
    """Overlay chart + ratio table for one published chart against a new run folder.
    Returns (rows, paths written)."""
    tolerance = METRICS[entry["metric"]][1] if tolerance is None else tolerance
    pub_run = res.Run(Path(pub_root) / entry["run"])
    new_run = res.Run(new_folder)
    if Path(pub_root).resolve() in new_run.folder.resolve().parents:
        # Published folders stay as the harness wrote them; the overlay goes into the new run.
        raise res.ResultsError(f"{new_run.folder} is a published run; reproduce writes its "
                               f"chart and table into the new run folder, so give a run "
                               f"under results/ (or copy this one there first)")
    if not pub_run.service or not new_run.service:
        raise res.ResultsError("reproduce compares service runs (results.json) only")
    field = METRICS[entry["metric"]][0]
    pub, new = points(pub_run.service, entry, field), points(new_run.service, entry, field)
    if not pub:
        raise res.ResultsError(f"the published run {pub_run.folder} has no {field} for "
                               f"scenario {entry['scenario']!r} and servers {entry['servers']}")
    rows = ratio_rows(pub, new, tolerance)
    changed = ranking_changes(pub, new)
    paths = plot_overlay(name, entry, pub_run.service, new_run.service, new_run.folder)
    md = ratio_markdown(name, entry, rows, tolerance, changed, pub_run.folder, new_run.folder)
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
                        help="flag ratios beyond 1±FRACTION (default: 0.25 for throughput, "
                             "CPU/request and RSS; 0.5 for p99)")
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
