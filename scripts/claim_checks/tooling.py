"""Claims about shipping and building a service: 9 (deployment bytes), 10 (build time), and
12 (what cannot be measured here, with the reasons).
"""
from claim_checks import base
from claim_checks.base import Figure, judged, not_measured

DEPLOY_CMD = "./lab deploy-size"
BUILD_CMD = "./lab build-time"
MB = 1e6


def _rows(run):
    return [r for r in run.data.get("servers", []) if "skipped" not in r]


def deploy_claim(claim, evidence):
    v = base.Verdict(claim)
    labels = ("Go is a single static binary (5–10 MB)",
              "Java needs a JAR + JVM image of 200–500 MB",
              "Node.js ships its sources + node_modules")
    run = evidence.get("deploy_size")
    if not run:
        return base.none_measured(v, labels, DEPLOY_CMD)
    name = base.run_name(run)
    v.runs.append(name)
    rows = {r["server"]: r for r in _rows(run)}
    note = run.context.get("note") or "no container engine was used; files counted on disk"

    def fig(r, what="", value=None):
        files = r["files"] if value is None else r["minimal"]["files"]
        return Figure(f"{r['server']}{what}: {files} files",
                      (value if value is not None else r["bytes"]) / MB, "MB", run=name)
    go = [r for r in rows.values() if r["language"] == "go"]
    if go:
        r = go[0]
        static = bool(r.get("static"))
        in_band = 5 * MB <= r["bytes"] <= 10 * MB
        v.parts.append(judged(labels[0], static and in_band,
                              f"{r['server']}: {r['bytes'] / MB:.1f} MB in {r['files']} files "
                              f"({'static' if static else 'dynamically linked: it needs libc too'})"
                              f"; {note}", [fig(r)]))
    else:
        v.parts.append(not_measured(labels[0], DEPLOY_CMD, "no Go server measured"))
    java = [r for r in rows.values() if r["language"] == "java"]
    if java:
        figs = [fig(r) for r in java]
        figs += [fig(r, " (jlink image)", r["minimal"]["bytes"]) for r in java if r.get("minimal")]
        sizes = [r["bytes"] / MB for r in java]
        minimal = [r["minimal"]["bytes"] / MB for r in java if r.get("minimal")]
        detail = f"JAR + whole JDK {min(sizes):.0f}–{max(sizes):.0f} MB"
        if minimal:
            detail += f"; JAR + jlink image of the modules it uses {min(minimal):.0f}–" \
                      f"{max(minimal):.0f} MB"
        if minimal and max(minimal) < 200:
            detail += " (200–500 MB is an image with a whole JDK, not what the server needs)"
        v.parts.append(judged(labels[1], all(200 <= s <= 500 for s in minimal or sizes),
                              detail, figs))
    else:
        v.parts.append(not_measured(labels[1], DEPLOY_CMD, "no Java server measured"))
    node = rows.get("node_http")
    if node:
        parts = {p["what"]: p for p in node["parts"]}
        modules = parts.get("node_modules", {}).get("files", 0)
        sources = parts.get("JavaScript sources", {})
        v.parts.append(judged(labels[2], modules > 0,
                              f"node + libraries {node['bytes'] / MB:.0f} MB; sources "
                              f"{sources.get('bytes', 0) / 1e3:.0f} kB in "
                              f"{sources.get('files', 0)} files; node_modules: {modules} files "
                              f"(the standard library suffices)", [fig(node)]))
    else:
        v.parts.append(not_measured(labels[2], DEPLOY_CMD, "node_http not measured"))
    v.chart = lambda folder, ctx: _deploy_chart(rows, folder, ctx)
    return v


def _deploy_chart(rows, folder, context):
    from claim_checks import drawing
    data = []
    for r in rows.values():
        data.append((r["server"], r.get("model"), r["bytes"] / MB, r["bytes"] / MB,
                     r["bytes"] / MB))
        if r.get("minimal"):
            b = r["minimal"]["bytes"] / MB
            data.append((r["server"] + " (jlink)", r.get("model"), b, b, b))
    data.sort(key=lambda row: row[2])
    return drawing.bar_chart(folder, "claim09_deploy", "Claim 9: bytes a minimal container would "
                            "hold (no container engine: files counted)", context, data,
                            "MB (log)", log=True, bands=[(5, 10, "claim: Go 5–10 MB"),
                                                        (200, 500, "claim: Java 200–500 MB")])


def build_claim(claim, evidence):
    v = base.Verdict(claim)
    labels = ("most services compile in under 5 seconds (Go)",
              "Go builds 10× faster than Java and C++")
    run = evidence.get("build_time")
    if not run:
        return base.none_measured(v, labels, BUILD_CMD)
    name = base.run_name(run)
    v.runs.append(name)
    rows = [r for r in _rows(run) if r.get("seconds")]

    def fig(r):
        s = r["seconds"]
        flags = ["noisy"] if len(s) > 1 and (max(s) - min(s)) / r["median_s"] > 0.25 else []
        return Figure(f"{r['server']} clean build", r["median_s"], "s", min(s), max(s), flags,
                      name)
    go = [r for r in rows if r["language"] == "go"]
    others = [r for r in rows if r["language"] in ("java", "cpp")]
    if not go:
        return base.none_measured(v, labels, BUILD_CMD, "go_nethttp was not built")
    g = go[0]
    v.parts.append(judged(labels[0], g["median_s"] < 5, f"go_nethttp {g['median_s']:.1f} s "
                          f"({g.get('command', '')})", [fig(g)]))
    if others:
        fastest = min(others, key=lambda r: r["median_s"])
        ratio = fastest["median_s"] / g["median_s"]
        v.parts.append(judged(labels[1], ratio >= 10, f"the fastest Java/C++ build "
                              f"({fastest['server']}, {fastest['median_s']:.1f} s) takes "
                              f"{ratio:.1f}× Go's", [fig(r) for r in others]))
    v.chart = lambda folder, ctx: _build_chart(rows, folder, ctx)
    return v


def _build_chart(rows, folder, context):
    from claim_checks import drawing
    model = {"go": "goroutine", "java": "virtual_thread"}
    data = sorted(((r["server"], model.get(r["language"], r["server"]), r["median_s"],
                    min(r["seconds"]), max(r["seconds"])) for r in rows), key=lambda x: x[2])
    return drawing.bar_chart(folder, "claim10_build", "Claim 10: clean build time, median of "
                            f"{run_reps(rows)}", context, data, "seconds",
                            lines=[(5, "claim: under 5 s")])


def run_reps(rows):
    return max((len(r["seconds"]) for r in rows), default=0)


UNMEASURABLE_REASONS = [
    "Salaries and hiring: labour-market figures, not a property of a runtime; no run of "
    "this lab can observe them.",
    "Onboarding speed and developer productivity: needs people learning the languages under "
    "controlled conditions; a benchmark of servers says nothing about it.",
    "Uber's geofence service figure: its primary source reports CPU utilisation of Uber's "
    "production fleet, not latency, on hardware and traffic we do not have; what the lab can "
    "compare — CPU per request at equal load — is claim 11.",
    "Company anecdotes in general (\"X cut its servers by N after moving to Go\"): the before "
    "and after differ in code, architecture and hardware, not only the language.",
]


def unmeasurable_claim(claim, evidence):
    v = base.Verdict(claim)
    v.reasons = list(UNMEASURABLE_REASONS)
    return v


CLAIMS = [
    base.Claim(9, "Deployment size",
               "Deployment: Go is a single static binary (container \"5 to 10 MB\"), Java needs "
               "JAR + JVM (\"200 to 500 MB\" image), Node.js source + node_modules.",
               base.articles(9), deploy_claim),
    base.Claim(10, "Build time",
               "Build time: \"most services compile in under 5 seconds\", \"10x faster build "
               "time\" than Java/C++.",
               base.articles(10), build_claim),
    base.Claim(12, "Not measurable here",
               "Salaries, onboarding speed, and Uber's geofence figure (latency).",
               base.articles(12), unmeasurable_claim,
               measurable=False),
]
