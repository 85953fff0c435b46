#!/usr/bin/env python3
"""./lab explore [RUN_FOLDER...]: one self-contained explore.html to browse runs interactively.

The page holds the data of the given runs (default: the newest run under results/) and of the
published runs (results/published/*; service runs and micro-benchmark runs), so any run can be drawn alone or beside another with
their ratios. In the page: scenario, metric and servers (one, a whole model or a language);
hover a point for its median, min–max, repetitions and flags; the URL fragment keeps the view.

Everything the page shows is computed here from results.json through results.py and
metrics.py (the same medians, units and flags as the report), and the colours and markers are
exported from style.py: the page's JavaScript only draws. The chart library (uPlot, pinned in
package.json) is inlined, so the file works offline and from file://.
"""
import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import charts          # noqa: E402
import gateway_charts  # noqa: E402
import metrics         # noqa: E402
import open_charts     # noqa: E402
import results as res  # noqa: E402
import style           # noqa: E402

TEMPLATE = HERE / "explore_template.html"
# uPlot: ~50 KB minified, draws thousands of points on a canvas in milliseconds and has
# log scales; Vega-Lite or ECharts are 10-20 times larger for charts this simple.
UPLOT_DIR = HERE / "node_modules" / "uplot" / "dist"
UPLOT_JS = UPLOT_DIR / "uPlot.iife.min.js"
UPLOT_CSS = UPLOT_DIR / "uPlot.min.css"
OUTPUT_NAME = "explore.html"

# Metrics drawn against the level (connections or offered rate) of every scenario.
LEVEL_METRICS = [metrics.REQUESTS, metrics.P50, metrics.P99, metrics.P99_9, metrics.CPU,
                 metrics.RSS]
# Gateway ratios (gateway_charts.latency_ratios): a metric per percentile and mode, drawn
# against the fan-out K.
GATEWAY_RATIOS = [(pct, mode) for pct in ("p50", "p99") for mode in ("parallel", "sequential")]


def metric_defs():
    """What the page needs to label and scale each metric, from the registry."""
    defs = {}
    for m in LEVEL_METRICS + [metrics.CAPACITY, metrics.STARTUP, metrics.IDLE_RSS]:
        defs[m.name] = {"title": m.title, "label": m.label, "unit": m.unit, "scale": m.scale,
                        "better": m.better, "log": m.log_axis}
    for pct, mode in GATEWAY_RATIOS:
        defs[f"gateway_{pct}_{mode}"] = {
            "title": f"Gateway {pct} latency / downstream delay ({mode})",
            "label": f"{pct} / downstream delay, {mode}", "unit": "×", "scale": 1.0,
            "better": "lower", "log": False}
    return defs


def flag_defs():
    import flags_table
    return {name: {"title": f.title, "meaning": f.meaning, "meaning_open": f.meaning_open,
                   "note": f.chart_note, "note_open": f.chart_note_open,
                   "mark": flags_table.MARKS.get(name, "?")}
            for name, f in metrics.FLAGS.items()}


def dash_of(linestyle):
    """A matplotlib line style (style.py) as a canvas dash array, in line widths."""
    named = {"-": [], "--": [6, 4], "-.": [6, 3, 1, 3], ":": [1, 3]}
    if isinstance(linestyle, str):
        return named.get(linestyle, [])
    return list(linestyle[1]) if linestyle and linestyle[1] else []


def server_styles(entries):
    """server -> {color, marker, dash, model_label} over every run entry, from
    style.ServerStyles (micro-benchmark rows take the model their primitive underlies)."""
    out = {}
    # servers and micro-benchmark rows are styled apart: a primitive sharing a server's model
    # and language must not push the server off its line style
    for micro in (False, True):
        triples = {(name, info.get("model") or "", info.get("language") or "cpp")
                   for entry in entries for name, info in entry["servers"].items()
                   if bool(info.get("micro")) == micro}
        styles = style.ServerStyles(triples)
        out.update({name: {"color": styles[name]["color"], "marker": styles[name]["marker"],
                           "dash": dash_of(styles[name]["linestyle"]),
                           "model_label": style.model_style(model or None)["label"]}
                    for name, model, _ in triples})
    return out


def point(server, x, metric, triple, reps, flags):
    return {"s": server, "x": x, "m": metric.shown(triple[0]), "lo": metric.shown(triple[1]),
            "hi": metric.shown(triple[2]), "n": reps, "f": flags}


def level_views(service, scenario, load):
    views = {}
    for m in LEVEL_METRICS:
        pts = []
        for server, aggs in res.aggregates_of(service, scenario, load).items():
            for a in aggs:
                t = res.aggregate_stat(service, a, m)
                if t is not None:
                    pts.append(point(server, res.level(a), m, t, a.get("repetitions", 1),
                                     res.flags_of(a)))
        if pts:
            views[m.name] = pts
    return views


def scenario_entries(service):
    """The page's scenarios: closed and open ones drawn against their level, then pseudo
    scenarios whose x is the server (startup) or the fan-out (gateway ratios)."""
    out = []
    for scen in res.scenarios(service, "closed"):
        out.append({"key": scen, "load": "closed", "x_label": "connections",
                    "views": level_views(service, scen, "closed")})
    for scen in res.scenarios(service, "open"):
        views = level_views(service, scen, "open")
        caps = [c for c in service["capacity"] if c.get("scenario") == scen
                and c.get(metrics.CAPACITY.name) is not None]
        if caps:
            views[metrics.CAPACITY.name] = [
                dict(point(c["server"], None, metrics.CAPACITY, metrics.CAPACITY.stat(c), 1, []),
                     text=res.capacity_text(c)) for c in caps]
        out.append({"key": f"{scen} (open loop)", "load": "open",
                    "x_label": "offered requests/s", "views": views,
                    "slo_p99_ms": open_charts.slo_ms(service, scen)})
    ratios = gateway_charts.latency_ratios(service) if gateway_charts.gateway_scenarios(
        service) else []
    if ratios:
        views = {}
        for pct, mode in GATEWAY_RATIOS:
            pts = [{"s": r["server"], "x": r["fanout"], "m": r[pct], "lo": r[pct], "hi": r[pct],
                    "n": None, "f": ["downstream_bound"] if r["downstream_bound"] else []}
                   for r in ratios if r["mode"] == mode]
            if pts:
                views[f"gateway_{pct}_{mode}"] = pts
        out.append({"key": f"gateway ratios at {ratios[0]['level']} connections",
                    "load": "gateway", "x_label": "fan-out K (downstream calls per request)",
                    "views": views})
    if service["startup"]:
        views = {}
        for m in (metrics.STARTUP, metrics.IDLE_RSS):
            pts = [point(r["server"], None, m, m.stat(r), r.get("runs"), [])
                   for r in service["startup"] if m.stat(r)]
            if pts:
                views[m.name] = pts
        out.append({"key": "startup", "load": "servers", "x_label": "server", "views": views})
    return [s for s in out if s["views"]]


def micro_entry(micro):
    """(scenario, servers, metric defs) of a micro-benchmark run: one pseudo scenario whose
    metrics are the measurement families (charts.micro_family) and whose x is the primitive."""
    views, servers, defs = {}, {}, {}
    for r in micro["results"]:
        family = charts.micro_family(r["measurement"])
        key = f"micro_{family}"
        name = charts.micro_label(r, family).replace("\n", " ")
        stack = (r.get("params") or {}).get("stack_size")
        if stack and any(p["s"] == name for p in views.get(key, [])):
            name += f" (stack {stack // 1024} KiB)"
        views.setdefault(key, []).append(
            {"s": name, "x": None, "m": r["value"], "lo": r.get("min", r["value"]),
             "hi": r.get("max", r["value"]), "n": r.get("repetitions"), "f": []})
        servers[name] = {"model": style.PRIMITIVE_MODEL.get(r["primitive"]),
                         "language": r.get("language"), "reference": False, "status": "ok",
                         "micro": True}
        defs[key] = {"title": f"Micro-benchmark: {family.replace('_', ' ')}",
                     "label": family.replace("_", " "), "unit": r["unit"], "scale": 1.0,
                     "better": "lower", "log": "auto"}
    scenario = {"key": "micro-benchmarks", "load": "servers", "x_label": "primitive",
                "views": views}
    return scenario, servers, defs


def run_entry(run, published, defs):
    """The page's view of one run; adds the micro-benchmark metrics it holds to defs."""
    name = run.folder.name
    servers, scenarios = {}, []
    if run.service:
        servers = {n: {"model": i.get("model"), "language": i.get("language"),
                       "reference": bool(i.get("reference")), "status": i.get("status") or "ok"}
                   for n, i in res.server_info(run.service).items()}
        scenarios = scenario_entries(run.service)
    if run.micro and run.micro["results"]:
        scenario, micro_servers, micro_defs = micro_entry(run.micro)
        scenarios.append(scenario)
        servers.update(micro_servers)
        defs.update(micro_defs)
    return {"id": ("published/" if published else "") + name,
            "label": name + (" (published)" if published else ""),
            "subtitle": res.context_subtitle(run.context), "published": published,
            "servers": servers, "scenarios": scenarios}


def published_runs(root=None):
    folder = Path(root or res.REPO_ROOT / "results" / "published")
    return sorted((p for p in folder.iterdir()
                   if (p / res.SERVICE_FILE).exists() or (p / res.MICRO_FILE).exists()),
                  reverse=True) if folder.is_dir() else []


def page_data(runs):
    """runs: [(Run, published)] -> the JSON the page reads."""
    defs = metric_defs()
    entries = [run_entry(r, p, defs) for r, p in runs]
    return {"metrics": defs, "flags": flag_defs(), "styles": server_styles(entries),
            "runs": entries}


def render(data):
    if not UPLOT_JS.exists():
        raise res.ResultsError(f"{UPLOT_JS} is missing: ./lab explore installs it "
                               f"(or run: npm ci --prefix {HERE})")
    # "</" inside a <script> would end it: JSON may escape the slash.
    blob = json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    page = TEMPLATE.read_text(encoding="utf-8")
    for marker, text in (("/*UPLOT_CSS*/", UPLOT_CSS.read_text(encoding="utf-8")),
                         ("/*UPLOT_JS*/", UPLOT_JS.read_text(encoding="utf-8")),
                         ("/*LAB_DATA*/", blob)):
        head, sep, tail = page.partition(marker)
        if not sep:
            raise RuntimeError(f"{TEMPLATE}: marker {marker} missing")
        page = head + text + tail
    return page


def load_runs(folders, with_published):
    """[(Run, published)]: the given folders (service and/or micro runs), then the published."""
    runs, seen = [], set()
    for folder in folders:
        runs.append((res.Run(folder), False))
        seen.add(Path(folder).resolve())
    if with_published:
        runs += [(res.Run(p), True) for p in published_runs() if p.resolve() not in seen]
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="./lab explore", description=__doc__.split("\n\n")[0],
        epilog="The page needs no network: open it from the file. See scripts/explore/README.md.")
    parser.add_argument("runs", nargs="*", metavar="RUN_FOLDER",
                        help="run folders (default: the newest under results/)")
    parser.add_argument("-o", "--output", help=f"where to write the page (default: "
                                               f"{OUTPUT_NAME} in the first run folder)")
    parser.add_argument("--no-published", action="store_true",
                        help="leave out the published runs (results/published/*)")
    args = parser.parse_args(argv)
    try:
        folders = [Path(f) for f in args.runs] or [res.find_newest_run()]
        runs = load_runs(folders, not args.no_published)
        out = Path(args.output) if args.output else runs[0][0].folder / OUTPUT_NAME
        out.write_text(render(page_data(runs)), encoding="utf-8")
    except res.ResultsError as e:
        print(f"explore: {e}", file=sys.stderr)
        return 2
    print(f"explorer: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
