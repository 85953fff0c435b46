"""Reading lab results: the one place that knows the file names and the schema versions.

Every script goes through Run() / load_results_file(), which refuse a file of a schema version
they do not know with a clear message (ResultsError). Service results of schema 1 (closed loop
only) and 2 (adds open-loop levels and capacity at an SLO) are read into one shape: every
measurement and aggregate gets `load` ("closed" or "open") and `rate` (offered req/s, None
for closed), and the service gets a `capacity` list (empty for schema 1). Closed-loop levels
are connection counts, open-loop levels are offered rates; level() and level_text() hide the
difference, and nothing may put the two on one axis. Nothing here draws or prints; the data
model is the JSON documented in docs/results-schema.md, kept as plain dicts.
"""
import json
import os
import statistics
from pathlib import Path

import metrics

# Versions each kind of file may have; the newest is what the harness writes today.
SCHEMA_VERSIONS = {"service": (1, 2), "micro": (1,)}
SERVICE_FILE = "results.json"
MICRO_FILE = "micro.json"
NOISY_SPREAD = metrics.NOISY_SPREAD     # kept for callers; the value lives in metrics.py

REPO_ROOT = Path(os.environ.get("LAB_ROOT") or Path(__file__).resolve().parent.parent)


class ResultsError(Exception):
    """Bad input from the user or a results file: printed as one line, exit status 2."""


def load_results_file(path, kind):
    """Parses one results file and checks its schema version and kind."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file")
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path}: not valid JSON ({e})")
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: expected a JSON object at the top level")
    version = data.get("schema_version")
    known = SCHEMA_VERSIONS.get(kind, (1,))
    if version not in known:
        versions = " and ".join(str(v) for v in known)
        raise ResultsError(f"{path.name} has schema_version {version}; this script reads "
                           f"version{'s' if len(known) > 1 else ''} {versions} ({path})")
    if data.get("kind") != kind:
        raise ResultsError(f"{path}: kind is {data.get('kind')!r}, expected {kind!r}")
    data.setdefault("context", {})
    if kind == "service":
        for key in ("servers", "measurements", "aggregates", "startup", "capacity"):
            data[key] = data.get(key) or []
        for m in data["measurements"]:
            normalise_measurement(m)
            normalise_level(m)
        for agg in data["aggregates"]:
            normalise_level(agg)
    else:
        data["results"] = data.get("results") or []
    return data


class Run:
    """One run folder: service results (results.json), micro results (micro.json), or both."""

    def __init__(self, folder):
        self.folder = Path(folder)
        if not self.folder.exists():
            raise ResultsError(f"{self.folder}: no such run folder")
        if not self.folder.is_dir():
            raise ResultsError(f"{self.folder}: not a folder (give the run folder, "
                               f"not a file inside it)")
        service_path = self.folder / SERVICE_FILE
        micro_path = self.folder / MICRO_FILE
        if not service_path.exists() and not micro_path.exists():
            raise ResultsError(f"{self.folder}: holds neither {SERVICE_FILE} nor {MICRO_FILE}; "
                               f"is it a run folder? (./lab run / ./lab micro write them)")
        self.service = load_results_file(service_path, "service") if service_path.exists() else None
        self.micro = load_results_file(micro_path, "micro") if micro_path.exists() else None

    @property
    def context(self):
        return (self.service or self.micro)["context"]


def find_newest_run(results_dir=None):
    """The newest run folder under results/ (names start with a UTC timestamp)."""
    results_dir = Path(results_dir or REPO_ROOT / "results")
    candidates = [p for p in results_dir.iterdir()
                  if p.is_dir() and p.name != "published"
                  and ((p / SERVICE_FILE).exists() or (p / MICRO_FILE).exists())] \
        if results_dir.is_dir() else []
    if not candidates:
        raise ResultsError(f"no run folders under {results_dir}; run ./lab run first, "
                           f"or name a folder")
    return max(candidates, key=lambda p: p.name)


# ---- small views over the data -------------------------------------------------------

def scenario_key(record):
    """Scenario name as charts use it; pipelined runs of a scenario are a scenario of their own."""
    pipeline = record.get("pipeline") or 1
    return record["scenario"] if pipeline == 1 else f"{record['scenario']} (pipeline {pipeline})"


def scenarios(service, load=None):
    """Scenario keys in the order the run measured them; with load ("closed"/"open"), only
    those with aggregates of that kind."""
    seen = []
    for agg in service["aggregates"]:
        key = scenario_key(agg)
        if key not in seen and (load is None or load_of(agg) == load):
            seen.append(key)
    return seen


def normalise_level(record):
    """Gives a schema-1 record (closed loop only) the schema-2 fields `load` and `rate`."""
    record.setdefault("load", "closed")
    if record["load"] == "open":
        if record.get("rate") is None:
            record["rate"] = record.get("offered_rate_rps")
    else:
        record["rate"] = None


def load_of(record):
    """"open" or "closed" (schema 1 records, and hand-made ones, have no load: closed)."""
    return record.get("load") or "closed"


def is_open(record):
    return load_of(record) == "open"


def level(record):
    """The level a record was measured at: offered req/s (open loop) or connections (closed)."""
    return record["rate"] if is_open(record) else record["connections"]


def level_text(record):
    return f"{fmt_num(record['rate'])} req/s offered" if is_open(record) \
        else f"{record['connections']} connections"


def level_identity(record):
    """(server, scenario key, load, level): what a measurement and its aggregate share."""
    return (record["server"], scenario_key(record), load_of(record), level(record))


def aggregates_of(service, scenario, load):
    """server -> aggregates of one scenario and load kind, sorted by level."""
    out = {}
    for agg in service["aggregates"]:
        if scenario_key(agg) == scenario and load_of(agg) == load:
            out.setdefault(agg["server"], []).append(agg)
    for aggs in out.values():
        aggs.sort(key=level)
    return dict(sorted(out.items()))


def aggregate_stat(service, agg, metric):
    """(median, min, max) of a metric at an aggregate's level: the aggregate's own field, or,
    for metrics only measurements carry (send lag), over its ok measurements."""
    t = metric.stat(agg)
    if t is not None or not metric.measurement_path:
        return t
    ident = level_identity(agg)
    return median_min_max([metric.from_measurement(m) for m in service["measurements"]
                           if m.get("status", "ok") == "ok" and level_identity(m) == ident])


def flags_of(record):
    """The record's flags, with client_bound / noisy / overloaded added when the data say so
    but the list lacks them (older files)."""
    flags = list(record.get("flags") or [])
    extra = [("client_bound", bool(record.get("client_bound"))),
             ("noisy", metrics.REQUESTS.name in record and is_noisy(record)),
             ("overloaded", is_overloaded(record))]
    flags += [name for name, present in extra if present and name not in flags]
    return flags


def is_client_bound(record):
    return bool(record.get("client_bound")) or "client_bound" in (record.get("flags") or [])


def is_overloaded(record):
    """Open loop only: flagged by the harness, or the median achieved rate is below
    OVERLOADED_FRACTION of the offered one."""
    if not is_open(record):
        return False
    if "overloaded" in (record.get("flags") or []):
        return True
    achieved = metrics.REQUESTS.stat(record)
    offered = record.get("offered_rate_rps") or record.get("rate")
    return bool(achieved and offered) and achieved[0] < metrics.OVERLOADED_FRACTION * offered


def capacity_text(entry):
    """A capacity entry as a reader should quote it: "52,000", "≥ 40,000" when even the
    highest rate tried met the SLO, "none" when no rate did, "failed" when the search did
    not finish."""
    status = entry.get("status")
    value = entry.get(metrics.CAPACITY.name)
    if status == "all_passed":
        return f"≥ {fmt_num(value)}"
    if status == "none_passed":
        return "none"
    if status == "failed" or value is None:
        return "failed"
    return fmt_num(value)


def server_info(service):
    """name -> {model, language, reference, status, reason}, from servers and measurements."""
    info = {}
    for s in service["servers"]:
        info[s["name"]] = dict(s)
    for rec in service["measurements"] + service["aggregates"] + service["startup"]:
        entry = info.setdefault(rec["server"], {"name": rec["server"], "status": "ok",
                                                "reason": None})
        entry.setdefault("model", rec.get("model"))
        if rec.get("language"):
            entry.setdefault("language", rec.get("language"))
    for entry in info.values():
        entry.setdefault("language", "cpp")
        entry.setdefault("model", None)
    return info


def spread(triple):
    """(max - min) / median, or None."""
    if triple is None or not triple[0]:
        return None
    return (triple[2] - triple[1]) / triple[0]


def is_noisy(agg):
    if "noisy" in (agg.get("flags") or []):
        return True
    s = spread(metrics.REQUESTS.stat(agg))
    return s is not None and s > NOISY_SPREAD


def median_min_max(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return (statistics.median(values), min(values), max(values))


def context_subtitle(context):
    """One line naming the machine, the CPU layout, the date and the suite."""
    def fmt_cpus(cpus):
        return ",".join(str(c) for c in cpus) if cpus else "?"
    layout = context.get("cpu_layout") or {}
    parts = [context.get("cpu_model") or "unknown CPU",
             f"{context.get('cores') if context.get('cores') is not None else '?'} cores"]
    if layout:
        parts.append(f"server CPUs {fmt_cpus(layout.get('server_cpus'))} / "
                     f"client CPUs {fmt_cpus(layout.get('client_cpus'))}")
    date = context.get("date")
    parts.append(date[:16].replace("T", " ") + (" UTC" if date.endswith("Z") else "")
                 if date else "unknown date")
    parts.append(f"suite {context.get('suite') or '?'}")
    return " · ".join(parts)


def fmt_num(value, digits=3):
    """Human-friendly number: 3 significant digits, thousands separators for big ones."""
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def normalise_measurement(m):
    """Keeps m["server"] the server's name and the process statistics under "server_stats",
    whichever name the writer gave them (see PROCESS_KEYS)."""
    if isinstance(m.get("server"), dict):
        stats = m.pop("server")
        m.setdefault("server_stats", stats)
        m["server"] = m.get("server_name") or m.get("name") or stats.get("name") or "?"
    for key in PROCESS_KEYS:
        if isinstance(m.get(key), dict):
            m.setdefault("server_stats", m[key])


# The per-measurement block of server process statistics (CPU, RSS, threads). The schema
# draft names it "server", which collides with the server's name in the same object; accept
# the names a fixed schema may use, and "server" itself when it is an object.
PROCESS_KEYS = ("server_stats", "server_process", "process", "server")


def process_stats(measurement):
    for key in PROCESS_KEYS:
        value = measurement.get(key)
        if isinstance(value, dict):
            return value
    return {}
