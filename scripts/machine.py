"""What the machine did: the fingerprint in a run's context (lab_fingerprint, harness/fingerprint)
and the per-measurement noise (steal, other processes, page faults, GC pauses), read from
results; and the rules that name, for a point that moved between two runs, the figure or
counter that plausibly explains it (docs/numbers-that-travel.md). Pure functions over the
JSON; no I/O.
"""
import statistics

# Figures in display order: (name, what it stands for). "_gbps" figures are better higher.
FIGURES = [
    ("compute_ns", "user-space speed (dependent multiply chain)"),
    ("clock_gettime_ns", "clock read"),
    ("syscall_ns", "system call round trip"),
    ("context_switch_ns", "pinned thread context switch"),
    ("chase_16KiB_ns", "memory latency, L1-sized"),
    ("chase_256KiB_ns", "memory latency, L2-sized"),
    ("chase_4MiB_ns", "memory latency, L3-sized"),
    ("chase_64MiB_ns", "memory latency, far beyond the caches"),
    ("read_gbps", "streaming read bandwidth"),
    ("copy_gbps", "copy bandwidth"),
]
# A figure moves when B/A is beyond this (slower or faster); the fingerprint's own spread on a
# quiet machine is a few per cent for most figures.
FIGURE_MOVES = 0.15
# Runtimes whose cost per request is mostly user-space work (interpreter/JIT, GC, scheduler):
# they track compute, the pointer chase and the clock; the C++ servers and nginx spend theirs
# mostly in the kernel's network stack and track syscalls and context switches.
USER_HEAVY_LANGUAGES = ("go", "java", "javascript")
GC_GROWTH = 1.5       # GC pause total per request up by this much: a named cause
GC_SHARE = 0.01       # ... if the pauses are at least 1 % of the measurement's wall time


def fingerprint(context):
    """{figure: median} of a run's context, or None (no fingerprint, or a failed one)."""
    fp = (context or {}).get("fingerprint")
    if not isinstance(fp, dict) or not isinstance(fp.get("figures"), dict):
        return None
    return {name: f.get("median") for name, f in fp["figures"].items()
            if isinstance(f, dict) and isinstance(f.get("median"), (int, float))}


def slowdown(name, a, b):
    """How much slower B is than A on one figure (> 1: slower), None if not computable."""
    if not a or not b:
        return None
    return a / b if name.endswith("_gbps") else b / a


def figure_ratios(ctx_a, ctx_b):
    """[(figure, meaning, A, B, B/A, slowdown)] for figures both fingerprints have."""
    fa, fb = fingerprint(ctx_a), fingerprint(ctx_b)
    if not fa or not fb:
        return []
    out = []
    for name, meaning in FIGURES:
        if name in fa and name in fb and fa[name]:
            out.append((name, meaning, fa[name], fb[name], fb[name] / fa[name],
                        slowdown(name, fa[name], fb[name])))
    return out


def fingerprint_lines(ctx_a, ctx_b):
    """Lines for compare and reproduce: each figure's B/A, or why there is none."""
    rows = figure_ratios(ctx_a, ctx_b)
    if not rows:
        missing = [side for side, c in (("A", ctx_a), ("B", ctx_b)) if not fingerprint(c)]
        return [f"Machine fingerprint: not in {' and '.join(missing)} (runs before "
                f"lab_fingerprint, or --fingerprint-seconds 0): machine differences cannot be "
                f"told apart from result differences"]
    lines = ["Machine fingerprint B/A (> 1 on _ns figures and < 1 on _gbps: B slower):"]
    for name, meaning, a, b, r, slow in rows:
        mark = " *" if slow and abs(slow - 1) > FIGURE_MOVES else ""
        lines.append(f"  {name:18} {a:10.3f} → {b:10.3f}  B/A {r:5.2f}{mark}  ({meaning})")
    sys_a = ((ctx_a or {}).get("fingerprint") or {}).get("system") or {}
    sys_b = ((ctx_b or {}).get("fingerprint") or {}).get("system") or {}
    for key in sorted(set(sys_a) | set(sys_b)):
        if sys_a.get(key) != sys_b.get(key):
            lines.append(f"  {key}: {sys_a.get(key)} → {sys_b.get(key)} (differs)")
    lines.append(f"  (* moved more than {FIGURE_MOVES:.0%})")
    return lines


def noise_of(measurements):
    """Medians over a point's measurements: steal and foreign fractions, GC pause total per
    second and per 1,000 requests, minor and major faults per 1,000 requests; keys are absent
    when no measurement had them."""
    cols = {}
    for m in measurements:
        mach = m.get("machine") or {}
        stats = m.get("server_stats") or {}
        requests = m.get("requests") or 0
        wall = m.get("duration_s") or 0
        for key in ("steal_fraction", "foreign_fraction"):
            if isinstance(mach.get(key), (int, float)):
                cols.setdefault(key, []).append(mach[key])
        gc = stats.get("gc")
        if isinstance(gc, dict) and requests:
            cols.setdefault("gc_ms_per_1k_requests", []).append(gc.get("pause_total_ms", 0) * 1000 / requests)
            if wall:
                cols.setdefault("gc_share", []).append(gc.get("pause_total_ms", 0) / 1000 / wall)
        for key in ("minor_faults", "major_faults"):
            if isinstance(stats.get(key), (int, float)) and requests:
                cols.setdefault(f"{key}_per_1k_requests", []).append(stats[key] * 1000 / requests)
        if "noisy_machine" in (m.get("flags") or []):
            cols.setdefault("noisy_machine", []).append(1)
    return {k: statistics.median(v) for k, v in cols.items()}


def explain(point_slowdown, language, client_bound, noise_pub, noise_new, ratios):
    """The plausible cause of a point that moved, as a sentence, or "unexplained".
    point_slowdown: how much worse the new point is (> 1 worse, < 1 better); language: the
    server's; noise_*: noise_of() of the published and the new point; ratios: figure_ratios
    (published → new). The rules, first match wins:
    1. the new run's measurement was noisy (steal or other processes over the threshold);
    2. the server's GC pauses grew (≥ 1.5× per request and ≥ 1 % of the wall time);
    3. major page faults appeared, or minor faults per request doubled;
    4. a client-bound point: it measured the load generator's CPU, not the server;
    5. the fingerprint figure that moved the same way and best fits the server's kind of work
       (user-heavy runtimes: compute, clock, pointer chase; the others: syscall, context
       switch), if it moved more than 15 %;
    otherwise "unexplained"."""
    worse = point_slowdown > 1
    if noise_new.get("noisy_machine") or noise_new.get("steal_fraction", 0) > 0.02 or \
            noise_new.get("foreign_fraction", 0) > 0.05:
        return (f"noisy machine in the new run: steal {noise_new.get('steal_fraction', 0):.1%}, "
                f"other processes {noise_new.get('foreign_fraction', 0):.1%} of the CPU")
    gc_p, gc_n = noise_pub.get("gc_ms_per_1k_requests"), noise_new.get("gc_ms_per_1k_requests")
    if gc_p is not None and gc_n is not None and noise_new.get("gc_share", 0) >= GC_SHARE and \
            (gc_n >= GC_GROWTH * gc_p if worse else gc_p >= GC_GROWTH * gc_n):
        return f"GC pauses {gc_p:.2f} → {gc_n:.2f} ms per 1,000 requests"
    maj_p = noise_pub.get("major_faults_per_1k_requests", 0)
    maj_n = noise_new.get("major_faults_per_1k_requests", 0)
    min_p = noise_pub.get("minor_faults_per_1k_requests")
    min_n = noise_new.get("minor_faults_per_1k_requests")
    if worse and (maj_n > 0 and maj_p == 0 or (min_p and min_n and min_n >= 2 * min_p)):
        return (f"page faults up: minor {min_p or 0:.1f} → {min_n or 0:.1f}, major "
                f"{maj_p:.2f} → {maj_n:.2f} per 1,000 requests")
    if client_bound:
        return "client-bound: the point measured the load generator, not the server"
    if not ratios:
        return "unexplained (no fingerprint in one of the runs)"
    if language in USER_HEAVY_LANGUAGES:
        candidates = ("compute_ns", "clock_gettime_ns", "chase_256KiB_ns", "chase_4MiB_ns",
                      "chase_64MiB_ns", "chase_16KiB_ns")
        kind = "user-space-heavy runtime"
    else:
        candidates = ("syscall_ns", "context_switch_ns", "compute_ns", "copy_gbps")
        kind = "kernel-heavy server"
    best = None
    for name, meaning, a, b, r, slow in ratios:
        if name not in candidates or slow is None or abs(slow - 1) <= FIGURE_MOVES:
            continue
        if (slow > 1) != worse:
            continue
        fit = abs(slow - point_slowdown)
        if best is None or fit < best[0]:
            best = (fit, name, slow, meaning)
    if best:
        _, name, slow, meaning = best
        return (f"{name} {slow:.2f}× {'slower' if slow > 1 else 'faster'} on the new machine "
                f"({meaning}; a {kind} tracks it)")
    return "unexplained"
