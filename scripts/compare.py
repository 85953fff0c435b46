#!/usr/bin/env python3
"""./lab compare A B: two result folders side by side, server by server, as ratios B/A.

For every (server, scenario, connections) measured in both runs: throughput, p99 latency,
server CPU per request and peak RSS, each as the ratio of medians B/A. Where the min-max
ranges over repetitions of A and B overlap, the difference is within the noise and the row
says "not meaningful". Micro-benchmark folders (micro.json) are compared the same way per
primitive and measurement. Prints a table and writes it as compare.md.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import results as res  # noqa: E402

METRICS = [  # (column, aggregate field, better when)
    ("req/s", "requests_per_s", "higher"),
    ("p99", "latency_p99_us", "lower"),
    ("CPU/req", "cpu_us_per_request", "lower"),
    ("peak RSS", "rss_peak_kb", "lower"),
]


def ratio(a, b):
    """B/A of two medians, None when either is missing or A is zero."""
    if a is None or b is None or not a[0]:
        return None
    return b[0] / a[0]


def overlaps(a, b):
    """True when the min-max ranges of A and B intersect."""
    return a is not None and b is not None and a[1] <= b[2] and b[1] <= a[2]


def compare_service(sa, sb):
    """Rows: dicts with key, and per metric (A median, B median, ratio, overlap)."""
    def index(service):
        return {(a["server"], res.scenario_key(a), a["connections"]): a
                for a in service["aggregates"]}
    ia, ib = index(sa), index(sb)
    rows = []
    order = {scen: i for i, scen in enumerate(res.scenarios(sa))}
    for key in sorted(set(ia) & set(ib), key=lambda k: (order.get(k[1], 99), k[1], k[0], k[2])):
        row = {"server": key[0], "scenario": key[1], "connections": key[2], "metrics": {}}
        for column, field, _ in METRICS:
            a, b = res.stat(ia[key], field), res.stat(ib[key], field)
            row["metrics"][column] = {"a": a, "b": b, "ratio": ratio(a, b),
                                      "overlap": overlaps(a, b)}
        row["client_bound"] = bool(ia[key].get("client_bound") or ib[key].get("client_bound"))
        rows.append(row)
    only_a = sorted(set(ia) - set(ib))
    only_b = sorted(set(ib) - set(ia))
    return rows, only_a, only_b


def compare_micro(ma, mb):
    def index(micro):
        return {(r["primitive"], r["measurement"]): r for r in micro["results"]}
    ia, ib = index(ma), index(mb)
    rows = []
    for key in sorted(set(ia) & set(ib)):
        ra, rb = ia[key], ib[key]
        a = (ra["value"], ra.get("min", ra["value"]), ra.get("max", ra["value"]))
        b = (rb["value"], rb.get("min", rb["value"]), rb.get("max", rb["value"]))
        if ra.get("unit") != rb.get("unit"):
            continue
        rows.append({"primitive": key[0], "measurement": key[1], "unit": ra.get("unit"),
                     "a": a, "b": b, "ratio": ratio(a, b), "overlap": overlaps(a, b)})
    return rows, sorted(set(ia) - set(ib)), sorted(set(ib) - set(ia))


def fmt_ratio(cell):
    if cell["ratio"] is None:
        return "–"
    return f"{cell['ratio']:.2f}" + ("~" if cell["overlap"] else "")


def service_table(rows):
    headers = ["server", "scenario", "conns", "req/s A", "req/s B"] + \
              [f"{c} B/A" for c, _, _ in METRICS] + ["note"]
    table = []
    for r in rows:
        m = r["metrics"]
        noisy = [c for c, _, _ in METRICS if m[c]["overlap"]]
        notes = []
        if noisy:
            notes.append(f"not meaningful (ranges overlap): {', '.join(noisy)}")
        if r["client_bound"]:
            notes.append("client-bound")
        table.append([r["server"], r["scenario"], str(r["connections"]),
                      res.fmt_num(m["req/s"]["a"][0]) if m["req/s"]["a"] else "–",
                      res.fmt_num(m["req/s"]["b"][0]) if m["req/s"]["b"] else "–"] +
                     [fmt_ratio(m[c]) for c, _, _ in METRICS] + ["; ".join(notes)])
    return headers, table


def micro_table(rows):
    headers = ["primitive", "measurement", "unit", "A", "B", "B/A", "note"]
    return headers, [[r["primitive"], r["measurement"], r["unit"] or "", res.fmt_num(r["a"][0]),
                      res.fmt_num(r["b"][0]), fmt_ratio(r),
                      "not meaningful (ranges overlap)" if r["overlap"] else ""] for r in rows]


def text_table(headers, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def md_table(headers, rows):
    esc = lambda c: str(c).replace("|", "\\|")
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


LEGEND = ("Ratios are B/A of medians over repetitions. For req/s higher is better; for p99, "
          "CPU/req and peak RSS lower is better. '~' marks a ratio whose min–max ranges in A "
          "and B overlap: that difference is not meaningful.")


def build(folder_a, folder_b):
    """(text for the terminal, markdown) of the comparison of two run folders."""
    ra, rb = res.Run(folder_a), res.Run(folder_b)
    sections = []     # (title, headers, rows, missing lines)
    if ra.service and rb.service:
        rows, only_a, only_b = compare_service(ra.service, rb.service)
        headers, table = service_table(rows)
        missing = [f"only in A: {s}, {sc} @ {c}" for s, sc, c in only_a] + \
                  [f"only in B: {s}, {sc} @ {c}" for s, sc, c in only_b]
        sections.append(("Service", headers, table, missing))
    if ra.micro and rb.micro:
        rows, only_a, only_b = compare_micro(ra.micro, rb.micro)
        headers, table = micro_table(rows)
        missing = [f"only in A: {p} {m}" for p, m in only_a] + \
                  [f"only in B: {p} {m}" for p, m in only_b]
        sections.append(("Micro-benchmarks", headers, table, missing))
    if not sections:
        raise res.ResultsError(
            f"nothing to compare: {folder_a} has "
            f"{'service' if ra.service else 'micro'} results and {folder_b} has "
            f"{'service' if rb.service else 'micro'} results")
    head = [f"A: {folder_a}  ({res.context_subtitle(ra.context)})",
            f"B: {folder_b}  ({res.context_subtitle(rb.context)})"]
    text, md = list(head), ["# Comparison B/A", ""] + [f"- {h}" for h in head] + ["", LEGEND, ""]
    for title, headers, table, missing in sections:
        text += ["", title, text_table(headers, table)] + missing
        md += [f"## {title}", "", md_table(headers, table), ""] + [f"- {m}" for m in missing] + [""]
    text += ["", LEGEND]
    return "\n".join(text) + "\n", "\n".join(md) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="./lab compare", description=__doc__.split("\n\n")[0],
                                     epilog=LEGEND)
    parser.add_argument("a", metavar="A", help="baseline run folder")
    parser.add_argument("b", metavar="B", help="run folder to compare with the baseline")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="where to write the Markdown table (default: B/compare.md)")
    args = parser.parse_args(argv)
    try:
        text, md = build(args.a, args.b)
    except res.ResultsError as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    out = Path(args.output) if args.output else Path(args.b) / "compare.md"
    out.write_text(md, encoding="utf-8")
    print(text, end="")
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
