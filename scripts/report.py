"""report.md and report.html for one run: context, warnings, a table per scenario, charts.

The report is built once as a list of blocks (heading, paragraph, list, table, image) and
rendered twice, so the Markdown and the HTML always say the same thing. The HTML is
self-contained: charts are embedded as base64 PNG, no external resource is referenced.
"""
import base64
import html
import re
from pathlib import Path

import charts
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
    return f"{res.scenario_key(rec)} @ {rec['connections']} connections"


def service_warnings(service):
    """Every caveat a reader must see before trusting the numbers, one sentence each."""
    warnings = []
    if service.get("complete") is False:
        warnings.append("The run is incomplete (interrupted?): only finished measurements "
                        "are shown; `./lab run --resume <folder>` continues it.")
    for s in service["servers"]:
        if s.get("status") in ("skipped", "failed"):
            what = "was skipped" if s["status"] == "skipped" else "failed"
            warnings.append(f"Server {s['name']} {what} and was not measured: "
                            f"{s.get('reason') or 'no reason recorded'}.")
    for m in service["measurements"]:
        if m.get("status", "ok") != "ok":
            warnings.append(f"Measurement failed: {m['server']}, {level_name(m)}, repetition "
                            f"{m.get('repetition')}: {m.get('reason') or 'no reason recorded'}.")
    for agg in service["aggregates"]:
        flags = set(agg.get("flags") or [])
        where = f"{agg['server']}, {level_name(agg)}"
        if agg.get("client_bound") or "client_bound" in flags:
            warnings.append(f"Client-bound: {where} — the load generator's CPUs were ≥ 90% "
                            f"busy, so the throughput is a floor for the server, not its limit.")
        if res.is_noisy(agg):
            sp = res.spread(res.stat(agg, "requests_per_s"))
            warnings.append(f"Noisy: {where} — requests/s spread (max−min)/median is "
                            f"{sp * 100:.0f}% over {agg.get('repetitions')} repetitions "
                            f"(above {res.NOISY_SPREAD * 100:.0f}%).")
        if "errors" in flags:
            warnings.append(f"Errors: {where} — socket errors or non-2xx responses.")
        if "server_died" in flags:
            warnings.append(f"Server died: {where}.")
        if "starved" in flags:
            waits = [m["canary"]["first_response_ms"] or m["canary"]["max_wait_ms"]
                     for m in service["measurements"]
                     if m.get("status", "ok") == "ok" and "starved" in (m.get("flags") or [])
                     and m.get("canary") and m["server"] == agg["server"]
                     and m["scenario"] == agg["scenario"]
                     and m["connections"] == agg["connections"]
                     and (m.get("pipeline") or 1) == (agg.get("pipeline") or 1)]
            waited = f"{max(waits) / 1000:.1f} s" if waits else "too long"
            warnings.append(f"Starved: {where} — a connection opened during the run waited "
                            f"{waited} without an answer: some connections are not being "
                            f"served — throughput counts only the served ones.")
    return warnings


def scenario_rows(service, scenario):
    aggs = [a for a in service["aggregates"] if res.scenario_key(a) == scenario]
    aggs.sort(key=lambda a: (a["connections"],
                             -(res.stat(a, "requests_per_s") or (0, 0, 0))[0]))

    def cell(a, field, scale=1.0):
        t = res.stat(a, field)
        if t is None:
            return "–"
        text = res.fmt_num(t[0] * scale)
        if a.get("repetitions", 1) > 1:
            text += f" ({res.fmt_num(t[1] * scale)}–{res.fmt_num(t[2] * scale)})"
        return text

    rows = []
    for a in aggs:
        flags = list(a.get("flags") or [])
        if a.get("client_bound") and "client_bound" not in flags:
            flags.append("client_bound")
        if res.is_noisy(a) and "noisy" not in flags:
            flags.append("noisy")
        rows.append([a["server"], a.get("model") or "?", str(a["connections"]),
                     cell(a, "requests_per_s"), cell(a, "latency_p99_us", 1e-3),
                     cell(a, "cpu_us_per_request"), cell(a, "rss_peak_kb", 1 / 1024),
                     ", ".join(flags) or ""])
    return rows


SCENARIO_HEADERS = ["server", "model", "connections", "requests/s median (min–max)",
                    "p99 ms", "CPU µs/request", "peak RSS MiB", "flags"]


def startup_rows(service):
    rows = []
    for r in sorted(service["startup"], key=lambda r: r["server"]):
        t = res.stat(r, "time_to_first_response_ms")
        m = res.stat(r, "idle_rss_kb")
        rows.append([r["server"], r.get("model") or "?", str(r.get("runs")),
                     f"{res.fmt_num(t[0])} ({res.fmt_num(t[1])}–{res.fmt_num(t[2])})" if t else "–",
                     f"{res.fmt_num(m[0] / 1024)}" if m else "–"])
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


def build_blocks(run, drawn, published):
    blocks = [("h1", f"Concurrency Lab report — {run.folder.name}")]
    blocks.append(("p", "Generated by `./lab plot` from the results in this folder. "
                        "Figures are medians over repetitions with min–max in brackets."))
    blocks.append(("h2", "Context"))
    blocks.append(("table", ["", ""], [list(r) for r in context_rows(run.context)]))
    warnings = service_warnings(run.service) if run.service else []
    blocks.append(("h2", "Warnings"))
    blocks.append(("list", warnings) if warnings else ("p", "None."))
    if run.service:
        svc = run.service
        blocks.append(("h2", "Servers"))
        info = res.server_info(svc)
        blocks.append(("table", ["server", "model", "language", "reference", "status", "reason"],
                       [[n, i.get("model") or "?", i.get("language") or "?",
                         "yes" if i.get("reference") else "no", i.get("status") or "ok",
                         i.get("reason") or ""] for n, i in sorted(info.items())]))
        for scen in res.scenarios(svc):
            blocks.append(("h2", f"Scenario: {scen}"))
            blocks.append(("table", SCENARIO_HEADERS, scenario_rows(svc, scen)))
            for prefix in ("throughput", "latency_p99", "latency_spectrum", "cpu_per_request"):
                name = f"{prefix}_{charts.slug(scen)}"
                if name in drawn:
                    blocks.append(("image", name, drawn[name][0]))
        blocks.append(("h2", "Memory"))
        for name in ("memory_peak_rss", "memory_rss_over_time"):
            if name in drawn:
                blocks.append(("image", name, drawn[name][0]))
        if svc["startup"]:
            blocks.append(("h2", "Startup"))
            blocks.append(("table", ["server", "model", "cold starts",
                                     "time to first response ms, median (min–max)",
                                     "idle RSS MiB"], startup_rows(svc)))
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
    return blocks


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
    return "\n".join(out)


CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
td:not(:last-child) { white-space: nowrap; }
th { background: #f2f2f2; }
img { max-width: 100%; display: block; margin: 1em 0; }
.warnings li { color: #8a4b00; }
"""


def render_html(blocks):
    e = html.escape
    out = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
           f"<title>{e(blocks[0][1])}</title><style>{CSS}</style></head><body>"]
    last_heading = ""
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2"):
            last_heading = block[1]
            out.append(f"<{kind}>{e(block[1])}</{kind}>")
        elif kind == "p":
            text = re.sub(r"`([^`]+)`", r"<code>\1</code>", e(block[1]))
            out.append(f"<p>{text}</p>")
        elif kind == "list":
            cls = ' class="warnings"' if last_heading == "Warnings" else ""
            out.append(f"<ul{cls}>" + "".join(f"<li>{e(i)}</li>" for i in block[1]) + "</ul>")
        elif kind == "table":
            headers, rows = block[1], block[2]
            head = "".join(f"<th>{e(h)}</th>" for h in headers) if any(headers) else ""
            body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
                           for row in rows)
            out.append(f"<table>{'<tr>' + head + '</tr>' if head else ''}{body}</table>")
        elif kind == "image":
            data = base64.b64encode(Path(block[2]).read_bytes()).decode("ascii")
            out.append(f'<img alt="{e(block[1])}" src="data:image/png;base64,{data}">')
    out.append("</body></html>")
    return "\n".join(out)


def write_reports(run, drawn, published):
    blocks = build_blocks(run, drawn, published)
    md_path = run.folder / "report.md"
    html_path = run.folder / "report.html"
    md_path.write_text(render_markdown(blocks), encoding="utf-8")
    html_path.write_text(render_html(blocks), encoding="utf-8")
    return [md_path, html_path]
