"""The report's warnings as one compact table: a row per flagged server, a column per scenario,
a mark per flag kind with how many of the levels carried it ("C 3/4": client-bound at 3 of the
4 levels measured). What each mark means is said once, below the table, in the words of the
flag registry (metrics.FLAGS); the per-point details stay in the report, folded away.
"""
import metrics
import results as res

# One letter per flag of metrics.FLAGS (a test checks that every flag has one).
MARKS = {
    "client_bound": "C",
    "starved": "S",
    "overloaded": "O",
    "noisy": "N",
    "errors": "E",
    "server_died": "D",
    "downstream_bound": "B",
    "noisy_machine": "M",
}


def _scenario_label(agg):
    return res.scenario_key(agg) + (" (open loop)" if res.is_open(agg) else "")


def flag_counts(service):
    """{(server, scenario label): {flag: (flagged levels, levels)}} over the aggregates."""
    levels, flagged = {}, {}
    for agg in service["aggregates"]:
        key = (agg["server"], _scenario_label(agg))
        levels[key] = levels.get(key, 0) + 1
        for flag in res.flags_of(agg):
            if flag in MARKS:
                flagged.setdefault(key, {}).setdefault(flag, 0)
                flagged[key][flag] += 1
    return {k: {f: (n, levels[k]) for f, n in v.items()} for k, v in flagged.items()}


def cell_text(counts):
    order = list(MARKS)
    return " · ".join(f"{MARKS[f]} {n}/{total}"
                      for f, (n, total) in sorted(counts.items(), key=lambda kv: order.index(kv[0])))


def flag_table(service):
    """(headers, rows): servers with any flag × scenarios with any flag; "" where none."""
    counts = flag_counts(service)
    if not counts:
        return None
    scenarios = []
    for agg in service["aggregates"]:
        label = _scenario_label(agg)
        if label not in scenarios and any(k[1] == label for k in counts):
            scenarios.append(label)
    servers = sorted({k[0] for k in counts})
    rows = [[s] + [cell_text(counts.get((s, scen), {})) for scen in scenarios] for s in servers]
    return ["server"] + scenarios, rows


def flags_present(service):
    """[(flag, load)] of the flags that occur, in registry order; client-bound once per load
    kind it occurs under (its rule differs between wrk and lab_load)."""
    seen = []
    for rec in service["aggregates"] + service["measurements"]:
        for flag in res.flags_of(rec):
            load = "open" if res.is_open(rec) and flag == "client_bound" else "closed"
            if flag in metrics.FLAGS and (flag, load) not in seen:
                seen.append((flag, load))
    order = list(metrics.FLAGS)
    seen.sort(key=lambda f: (order.index(f[0]), f[1]))
    return seen


def split_reason(reason, limit=200):
    """(short, details): a long reason (a partial reference's failed checks with their raw
    responses) shortened to its text before the first check plus the check names; details is
    the raw reason, or None when it is short enough to show whole."""
    if not reason or len(reason) <= limit:
        return reason or "", None
    items, depth, current = [], 0, ""
    for ch in reason:                       # split at "; " outside brackets
        depth += (ch == "(") - (ch == ")")
        if ch == ";" and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    names, head = [], None
    for n, item in enumerate(items):
        before = item.split("(", 1)[0].strip()
        name = before.rsplit(" ", 1)[-1].rsplit(":", 1)[-1]
        # after the first item, a check is "name (details)": one word before the bracket
        if "(" in item and name.replace("_", "").isalnum() and (n == 0 or name == before):
            names.append(name)
            if head is None:
                head = before[:len(before) - len(name)].rstrip(" :")
    if len(names) >= 2:
        return f"{head}: {', '.join(names)}", reason
    return reason[:limit].rsplit(" ", 1)[0] + " …", reason
