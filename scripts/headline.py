"""What a run says, in one or two generated sentences per scenario.

The report opens with these sentences, `./lab run` prints them at the end (from headline.txt,
written beside the report), so a reader gets the answer before the tables. Every number in a
sentence comes from the aggregates through metrics.py; nothing here is typed by hand.

Closed loop: the leader is the server with the highest median throughput at its best level,
and the margin is its ratio to the next server. When the load generator was the limit at the
leader's (or the runner-up's) best point, throughput says nothing about who is faster, so the
ranking switches to server CPU per request (lower is better) and the sentence says so. Open
loop: the leader by capacity at the SLO when the run searched for it, else by the highest
offered rate served without overload. Starved and overloaded servers are named last.
"""
import metrics
import results as res


# Margins below this are a tie: a busy 2-core machine moves medians by a few per cent.
TIE_MARGIN = 0.05


def _is_tie(a, b):
    return bool(a and b) and max(a, b) / min(a, b) < 1 + TIE_MARGIN


def _ratio_text(a, b):
    return f"{a / b:.2f}×" if b else "∞×"


def _best_point(aggs):
    """The aggregate with the highest median throughput, or None."""
    scored = [(metrics.REQUESTS.stat(a)[0], a) for a in aggs if metrics.REQUESTS.stat(a)]
    return max(scored, key=lambda s: s[0])[1] if scored else None


def _trouble(service, scenario, load):
    """'Starved at some level: a, b.' for starved and overloaded servers; which levels is in
    the report's flags table."""
    out = []
    for flag, verb in (("starved", "Starved (a connection went unanswered) at some level"),
                       ("overloaded", "Overloaded (fell behind the offered rate) at some rate")):
        names = [server for server, aggs in res.aggregates_of(service, scenario, load).items()
                 if any(flag in res.flags_of(a) for a in aggs)]
        if names:
            out.append(f"{verb}: {', '.join(names)}.")
    return out


def _ranked_best(service, scenario):
    """[(server, aggregate at its best throughput)], best first."""
    best = {s: _best_point(aggs)
            for s, aggs in res.aggregates_of(service, scenario, "closed").items()}
    return sorted(((s, a) for s, a in best.items() if a is not None),
                  key=lambda kv: -metrics.REQUESTS.stat(kv[1])[0])


def client_bound_at_top(service, scenario):
    """The leader or the runner-up whose best point was client-bound: throughput does not
    rank them (the report then shows the CPU-per-request chart first)."""
    return [s for s, a in _ranked_best(service, scenario)[:2] if res.is_client_bound(a)]


def closed_sentences(service, scenario):
    ranked = _ranked_best(service, scenario)
    if not ranked:
        return []
    best = dict(ranked)
    (lead, lead_agg), rest = ranked[0], ranked[1:]
    lead_rps = metrics.REQUESTS.stat(lead_agg)[0]
    bound = client_bound_at_top(service, scenario)
    out = []
    if not bound:
        text = (f"{lead} leads with {res.fmt_num(lead_rps)} req/s at "
                f"{res.level_text(lead_agg)}")
        if rest:
            second, second_agg = rest[0]
            second_rps = metrics.REQUESTS.stat(second_agg)[0]
            if _is_tie(lead_rps, second_rps):
                text = (f"{lead} and {second} are level (within {TIE_MARGIN:.0%}): "
                        f"{res.fmt_num(lead_rps)} and {res.fmt_num(second_rps)} req/s at best")
            else:
                text += (f", {_ratio_text(lead_rps, second_rps)} the next ({second}, "
                         f"{res.fmt_num(second_rps)} req/s)")
        out.append(text + ".")
    else:
        cpu = {s: metrics.CPU.stat(a)[0] for s, a in best.items() if metrics.CPU.stat(a)}
        by_cpu = sorted(cpu.items(), key=lambda kv: kv[1])
        text = (f"The load generator was the limit at the top ({', '.join(bound)} client-bound), "
                f"so ranked by server CPU per request at each server's best point instead: ")
        if by_cpu:
            (lead, lead_cpu) = by_cpu[0]
            unit = metrics.CPU.unit
            if len(by_cpu) > 1 and _is_tie(lead_cpu, by_cpu[1][1]):
                second, second_cpu = by_cpu[1]
                text += (f"{lead} and {second} are level (within {TIE_MARGIN:.0%}) at "
                         f"{res.fmt_num(lead_cpu)} and {res.fmt_num(second_cpu)} {unit}")
            else:
                text += f"{lead} is cheapest at {res.fmt_num(lead_cpu)} {unit}"
                if len(by_cpu) > 1:
                    second, second_cpu = by_cpu[1]
                    text += (f", {_ratio_text(second_cpu, lead_cpu)} less CPU than the next "
                             f"({second}, {res.fmt_num(second_cpu)} {unit})")
            out.append(text + ".")
        else:
            out.append(text + "but no CPU figures were recorded.")
    return out + _trouble(service, scenario, "closed")


def open_sentences(service, scenario):
    caps = [c for c in service.get("capacity") or []
            if c.get("scenario") == scenario and c.get(metrics.CAPACITY.name) is not None
            and c.get("status") != "failed"]
    out = []
    if caps:
        caps.sort(key=lambda c: -c[metrics.CAPACITY.name])
        lead = caps[0]
        slo = lead.get("slo_p99_ms")
        text = (f"{lead['server']} serves the most within the SLO"
                f"{f' (p99 < {slo:g} ms)' if slo is not None else ''}: "
                f"{res.capacity_text(lead)} req/s")
        if len(caps) > 1:
            second = caps[1]
            a, b = lead[metrics.CAPACITY.name], second[metrics.CAPACITY.name]
            text += (f", level with {second['server']} ({res.capacity_text(second)}, within "
                     f"{TIE_MARGIN:.0%})" if _is_tie(a, b) else
                     f", {_ratio_text(a, b)} the next ({second['server']}, "
                     f"{res.capacity_text(second)} req/s)")
        out.append(text + ".")
    else:
        served = {}
        for server, aggs in res.aggregates_of(service, scenario, "open").items():
            ok = [a["rate"] for a in aggs if not res.is_overloaded(a) and a["rate"]]
            if ok:
                served[server] = max(ok)
        if served:
            ranked = sorted(served.items(), key=lambda kv: -kv[1])
            text = (f"{ranked[0][0]} kept up with the highest offered rate, "
                    f"{res.fmt_num(ranked[0][1])} req/s")
            if len(ranked) > 1:
                text += f" (next: {ranked[1][0]}, {res.fmt_num(ranked[1][1])} req/s)"
            out.append(text + ".")
    return out + _trouble(service, scenario, "open")


def scenario_sentences(service):
    """[(scenario, [sentence, ...])] in the order the run measured the scenarios."""
    out = []
    for scen in res.scenarios(service, "closed"):
        s = closed_sentences(service, scen)
        if s:
            out.append((scen, s))
    for scen in res.scenarios(service, "open"):
        s = open_sentences(service, scen)
        if s:
            out.append((scen + " (open loop)", s))
    not_measured = [s["name"] for s in service["servers"]
                    if s.get("status") in ("skipped", "failed")]
    if not_measured:
        out.append(("not measured", [f"{', '.join(not_measured)}: skipped or failed "
                                     f"(reasons in the servers table)."]))
    return out


def headline_text(service):
    """The sentences as plain text, one scenario a line (headline.txt, the terminal)."""
    return "".join(f"{scen}: {' '.join(sentences)}\n"
                   for scen, sentences in scenario_sentences(service))
