#!/usr/bin/env python3
"""./lab compare A B: two result folders side by side, server by server, as ratios B/A.

For every (server, scenario, connections) measured in both runs: throughput, p99 latency,
server CPU per request and peak RSS, each as the ratio of medians B/A. Whether a difference is
real is judged by a Mann-Whitney U test over the repetitions of A and B (as Google Benchmark's
compare.py does; scripts/uncertainty.py): a ratio whose p-value is not below 0.05 is marked
"~", not significant. Where the repetitions are not in the file, the min-max ranges decide
(overlapping ranges: "not meaningful"). When both runs carry a machine fingerprint
(context.fingerprint), its figures are compared too, as ratios B/A beside the results. Open-loop levels (results schema 2) are compared in a table of their
own by (server, scenario, offered rate), and capacity at the SLO by (server, scenario).
Micro-benchmark folders (micro.json) are compared the same way per primitive and
measurement. Prints a table and writes it as compare.md. Which metrics, their column names
and which way is better come from scripts/metrics.py.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine         # noqa: E402
import metrics         # noqa: E402
import results as res  # noqa: E402
import uncertainty     # noqa: E402


def ratio(a, b):
    """B/A of two medians, None when either is missing or A is zero."""
    if a is None or b is None or not a[0]:
        return None
    return b[0] / a[0]


def overlaps(a, b):
    """True when the min-max ranges of A and B intersect."""
    return a is not None and b is not None and a[1] <= b[2] and b[1] <= a[2]


def compare_levels(sa, sb, load="closed"):
    """Rows for one kind of level: (server, scenario, connections) for closed loop,
    (server, scenario, offered rate) for open loop; the two are never matched with each
    other. Each row: the key, and per metric column (A median, B median, ratio, overlap)."""
    def index(service):
        return {(a["server"], res.scenario_key(a), res.level(a)): a
                for a in service["aggregates"] if res.load_of(a) == load}
    ia, ib = index(sa), index(sb)
    shown = metrics.COMPARE_OPEN if load == "open" else metrics.COMPARE_CLOSED
    level_name = "rate" if load == "open" else "connections"
    rows = []
    order = {scen: i for i, scen in enumerate(res.scenarios(sa))}
    reps_a = {m.short: uncertainty.repetition_values(sa, m) for m in shown}
    reps_b = {m.short: uncertainty.repetition_values(sb, m) for m in shown}
    for key in sorted(set(ia) & set(ib), key=lambda k: (order.get(k[1], 99), k[1], k[0], k[2])):
        row = {"server": key[0], "scenario": key[1], level_name: key[2], "metrics": {}}
        identity = (key[0], key[1], load, key[2])
        for metric in shown:
            a, b = metric.stat(ia[key]), metric.stat(ib[key])
            va = uncertainty.values_behind(a and a[0], reps_a[metric.short].get(identity))
            vb = uncertainty.values_behind(b and b[0], reps_b[metric.short].get(identity))
            test = uncertainty.mann_whitney(va, vb) if va and vb else None
            row["metrics"][metric.short] = {"a": a, "b": b, "ratio": ratio(a, b),
                                            "overlap": overlaps(a, b), "test": test,
                                            "n": (len(va), len(vb)) if test else None}
        row["client_bound"] = res.is_client_bound(ia[key]) or res.is_client_bound(ib[key])
        row["overloaded"] = [run for run, agg in (("A", ia[key]), ("B", ib[key]))
                             if res.is_overloaded(agg)]
        rows.append(row)
    only_a = sorted(set(ia) - set(ib))
    only_b = sorted(set(ib) - set(ia))
    return rows, only_a, only_b


def compare_service(sa, sb):
    """Closed-loop levels: (rows, only in A, only in B); see compare_levels."""
    return compare_levels(sa, sb, "closed")


def compare_capacity(sa, sb):
    """Capacity at the SLO by (server, scenario): rows with A, B (capacity entries), ratio
    of capacity_rps and whether either side is a lower bound (all_passed)."""
    def index(service):
        return {(c["server"], c["scenario"]): c for c in service.get("capacity") or []}
    ia, ib = index(sa), index(sb)
    rows = []
    for key in sorted(set(ia) & set(ib), key=lambda k: (k[1], k[0])):
        a, b = ia[key], ib[key]
        va, vb = metrics.CAPACITY.stat(a), metrics.CAPACITY.stat(b)
        usable = a.get("status") in ("ok", "all_passed") and b.get("status") in ("ok", "all_passed")
        rows.append({"server": key[0], "scenario": key[1], "a": a, "b": b,
                     "ratio": ratio(va, vb) if usable else None,
                     "lower_bound": [run for run, c in (("A", a), ("B", b))
                                     if c.get("status") == "all_passed"]})
    return rows, sorted(set(ia) - set(ib)), sorted(set(ib) - set(ia))


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


def not_meaningful(cell):
    """The U test over repetitions where there is one (p ≥ 0.05), else the ranges overlap."""
    test = cell.get("test")
    return not uncertainty.significant(test) if test else cell["overlap"]


def fmt_ratio(cell):
    if cell["ratio"] is None:
        return "–"
    return f"{cell['ratio']:.2f}" + ("~" if not_meaningful(cell) else "")


def service_table(rows, load="closed"):
    shown = metrics.COMPARE_OPEN if load == "open" else metrics.COMPARE_CLOSED
    req = metrics.REQUESTS.short
    level_head, level_key = ("offered req/s", "rate") if load == "open" else ("conns",
                                                                               "connections")
    achieved = "achieved " if load == "open" else ""
    headers = ["server", "scenario", level_head, f"{achieved}{req} A", f"{achieved}{req} B"] + \
              [f"{m.short} B/A" for m in shown] + ["note"]
    table = []
    for r in rows:
        m = r["metrics"]
        tested = [metric.short for metric in shown if m[metric.short].get("test")]
        not_sig = [s for s in tested if not_meaningful(m[s])]
        noisy = [metric.short for metric in shown
                 if not m[metric.short].get("test") and m[metric.short]["overlap"]]
        notes = []
        if not_sig:
            p = ", ".join(f"{s} p={m[s]['test']['p']:.2g}" for s in not_sig)
            notes.append(f"not significant (U test): {p}")
        if noisy:
            notes.append(f"not meaningful (ranges overlap): {', '.join(noisy)}")
        if r["client_bound"]:
            notes.append("client-bound")
        if r.get("overloaded"):
            notes.append(f"overloaded in {' and '.join(r['overloaded'])}")
        level = r[level_key]
        table.append([r["server"], r["scenario"],
                      res.fmt_num(level) if load == "open" else str(level),
                      res.fmt_num(m[req]["a"][0]) if m[req]["a"] else "–",
                      res.fmt_num(m[req]["b"][0]) if m[req]["b"] else "–"] +
                     [fmt_ratio(m[metric.short]) for metric in shown] + ["; ".join(notes)])
    return headers, table


def capacity_table(rows):
    headers = ["server", "scenario", "SLO p99 ms", f"{metrics.CAPACITY.short} A",
               f"{metrics.CAPACITY.short} B", "B/A", "note"]
    table = []
    for r in rows:
        slo = r["a"].get("slo_p99_ms")
        notes = []
        if r["b"].get("slo_p99_ms") != slo:
            notes.append(f"SLO differs: B has {r['b'].get('slo_p99_ms')} ms")
        if r["lower_bound"]:
            notes.append(f"≥: every rate tried met the SLO in {' and '.join(r['lower_bound'])} "
                         f"(a lower bound)")
        table.append([r["server"], r["scenario"], "–" if slo is None else f"{slo:g}",
                      res.capacity_text(r["a"]), res.capacity_text(r["b"]),
                      "–" if r["ratio"] is None else f"{r['ratio']:.2f}", "; ".join(notes)])
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


def directions(shown):
    higher = [m.short for m in shown if m.better == "higher"]
    lower = [m.short for m in shown if m.better == "lower"]
    return (f"For {', '.join(higher)} higher is better; for {', '.join(lower[:-1])} and "
            f"{lower[-1]} lower is better.")


LEGEND = ("Ratios are B/A of medians over repetitions. " + directions(metrics.COMPARE_CLOSED) +
          f" '~' marks a ratio that is not significant: a Mann-Whitney U test over the "
          f"repetitions of A and B gives p ≥ {uncertainty.ALPHA:g} (with 3 and 3 repetitions p "
          f"is never below 0.10), or, where the file lacks the repetitions, their min–max "
          f"ranges overlap.")
OPEN_LEGEND = ("Open loop: rows are matched by offered rate, never by connections; req/s is "
               "the achieved rate. An overloaded row (achieved < "
               f"{metrics.OVERLOADED_FRACTION:.0%} of offered) measured a growing backlog: "
               "compare its latency with care. Capacity is the highest offered rate whose p99 "
               "met the SLO; '≥' marks a run where every rate tried met it.")


def power_notes(sa, sb):
    """A line when the repetitions of the two runs are too few for any U test to be
    significant."""
    na = (sa.get("suite") or {}).get("repetitions")
    nb = (sb.get("suite") or {}).get("repetitions")
    note = uncertainty.power_note(na, nb) if na and nb else None
    return [f"Note: {note}."] if note else []


def build(folder_a, folder_b):
    """(text for the terminal, markdown) of the comparison of two run folders."""
    ra, rb = res.Run(folder_a), res.Run(folder_b)
    sections = []     # (title, headers, rows, missing lines)
    has_open = False
    if ra.service and rb.service:
        rows, only_a, only_b = compare_service(ra.service, rb.service)
        open_rows, open_a, open_b = compare_levels(ra.service, rb.service, "open")
        cap_rows, cap_a, cap_b = compare_capacity(ra.service, rb.service)
        has_open = bool(open_rows or open_a or open_b or cap_rows or cap_a or cap_b)
        headers, table = service_table(rows)
        missing = [f"only in A: {s}, {sc} @ {c}" for s, sc, c in only_a] + \
                  [f"only in B: {s}, {sc} @ {c}" for s, sc, c in only_b]
        if rows or missing or not has_open:
            sections.append(("Service, closed loop (connections)" if has_open else "Service",
                             headers, table, missing))
        if open_rows or open_a or open_b:
            headers, table = service_table(open_rows, "open")
            missing = [f"only in A: {s}, {sc} @ {res.fmt_num(r)} req/s" for s, sc, r in open_a] + \
                      [f"only in B: {s}, {sc} @ {res.fmt_num(r)} req/s" for s, sc, r in open_b]
            sections.append(("Service, open loop (offered rate)", headers, table, missing))
        if cap_rows or cap_a or cap_b:
            headers, table = capacity_table(cap_rows)
            missing = [f"only in A: capacity of {s}, {sc}" for s, sc in cap_a] + \
                      [f"only in B: capacity of {s}, {sc}" for s, sc in cap_b]
            sections.append(("Capacity at the SLO", headers, table, missing))
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
    legend = LEGEND + (" " + OPEN_LEGEND if has_open else "")
    text, md = list(head), ["# Comparison B/A", ""] + [f"- {h}" for h in head] + ["", legend, ""]
    fp_lines = machine.fingerprint_lines(ra.context, rb.context)
    text += [""] + fp_lines
    md += [f"## Machines (fingerprint B/A)", ""] + [f"- {l}" for l in fp_lines] + [""]
    if ra.service and rb.service:
        notes = power_notes(ra.service, rb.service)
        text += notes
        md += [f"- {n}" for n in notes] + ([""] if notes else [])
    for title, headers, table, missing in sections:
        text += ["", title, text_table(headers, table)] + missing
        md += [f"## {title}", "", md_table(headers, table), ""] + [f"- {m}" for m in missing] + [""]
    text += ["", legend]
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
