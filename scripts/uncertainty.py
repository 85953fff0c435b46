"""Uncertainty over repetitions: a distribution-free confidence interval for a median, and the
Mann-Whitney U test between two sets of repetitions (as Google Benchmark's compare.py uses it
to say whether two timings differ), with no dependency beyond the standard library.

Median CI (order statistics): for n independent samples the true median lies between the
k-th smallest and the k-th largest with probability 1 - 2·P(Binom(n, 1/2) < k), whatever the
distribution. The interval chosen is the narrowest such pair whose coverage reaches the level
asked for; with too few samples no pair does (n = 3: min–max covers only 75 %; n = 5: 94 %),
and the min–max is returned with its real coverage, never a pretended 95 %. Bootstrap would
not help there: resampling 3 values cannot know more than they do.

U test: U counts the pairs (a, b) with a > b (ties count 1/2). The two-sided p-value is exact
— enumerating every way to split the pooled values into groups of these sizes, ties included —
when that is at most EXACT_LIMIT splits, else the normal approximation with tie and
continuity corrections. With n1 = n2 = 3 the smallest possible p is 0.10: no difference of
3 vs 3 repetitions can be significant at 0.05 (4 vs 4: 0.029; 5 vs 5: 0.008).
"""
import itertools
import math

ALPHA = 0.05           # significance level of the U test where the lab reports one
CONFIDENCE = 0.95      # the confidence asked of a median's interval
EXACT_LIMIT = 20000    # exact U distribution up to this many splits of the pooled sample


def _binom_cdf_below(n, k):
    """P(Binom(n, 1/2) < k)."""
    return sum(math.comb(n, i) for i in range(0, max(0, k))) / 2 ** n


def median_ci(values, confidence=CONFIDENCE):
    """(low, high, coverage) of the order-statistics interval for the median of `values`;
    coverage is the interval's real confidence (below `confidence` when n is too small: then
    the interval is min–max). None for no values."""
    xs = sorted(v for v in values if v is not None)
    n = len(xs)
    if n == 0:
        return None
    if n == 1:
        return xs[0], xs[0], 0.0
    best = (xs[0], xs[-1], 1 - 2 * _binom_cdf_below(n, 1))
    for k in range(1, n // 2 + 1):  # k-th smallest and k-th largest (1-based)
        coverage = 1 - 2 * _binom_cdf_below(n, k)
        if coverage >= confidence:
            best = (xs[k - 1], xs[n - k], coverage)
        else:
            break
    return best


def min_p_value(n1, n2):
    """The smallest two-sided p the U test can give for groups of these sizes (no ties)."""
    if n1 == 0 or n2 == 0:
        return 1.0
    return min(1.0, 2 / math.comb(n1 + n2, n1))


def _ranks(values):
    """Mid-ranks (1-based) of values, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def mann_whitney(a, b):
    """{"u": U of a (pairs a > b, ties 1/2), "p": two-sided p, "method": "exact" | "normal",
    "n": (len a, len b)}; None when either side is empty."""
    a = [v for v in a if v is not None]
    b = [v for v in b if v is not None]
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return None
    pooled = a + b
    ranks = _ranks(pooled)
    r1 = sum(ranks[:n1])
    u = r1 - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    if math.comb(n1 + n2, n1) <= EXACT_LIMIT:
        # Every split of the pooled ranks: how often is U at least as far from its mean?
        total = n1 * (n1 + 1) / 2
        extreme = count = 0
        observed = abs(u - mean)
        for idx in itertools.combinations(range(n1 + n2), n1):
            uu = sum(ranks[i] for i in idx) - total
            count += 1
            if abs(uu - mean) >= observed - 1e-9:
                extreme += 1
        return {"u": u, "p": extreme / count, "method": "exact", "n": (n1, n2)}
    ties = {}
    for v in pooled:
        ties[v] = ties.get(v, 0) + 1
    n = n1 + n2
    tie_term = sum(t ** 3 - t for t in ties.values()) / (n * (n - 1))
    var = n1 * n2 / 12 * ((n + 1) - tie_term)
    if var <= 0:
        return {"u": u, "p": 1.0, "method": "normal", "n": (n1, n2)}
    z = max(0.0, abs(u - mean) - 0.5) / math.sqrt(var)
    p = math.erfc(z / math.sqrt(2))
    return {"u": u, "p": min(1.0, p), "method": "normal", "n": (n1, n2)}


def significant(test, alpha=ALPHA):
    """True when a mann_whitney result says the two groups differ at `alpha`."""
    return bool(test) and test["p"] < alpha


def power_note(n1, n2, alpha=ALPHA):
    """A sentence when no result of groups this size can be significant, else None."""
    if min_p_value(n1, n2) >= alpha:
        return (f"with {n1} and {n2} repetitions the U test's smallest possible p is "
                f"{min_p_value(n1, n2):.2f}: no difference can be significant at {alpha:g} "
                f"(4 and 4 repetitions reach 0.029)")
    return None


def repetition_values(service, metric):
    """{(server, scenario key, load, level): [value per repetition]} of one metric, from the
    finished measurements of a run (capacity-search steps left out)."""
    import results as res
    out = {}
    for m in service.get("measurements") or []:
        if m.get("status", "ok") != "ok" or m.get("search_step"):
            continue
        value = metric.from_measurement(m)
        if value is None:
            continue
        res.normalise_level(m)
        out.setdefault(res.level_identity(m), []).append(value)
    return out


def values_behind(aggregate, values):
    """`values` if they are the repetitions behind `aggregate`'s median (same count and the
    same median, to 0.1 %), else None: a hand-edited or partial file falls back to min–max."""
    import statistics
    if not values or len(values) < 2:
        return None
    med = aggregate.get("median") if isinstance(aggregate, dict) else aggregate
    if med is None:
        return None
    got = statistics.median(values)
    return values if abs(got - med) <= 1e-3 * max(abs(med), 1e-12) else None
