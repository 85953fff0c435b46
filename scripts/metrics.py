"""The one table of metrics and flags every script reads.

A metric says what a number is (label, unit), how to show it (scale from the stored unit,
log axis or not), which way is better, how far a reproduction may drift before it is flagged,
and where it lives in results.json (an aggregate/startup field holding {median, min, max},
a path inside a measurement, or a field of a capacity entry). charts.py, compare.py,
reproduce.py and report.py take labels, units, directions and tolerances from here and keep
no list of their own (a test greps for private copies). The flags' meanings live here too,
so the report explains each flag once in the same words a chart legend uses.

Nothing here reads files or draws; it has no imports from the other scripts.
"""
from dataclasses import dataclass
from typing import Optional, Tuple, Union

# A linear axis whose values span more than this factor squeezes the small ones into a flat
# line at zero (pipelined CPU per request: 0.8 µs for C++ beside 40 µs for Node.js).
LOG_AXIS_SPAN = 10.0

# Thresholds behind the flags (the harness applies them; the scripts only explain them, and
# use NOISY_SPREAD and OVERLOADED_FRACTION as a fallback when a flag is missing).
NOISY_SPREAD = 0.10          # (max - min) / median of requests/s above this: noisy
OVERLOADED_FRACTION = 0.95   # open loop: achieved below this fraction of offered: overloaded
CLIENT_CPU_LIMIT = 0.90      # closed loop: wrk's CPUs at least this busy: client-bound
SEND_LAG_LIMIT_MS = 1.0      # open loop: generator's send lag p99 above this: client-bound
DOWNSTREAM_CPU_LIMIT = 0.90  # gateway scenarios: the downstream's CPUs this busy: downstream-bound
# A measurement during which the hypervisor stole more than this share of the machine's CPU
# time, or other processes used more than that one (harness/runner/noise.h sets the flag).
NOISY_STEAL = 0.02
NOISY_FOREIGN = 0.05


def wants_log_axis(values):
    """The span rule: True when the positive values span more than LOG_AXIS_SPAN."""
    positive = [v for v in values if v and v > 0]
    return bool(positive) and max(positive) / min(positive) > LOG_AXIS_SPAN


@dataclass(frozen=True)
class Metric:
    name: str                    # registry key; also the field in aggregates/startup/capacity
    title: str                   # chart title, capitalised: "p99 latency"
    label: str                   # axis label without unit: "p99 latency"
    short: str                   # table column: "p99"
    unit: str                    # display unit, after `scale`: "ms"
    scale: float                 # stored value * scale = displayed value
    better: str                  # "higher" or "lower"
    # Reproduce flags a point whose new/published ratio is outside 1 +- tolerance; None: the
    # metric describes the load generator, not the server, and is never compared.
    tolerance: Optional[float]
    log_axis: Union[bool, str]   # True, False, or "auto" (log when values span > LOG_AXIS_SPAN)
    source: str                  # "aggregates", "startup" or "capacity"
    chart: Optional[str]         # chart-file prefix and reproduce's metric name; None: no chart
    # Where one measurement holds it (a path of keys), for metrics aggregates do not carry.
    measurement_path: Optional[Tuple[str, ...]] = None

    def axis_label(self, log=False):
        return f"{self.label}, {self.unit}{' (log)' if log else ''} ({self.better} is better)"

    def column(self):
        """Table header with the unit: 'p99 ms'."""
        return f"{self.short} {self.unit}"

    def stat(self, record):
        """(median, min, max) in the stored unit from an aggregate or startup record, or None.
        For a capacity entry (a scalar field) the triple repeats the value."""
        value = record.get(self.name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (value, value, value)
        if not isinstance(value, dict) or value.get("median") is None:
            return None
        median = value["median"]
        return (median, value.get("min", median), value.get("max", median))

    def from_measurement(self, measurement):
        """The value in one measurement, in the stored unit, or None."""
        value = measurement
        for key in self.measurement_path or ():
            value = value.get(key) if isinstance(value, dict) else None
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    def shown(self, value):
        return None if value is None else value * self.scale

    def use_log(self, values):
        """Whether a chart of these displayed values takes a log y axis."""
        return wants_log_axis(values) if self.log_axis == "auto" else bool(self.log_axis)


# Tolerances: a different CPU, kernel, turbo state and a busy neighbour move absolute
# throughput by 10-20% between machines of the same class, so +-25% on throughput (and on
# CPU/request and RSS) separates "your machine differs" from "the story changed". Tail
# latency is far noisier (one descheduling shows up at p99): +-50%, and the same for startup
# time, which the page cache and the JIT move a lot.
_LAT = dict(unit="ms", scale=1e-3, better="lower", tolerance=0.50, log_axis=True,
            source="aggregates")
METRICS = [
    Metric("requests_per_s", "Throughput", "throughput", "req/s", "requests/s", 1.0, "higher",
           0.25, "auto", "aggregates", "throughput", ("requests_per_s",)),
    Metric("latency_p50_us", "Median (p50) latency", "p50 latency", "p50", chart="latency_p50",
           measurement_path=("latency_us", "p50"), **_LAT),
    Metric("latency_p99_us", "p99 latency", "p99 latency", "p99", chart="latency_p99",
           measurement_path=("latency_us", "p99"), **_LAT),
    Metric("latency_p99_9_us", "p99.9 latency", "p99.9 latency", "p99.9", chart="latency_p99_9",
           measurement_path=("latency_us", "p99_9"), **_LAT),
    Metric("latency_p99_99_us", "p99.99 latency", "p99.99 latency", "p99.99",
           chart="latency_p99_99", measurement_path=("latency_us", "p99_99"), **_LAT),
    Metric("cpu_us_per_request", "Server CPU per request", "server CPU per request", "CPU/req",
           "µs", 1.0, "lower", 0.25, "auto", "aggregates", "cpu_per_request",
           ("server_stats", "cpu_us_per_request")),
    Metric("rss_peak_kb", "Peak memory (RSS)", "peak RSS", "peak RSS", "MiB", 1 / 1024, "lower",
           0.25, False, "aggregates", "rss_peak", ("server_stats", "rss_peak_kb")),
    Metric("send_lag_p99_us", "Load generator send lag (p99)", "send lag p99", "send lag p99",
           "ms", 1e-3, "lower", None, True, "aggregates", None, ("send_lag_us", "p99")),
    Metric("time_to_first_response_ms", "Startup time", "time from exec to first response",
           "startup", "ms", 1.0, "lower", 0.50, True, "startup", None),
    Metric("idle_rss_kb", "Idle memory (RSS)", "idle RSS right after start", "idle RSS", "MiB",
           1 / 1024, "lower", 0.25, False, "startup", None),
    Metric("capacity_rps", "Capacity at the latency SLO", "capacity at SLO", "capacity",
           "requests/s", 1.0, "higher", 0.25, False, "capacity", "capacity"),
    # Gateway scenarios (/gateway, issue 11): what the downstream beside the server did. They
    # describe the downstream and the scenario, not the server: never compared (tolerance None).
    Metric("downstream_calls_per_request", "Downstream calls per gateway request",
           "downstream calls per request", "calls/req", "calls", 1.0, "lower", None, False,
           "aggregates", None, ("downstream", "calls_per_request")),
    Metric("downstream_cpu_utilization", "Downstream CPU utilization", "downstream CPU",
           "downstream CPU", "%", 100.0, "lower", None, False, "aggregates", None,
           ("downstream", "cpu_utilization")),
]
BY_NAME = {m.name: m for m in METRICS}
BY_CHART = {m.chart: m for m in METRICS if m.chart}

REQUESTS = BY_NAME["requests_per_s"]
P50 = BY_NAME["latency_p50_us"]
P99 = BY_NAME["latency_p99_us"]
P99_9 = BY_NAME["latency_p99_9_us"]
P99_99 = BY_NAME["latency_p99_99_us"]
CPU = BY_NAME["cpu_us_per_request"]
RSS = BY_NAME["rss_peak_kb"]
SEND_LAG = BY_NAME["send_lag_p99_us"]
STARTUP = BY_NAME["time_to_first_response_ms"]
IDLE_RSS = BY_NAME["idle_rss_kb"]
CAPACITY = BY_NAME["capacity_rps"]
DOWNSTREAM_CALLS = BY_NAME["downstream_calls_per_request"]
DOWNSTREAM_CPU = BY_NAME["downstream_cpu_utilization"]

# Which metrics each view shows, by name (the descriptions stay in METRICS).
CLOSED_CHARTS = [REQUESTS, P99, CPU]               # one chart each vs connections
OPEN_LATENCIES = [P50, P99, P99_9]                 # panels of "latency vs offered load"
COMPARE_CLOSED = [REQUESTS, P99, CPU, RSS]
COMPARE_OPEN = [REQUESTS, P50, P99, P99_9, CPU, RSS]
# reproduce re-runs service scenarios: metrics found in aggregates or in the capacity array
REPRODUCIBLE = {m.chart: m for m in METRICS if m.chart and m.source in ("aggregates", "capacity")}

# Percentiles a measurement's latency_us may hold: (key, quantile, tick label).
PERCENTILES = [("p50", 0.50, "50%"), ("p75", 0.75, "75%"), ("p90", 0.90, "90%"),
               ("p99", 0.99, "99%"), ("p99_9", 0.999, "99.9%"), ("p99_99", 0.9999, "99.99%")]


# ---- flags ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Flag:
    name: str
    title: str                          # "Client-bound"
    meaning: str                        # what it means (closed loop, or both)
    meaning_open: Optional[str] = None  # when it means something else under open-loop load
    chart_note: Optional[str] = None    # legend text where charts mark it
    chart_note_open: Optional[str] = None

    def explain(self, load="closed"):
        return self.meaning_open if load == "open" and self.meaning_open else self.meaning

    def note(self, load="closed"):
        return self.chart_note_open if load == "open" and self.chart_note_open else \
            self.chart_note


FLAGS = {f.name: f for f in [
    Flag("client_bound", "Client-bound",
         f"closed loop (wrk): the load generator's CPUs were ≥ {CLIENT_CPU_LIMIT:.0%} busy, so "
         f"the throughput is a floor for the server, not its limit",
         f"open loop (lab_load): the generator's send lag p99 exceeded {SEND_LAG_LIMIT_MS:g} ms "
         f"(it fell behind its schedule), so the offered rate was not really offered and the "
         f"latencies understate what a steady client would see",
         f"hollow marker = client-bound (load generator ≥ {CLIENT_CPU_LIMIT:.0%} busy: a floor)",
         f"hollow marker = client-bound (generator's send lag p99 > {SEND_LAG_LIMIT_MS:g} ms: "
         f"it fell behind its schedule)"),
    Flag("errors", "Errors", "socket errors or non-2xx responses during the measurement"),
    Flag("noisy", "Noisy",
         f"the requests/s spread (max−min)/median over the repetitions is above "
         f"{NOISY_SPREAD:.0%}: read the point with its band"),
    Flag("starved", "Starved",
         "a connection opened during the run (the canary) waited too long without an answer: "
         "some connections are not being served, and throughput counts only the served ones"),
    Flag("server_died", "Server died", "the server process died during the measurement"),
    Flag("overloaded", "Overloaded",
         f"open loop: the achieved rate was below {OVERLOADED_FRACTION:.0%} of the offered "
         f"rate: the server could not keep up, its queue grew during the run, and the point's "
         f"latency is that of a growing backlog, not of the offered rate",
         chart_note=f"× = overloaded: achieved < {OVERLOADED_FRACTION:.0%} of offered"),
    Flag("downstream_bound", "Downstream-bound",
         f"a gateway scenario: the downstream service's CPUs were ≥ {DOWNSTREAM_CPU_LIMIT:.0%} "
         f"busy (it shares the client CPUs with the load generator), so the gateway may have "
         f"waited on a busy downstream rather than on its delays: the number is a floor for "
         f"the server and says more about the downstream than about it",
         chart_note=f"red outline = downstream-bound (downstream CPU ≥ "
                    f"{DOWNSTREAM_CPU_LIMIT:.0%}: a floor for the server)"),
    Flag("noisy_machine", "Noisy machine",
         f"during the measurement the hypervisor stole more than {NOISY_STEAL:.0%} of the "
         f"machine's CPU time or other processes used more than {NOISY_FOREIGN:.0%} of it "
         f"(/proc/stat minus the server, the load generator, the downstream and the harness): "
         f"the number is from a busy machine, not a property of the server"),
]}
