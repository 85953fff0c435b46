"""report.md and report.html for one run: findings first, then warnings, then the details.

The report opens with what the run says (headline.py: a sentence or two per scenario) and the
few charts that carry the story; then the warnings as one compact table, server × scenario
with a mark per flag kind (flags_table.py), each flag's meaning said once in the words of the
flag registry (metrics.FLAGS), the per-point lines folded away; then everything else: the
servers (a long reason shortened to its check names, the raw text folded away), a table per
scenario, every chart and the context. Closed-loop scenarios get a table by connections,
open-loop ones a table by offered rate and a capacity table (results schema 2).

The report is built once as a list of blocks (heading, paragraph, list, table, image) and
rendered twice, so the Markdown and the HTML always say the same thing. The HTML is
self-contained: charts are embedded as base64 PNG, no external resource is referenced.
"""
import base64
import html
import re
from pathlib import Path

import charts
import claims
import flags_table
import gateway_charts
import headline
import metrics
import open_charts
import results as res


# ---- content ------------------------------------------------------------------------------

def context_rows(context):
    layout = context.get("cpu_layout") or {}
    runtimes = context.get("runtimes") or {}
    commit = context.get("git_commit")
    rows = [
        ("date", context.get("date")),
        ("host", context.get("host")),
        ("OS / kernel", f"{context.get('os')} / {context.get('kernel')}"),
        ("CPU", f"{context.get('cpu_model')}, {context.get('cores')} cores, "
                f"governor {context.get('governor') or 'unknown'}"),
        ("CPU layout", f"server CPUs {layout.get('server_cpus')}, "
                       f"client CPUs {layout.get('client_cpus')}" if layout else None),
        ("load average at start", context.get("load_average_at_start")),
        ("compiler / build", f"{context.get('compiler')} / {context.get('build_type')}"),
        ("runtimes", ", ".join(f"{k} {v}" for k, v in runtimes.items()) or None),
        ("git", f"{commit[:12]}{' (dirty tree)' if context.get('git_dirty') else ''}"
                if commit else None),
        ("suite / seed", f"{context.get('suite')} / {context.get('seed')}"),
        ("command", context.get("command")),
    ]
    if context.get("note"):
        rows.append(("note", context["note"]))
    return [(k, "unknown" if v is None else str(v)) for k, v in rows]


def level_name(rec):
    return f"{res.scenario_key(rec)} @ {res.level_text(rec)}"


def service_warnings(service):
    """Every caveat a reader must see before trusting the numbers, one line each: the run's
    and the servers' (general_warnings) and one per flagged point (point_warnings)."""
    return general_warnings(service) + point_warnings(service)


def general_warnings(service):
    """Caveats that are not a flag on a point: an incomplete run, servers not measured (their
    reason shortened), failed measurements and capacity searches."""
    warnings = []
    if service.get("complete") is False:
        warnings.append("The run is incomplete (interrupted?): only finished measurements "
                        "are shown; `./lab run --resume <folder>` continues it.")
    for s in service["servers"]:
        if s.get("status") in ("skipped", "failed"):
            what = "was skipped" if s["status"] == "skipped" else "failed"
            short, _ = flags_table.split_reason(s.get("reason"))
            warnings.append(f"Server {s['name']} {what} and was not measured: "
                            f"{short or 'no reason recorded'}.")
    for m in service["measurements"]:
        if m.get("status", "ok") != "ok":
            warnings.append(f"Measurement failed: {m['server']}, {level_name(m)}, repetition "
                            f"{m.get('repetition')}: {m.get('reason') or 'no reason recorded'}.")
    for c in service.get("capacity") or []:
        if c.get("status") == "failed":
            warnings.append(f"Capacity search failed: {c['server']}, {c['scenario']}: "
                            f"{c.get('reason') or 'no reason recorded'}.")
    return warnings


def point_warnings(service):
    """One line per flagged aggregate and flag, with the number behind the flag."""
    warnings = []
    for agg in service["aggregates"]:
        flags = set(res.flags_of(agg))
        where = f"{agg['server']}, {level_name(agg)}"
        if "client_bound" in flags:
            lag = res.aggregate_stat(service, agg, metrics.SEND_LAG) if res.is_open(agg) else None
            warnings.append(f"Client-bound: {where}" + (
                f" — send lag p99 {res.fmt_num(metrics.SEND_LAG.shown(lag[0]))} "
                f"{metrics.SEND_LAG.unit}." if lag else "."))
        if "overloaded" in flags:
            achieved = metrics.REQUESTS.stat(agg)
            offered = agg.get("offered_rate_rps") or agg.get("rate")
            warnings.append(f"Overloaded: {where} — achieved {res.fmt_num(achieved[0])} req/s"
                            f" ({achieved[0] / offered:.0%} of offered)." if achieved and offered
                            else f"Overloaded: {where}.")
        if "noisy" in flags:
            sp = res.spread(metrics.REQUESTS.stat(agg))
            warnings.append(f"Noisy: {where} — requests/s spread (max−min)/median "
                            f"{sp * 100:.0f}% over {agg.get('repetitions')} repetitions."
                            if sp is not None else f"Noisy: {where}.")
        if "downstream_bound" in flags:
            cpu = metrics.DOWNSTREAM_CPU.stat(agg)
            warnings.append(f"Downstream-bound: {where}" + (
                f" — downstream CPU {metrics.DOWNSTREAM_CPU.shown(cpu[2]):.0f}%." if cpu
                else "."))
        if "errors" in flags:
            warnings.append(f"Errors: {where}.")
        if "server_died" in flags:
            warnings.append(f"Server died: {where}.")
        if "starved" in flags:
            ident = res.level_identity(agg)
            waits = [m["canary"]["first_response_ms"] or m["canary"]["max_wait_ms"]
                     for m in service["measurements"]
                     if m.get("status", "ok") == "ok" and "starved" in (m.get("flags") or [])
                     and m.get("canary") and res.level_identity(m) == ident]
            waited = f"{max(waits) / 1000:.1f} s" if waits else "too long"
            warnings.append(f"Starved: {where} — a connection opened during the run waited "
                            f"{waited} without an answer.")
    return warnings


def flag_explanations(service):
    """One line per flag that occurs in the run, in the registry's words; client-bound once
    per kind of load it occurs under (its rule differs between wrk and lab_load)."""
    return [f"{metrics.FLAGS[f].title} ({f}): {metrics.FLAGS[f].explain(load)}."
            for f, load in flags_table.flags_present(service)]


def flag_legend(service):
    """flag_explanations() with each flag's mark in the warnings table: 'C — Client-bound …'."""
    return [f"{flags_table.MARKS.get(f, '?')} — {text}" for (f, _), text in
            zip(flags_table.flags_present(service), flag_explanations(service))]


def cell(t, metric, repetitions):
    """A median (min–max) in the metric's display unit; the range only over > 1 repetition."""
    if t is None:
        return "–"
    text = res.fmt_num(metric.shown(t[0]))
    if repetitions > 1:
        text += f" ({res.fmt_num(metric.shown(t[1]))}–{res.fmt_num(metric.shown(t[2]))})"
    return text


CLOSED_COLUMNS = [metrics.REQUESTS, metrics.P99, metrics.CPU, metrics.RSS]


def scenario_rows(service, scenario):
    """Closed-loop table of a scenario: a row per server and connection level."""
    aggs = [a for a in service["aggregates"]
            if res.scenario_key(a) == scenario and not res.is_open(a)]
    aggs.sort(key=lambda a: (a["connections"], -(metrics.REQUESTS.stat(a) or (0, 0, 0))[0]))
    return [[a["server"], a.get("model") or "?", str(a["connections"])] +
            [cell(m.stat(a), m, a.get("repetitions", 1)) for m in CLOSED_COLUMNS] +
            [", ".join(res.flags_of(a))] for a in aggs]


SCENARIO_HEADERS = ["server", "model", "connections", "requests/s median (min–max)"] + \
    [m.column() for m in CLOSED_COLUMNS[1:]] + ["flags"]


def open_columns(service, aggs):
    """The metric columns of an open-loop table: p99.99 and send lag only where present."""
    cols = [metrics.REQUESTS, metrics.P50, metrics.P99, metrics.P99_9, metrics.P99_99,
            metrics.SEND_LAG, metrics.CPU, metrics.RSS]
    return [m for m in cols if any(res.aggregate_stat(service, a, m) for a in aggs)]


def open_table(service, scenario):
    """(headers, rows) of an open-loop scenario: a row per server and offered rate."""
    aggs = [a for a in service["aggregates"]
            if res.scenario_key(a) == scenario and res.is_open(a)]
    # Side by side at each rate when the servers were offered the same rates; per server
    # when each had its own (a sweep of fractions of its own probe).
    rate_sets = {frozenset(a["rate"] for a in aggs if a["server"] == s)
                 for s in {a["server"] for a in aggs}}
    aggs.sort(key=(lambda a: (a["rate"], a["server"])) if len(rate_sets) == 1
              else (lambda a: (a["server"], a["rate"])))
    cols = open_columns(service, aggs)
    headers = ["server", "model", "offered req/s"] + \
        ["achieved req/s median (min–max)" if m is metrics.REQUESTS else m.column()
         for m in cols] + ["flags"]
    rows = [[a["server"], a.get("model") or "?", res.fmt_num(a["rate"])] +
            [cell(res.aggregate_stat(service, a, m), m, a.get("repetitions", 1)) for m in cols] +
            [", ".join(res.flags_of(a))] for a in aggs]
    return headers, rows


CAPACITY_HEADERS = ["server", "SLO p99 ms", "capacity req/s", "first failing req/s",
                    "closed-loop probe req/s", "rates tried", "status"]


def capacity_rows(service, scenario):
    rows = []
    for c in open_charts.capacity_entries(service, scenario):
        status = c.get("status") or "?"
        if c.get("reason"):
            status += f": {c['reason']}"
        slo = c.get("slo_p99_ms")
        rows.append([c["server"], "–" if slo is None else f"{slo:g}", res.capacity_text(c),
                     res.fmt_num(c.get("first_failing_rps")), res.fmt_num(c.get("probe_rps")),
                     str(len(c.get("points") or [])), status])
    return rows


def startup_rows(service):
    rows = []
    for r in sorted(service["startup"], key=lambda r: r["server"]):
        t = metrics.STARTUP.stat(r)
        m = metrics.IDLE_RSS.stat(r)
        rows.append([r["server"], r.get("model") or "?", str(r.get("runs")),
                     cell(t, metrics.STARTUP, 2),
                     res.fmt_num(metrics.IDLE_RSS.shown(m[0])) if m else "–"])
    return rows


def micro_rows(micro, published):
    """One row per result and published figure compared with it (as micro/run prints)."""
    rows = []
    for r in micro["results"]:
        key = (r["primitive"], r["measurement"])
        refs = [(charts.convert(p["value"], p.get("unit"), r["unit"]), p) for p in published
                if charts.micro_target(p) == key]
        refs = [(v, p) for v, p in refs if v] or [(None, None)]
        for v, p in refs:
            if p is None:
                pub_text, ratio = "–", "–"
            else:
                what = "" if (p["primitive"], p["measurement"]) == key else \
                    f"{p['primitive']} {p['measurement']}, "
                pub_text = (f"{res.fmt_num(v)} ({what}{p.get('source_short') or p.get('source')}"
                            f", {p.get('year')})")
                ratio = f"{r['value'] / v:.2f}×"
            rows.append([r["primitive"], r["measurement"],
                         f"{res.fmt_num(r['value'])} {r['unit']}", pub_text, ratio,
                         r.get("notes") or ""])
    return rows


def open_scenario_blocks(service, scenario, drawn):
    blocks = [("h2", f"Scenario: {scenario} (open loop)")]
    slo = open_charts.slo_ms(service, scenario)
    blocks.append(("p", "Requests sent at a constant offered rate whatever the server's "
                        "answers (lab_load), so latency includes queueing; levels are offered "
                        "rates, not connections." +
                   (f" SLO: p99 < {slo:g} ms." if slo is not None else "")))
    headers, rows = open_table(service, scenario)
    blocks.append(("table", headers, rows))
    latency_chart, spectrum_chart, capacity_chart = open_charts.chart_names(scenario)
    for name in (latency_chart, spectrum_chart):
        if name in drawn:
            blocks.append(("image", name, drawn[name][0]))
    cap = capacity_rows(service, scenario)
    if cap:
        blocks.append(("h3", f"Capacity at the SLO — {scenario}"))
        blocks.append(("p", "Capacity = the highest offered rate whose p99 met the SLO without "
                            "overload; '≥' when even the highest rate tried met it, 'none' when "
                            "no rate did."))
        blocks.append(("table", CAPACITY_HEADERS, cap))
        if capacity_chart in drawn:
            blocks.append(("image", capacity_chart, drawn[capacity_chart][0]))
    return blocks


def gateway_blocks(service, drawn):
    """The API-gateway section: a summary table and the gateway charts; nothing for a run
    without gateway scenarios."""
    if not gateway_charts.gateway_scenarios(service):
        return []
    blocks = [("h2", "API gateway (fan-out to the downstream)")]
    rows = gateway_charts.summary_rows(service)
    if rows:
        level = gateway_charts.latency_ratios(service)[0]["level"]
        blocks.append(("p", f"Median latency divided by the downstream delay at {level} "
                            f"connections: parallel calls should cost the slowest call (≈ 1), "
                            f"sequential ones their sum (≈ K). Calls per request / K should be "
                            f"1; downstream CPU near {metrics.DOWNSTREAM_CPU_LIMIT:.0%} means "
                            f"the downstream, not the server, set the pace."))
        blocks.append(("table", gateway_charts.SUMMARY_HEADERS, rows))
    for name in gateway_charts.CHART_NAMES:
        if name in drawn:
            blocks.append(("image", name, drawn[name][0]))
    return blocks


# Charts that carry a run's story, at most this many at the top of the report.
STORY_CHARTS = 5


def story_charts(service, drawn):
    """The few charts worth seeing first: each scenario's main chart (throughput for closed
    loop — CPU per request where the load generator was the limit at the top, as the
    headline ranks it —, capacity or latency vs load for open loop), the gateway's
    slowest-not-sum chart and peak memory, in that order, at most STORY_CHARTS."""
    names = []
    for scen in res.scenarios(service, "closed"):
        main = "cpu_per_request" if headline.client_bound_at_top(service, scen) else "throughput"
        names.append(f"{main}_{charts.slug(scen)}")
    for scen in res.scenarios(service, "open"):
        latency_chart, _, capacity_chart = open_charts.chart_names(scen)
        names.append(capacity_chart if capacity_chart in drawn else latency_chart)
    names += ["gateway_slowest_not_sum", "memory_peak_rss", "startup"]
    drawn_names = [n for n in names if n in drawn]
    # keep the overview charts when there are many scenarios: scenarios first, then the rest
    overview = [n for n in drawn_names if n in ("gateway_slowest_not_sum", "memory_peak_rss")]
    per_scenario = [n for n in drawn_names if n not in overview and n != "startup"]
    room = max(STORY_CHARTS - len(overview), 1)
    chosen = per_scenario[:room] + overview
    if len(chosen) < STORY_CHARTS and "startup" in drawn_names:
        chosen.append("startup")
    return chosen[:STORY_CHARTS]


def findings_blocks(run, drawn):
    """What this run says: the headline sentences, then the story charts."""
    blocks = [("h2", "What this run says")]
    sentences = headline.scenario_sentences(run.service)
    blocks.append(("list", [f"**{scen}**: {' '.join(ss)}" for scen, ss in sentences])
                  if sentences else ("p", "No scenario was measured."))
    for name in story_charts(run.service, drawn):
        blocks.append(("image", name, drawn[name][0]))
    return blocks


def warnings_blocks(service):
    """The warnings: general ones as a list, the flags as one server × scenario table with
    each mark explained once, every flagged point's own line folded away."""
    blocks = [("h2", "Warnings")]
    general = general_warnings(service)
    table = flags_table.flag_table(service)
    if not general and not table:
        return blocks + [("p", "None.")]
    if general:
        blocks.append(("list", general))
    if table:
        blocks.append(("p", "Flagged points: a mark per flag kind, with how many of the "
                            "levels measured carried it (C 3/4: client-bound at 3 of 4)."))
        blocks.append(("table", table[0], table[1]))
        blocks.append(("h3", "What the flags mean"))
        blocks.append(("list", flag_legend(service)))
        blocks.append(("details", "Every flagged point, with the number behind its flag",
                       point_warnings(service)))
    return blocks


def servers_blocks(service):
    info = res.server_info(service)
    rows, long_reasons = [], []
    for n, i in sorted(info.items()):
        short, raw = flags_table.split_reason(i.get("reason"))
        if raw:
            long_reasons.append(f"{n}: {raw}")
        rows.append([n, i.get("model") or "?", i.get("language") or "?",
                     "yes" if i.get("reference") else "no", i.get("status") or "ok", short])
    blocks = [("h2", "Servers"),
              ("table", ["server", "model", "language", "reference", "status", "reason"], rows)]
    if long_reasons:
        blocks.append(("details", "Reasons in full (the raw check details)", long_reasons))
    return blocks


def build_blocks(run, drawn, published):
    blocks = [("h1", f"Concurrency Lab report — {run.folder.name}")]
    blocks.append(("p", "Generated by `./lab plot` from the results in this folder. "
                        "Figures are medians over repetitions with min–max in brackets. "
                        "`./lab explore` opens the same data in an interactive page."))
    shown = set()
    if run.service:
        blocks += findings_blocks(run, drawn)
        shown = {b[1] for b in blocks if b[0] == "image"}
    blocks += claims.report_blocks(run)     # the claims this run speaks to (./lab claims)
    if run.service:
        blocks += warnings_blocks(run.service)
    blocks.append(("h2", "Context"))
    blocks.append(("table", ["", ""], [list(r) for r in context_rows(run.context)]))
    if run.service:
        svc = run.service
        blocks += servers_blocks(svc)
        for scen in res.scenarios(svc, "closed"):
            blocks.append(("h2", f"Scenario: {scen}"))
            blocks.append(("table", SCENARIO_HEADERS, scenario_rows(svc, scen)))
            for prefix in ("throughput", "latency_p99", "latency_spectrum", "cpu_per_request"):
                name = f"{prefix}_{charts.slug(scen)}"
                if name in drawn:
                    blocks.append(("image", name, drawn[name][0]))
        for scen in res.scenarios(svc, "open"):
            blocks += open_scenario_blocks(svc, scen, drawn)
        blocks += gateway_blocks(svc, drawn)
        blocks.append(("h2", "Memory"))
        for name in ("memory_peak_rss", "memory_rss_over_time"):
            if name in drawn:
                blocks.append(("image", name, drawn[name][0]))
        if svc["startup"]:
            blocks.append(("h2", "Startup"))
            blocks.append(("table", ["server", "model", "cold starts",
                                     f"time to first response {metrics.STARTUP.unit}, "
                                     f"median (min–max)", metrics.IDLE_RSS.column()],
                           startup_rows(svc)))
            if "startup" in drawn:
                blocks.append(("image", "startup", drawn["startup"][0]))
    if run.micro:
        blocks.append(("h2", "Micro-benchmarks"))
        blocks.append(("p", "Published references were measured on other hardware: compare "
                            "orders of magnitude and ratios, not digits."))
        blocks.append(("table", ["primitive", "measurement", "ours", "published", "ours/published",
                                 "notes"], micro_rows(run.micro, published)))
        if "micro" in drawn:
            blocks.append(("image", "micro", drawn["micro"][0]))
    # A chart shown at the top is referred to below, not embedded twice.
    return [("ref", b[1]) if b[0] == "image" and b[1] in shown and i > first_detail(blocks)
            else b for i, b in enumerate(blocks)]


def first_detail(blocks):
    """Index of the first block after the findings and warnings (the Context heading)."""
    return next(i for i, b in enumerate(blocks) if b[:2] == ("h2", "Context"))


# ---- rendering ----------------------------------------------------------------------------

def md_escape(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(blocks):
    out = []
    for block in blocks:
        kind = block[0]
        if kind == "h1":
            out.append(f"# {block[1]}\n")
        elif kind == "h2":
            out.append(f"## {block[1]}\n")
        elif kind == "h3":
            out.append(f"### {block[1]}\n")
        elif kind == "p":
            out.append(f"{block[1]}\n")
        elif kind == "list":
            out.append("\n".join(f"- {md_escape(item)}" for item in block[1]) + "\n")
        elif kind == "table":
            headers, rows = block[1], block[2]
            out.append("| " + " | ".join(md_escape(h) for h in headers) + " |")
            out.append("|" + "---|" * len(headers))
            out.extend("| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows)
            out.append("")
        elif kind == "image":
            out.append(f"![{block[1]}]({Path(block[2]).name})\n")
        elif kind == "ref":
            out.append(f"[{block[1]}]({block[1]}.png): shown under “What this run says”.\n")
        elif kind == "details":
            out.append(f"<details><summary>{block[1]}</summary>\n")
            out.append("\n".join(f"- {md_escape(item)}" for item in block[2]) + "\n")
            out.append("</details>\n")
    return "\n".join(out)


CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
td:not(:last-child) { white-space: nowrap; }
td.long { white-space: normal; min-width: 16em; }
th { background: #f2f2f2; }
img { max-width: 100%; display: block; margin: 1em 0; }
.warnings li { color: #8a4b00; }
details { margin: 0.5em 0 1.5em; font-size: 0.9em; }
details li { word-break: break-all; }
"""


def inline_html(text):
    """Escaped text with `code` and **bold** spans."""
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(str(text)))
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


def render_html(blocks):
    e = html.escape
    out = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
           f"<title>{e(blocks[0][1])}</title><style>{CSS}</style></head><body>"]
    last_heading = ""
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            last_heading = block[1]
            out.append(f"<{kind}>{e(block[1])}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{inline_html(block[1])}</p>")
        elif kind == "list":
            cls = ' class="warnings"' if last_heading == "Warnings" else ""
            out.append(f"<ul{cls}>" + "".join(f"<li>{inline_html(i)}</li>" for i in block[1])
                       + "</ul>")
        elif kind == "details":
            out.append(f"<details><summary>{e(block[1])}</summary><ul>"
                       + "".join(f"<li>{e(i)}</li>" for i in block[2]) + "</ul></details>")
        elif kind == "ref":
            out.append(f'<p><a href="#chart-{e(block[1])}">{e(block[1])}</a>: shown under '
                       f'“What this run says”.</p>')
        elif kind == "table":
            headers, rows = block[1], block[2]
            head = "".join(f"<th>{e(h)}</th>" for h in headers) if any(headers) else ""
            # numbers stay on one line; prose (a claim's verdict, a reason) wraps
            body = "".join("<tr>" + "".join(
                ('<td class="long">' if len(str(c)) > 60 else "<td>") + f"{e(c)}</td>"
                for c in row) + "</tr>" for row in rows)
            out.append(f"<table>{'<tr>' + head + '</tr>' if head else ''}{body}</table>")
        elif kind == "image":
            data = base64.b64encode(Path(block[2]).read_bytes()).decode("ascii")
            out.append(f'<img id="chart-{e(block[1])}" alt="{e(block[1])}" '
                       f'src="data:image/png;base64,{data}">')
    out.append("</body></html>")
    return "\n".join(out)


def write_reports(run, drawn, published):
    blocks = build_blocks(run, drawn, published)
    md_path = run.folder / "report.md"
    html_path = run.folder / "report.html"
    md_path.write_text(render_markdown(blocks), encoding="utf-8")
    html_path.write_text(render_html(blocks), encoding="utf-8")
    written = [md_path, html_path]
    if run.service:
        # ./lab run prints this file at its end (harness/runner/runner.cpp)
        headline_path = run.folder / HEADLINE_FILE
        headline_path.write_text(headline.headline_text(run.service), encoding="utf-8")
        written.append(headline_path)
    return written


HEADLINE_FILE = "headline.txt"
