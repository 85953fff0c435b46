"""Reading lab results: the one place that knows the file names and the schema version.

Every script goes through load_run() / load_results_file(), which refuse a file of another
schema version with a clear message (ResultsError). Nothing here draws or prints; the
data model is the JSON documented in docs/results-schema.md, kept as plain dicts.
"""
import json
import os
import statistics
from pathlib import Path

SCHEMA_VERSION = 1
SERVICE_FILE = "results.json"
MICRO_FILE = "micro.json"
NOISY_SPREAD = 0.10     # (max - min) / median above this is reported as noisy

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
    if version != SCHEMA_VERSION:
        raise ResultsError(f"{path.name} has schema_version {version}; "
                           f"this script reads version {SCHEMA_VERSION} ({path})")
    if data.get("kind") != kind:
        raise ResultsError(f"{path}: kind is {data.get('kind')!r}, expected {kind!r}")
    data.setdefault("context", {})
    if kind == "service":
        for key in ("servers", "measurements", "aggregates", "startup"):
            data[key] = data.get(key) or []
        for m in data["measurements"]:
            normalise_measurement(m)
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


def scenarios(service):
    seen = []
    for agg in service["aggregates"]:
        key = scenario_key(agg)
        if key not in seen:
            seen.append(key)
    return seen


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


def stat(agg, field):
    """(median, min, max) of an aggregate field, or None when absent/null."""
    value = agg.get(field)
    if not isinstance(value, dict) or value.get("median") is None:
        return None
    median = value["median"]
    return (median, value.get("min", median), value.get("max", median))


def spread(triple):
    """(max - min) / median, or None."""
    if triple is None or not triple[0]:
        return None
    return (triple[2] - triple[1]) / triple[0]


def is_noisy(agg):
    if "noisy" in (agg.get("flags") or []):
        return True
    s = spread(stat(agg, "requests_per_s"))
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
    whichever of the two the writer put under "server" (see PROCESS_KEYS)."""
    if isinstance(m.get("server"), dict):
        stats = m.pop("server")
        m.setdefault("server_stats", stats)
        m["server"] = m.get("server_name") or m.get("name") or stats.get("name") or "?"


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
