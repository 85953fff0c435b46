"""Which runs the claims read: every run folder has a kind, and the newest of each kind wins.

Kinds: a service run is named by its suite (quick, full, baseline, c10k, latency, gateway,
warmup; cpu_bound runs are "cpu_bound@1" or "cpu_bound@2" by their number of server CPUs,
because claim 7 compares the two); "micro" (micro.json), "bench_load" (benchmark.json),
"deploy_size" (deploy_size.json from ./lab deploy-size), "build_time" (build_time.json from
./lab build-time) and "hol" (hol.json from ./lab workshop hol). A folder holding none of these
files is not a run (ClaimsError).
"""
import json
from pathlib import Path

import results as res

# The lab's other tools' run folders. No claim reads `./lab attack`'s table, but it is a run:
# `./lab claims results/published/*/` must not stop at it.
TOOL_FILES = {"deploy_size": "deploy_size.json", "build_time": "build_time.json",
              "bench_load": "benchmark.json", "hol": "hol.json", "attack": "attack.json"}


class ClaimsError(res.ResultsError):
    """Bad input from the user: one line on stderr, exit status 2."""


class ToolRun:
    """A run folder written by a measuring script (not lab_harness): its JSON as a dict."""

    def __init__(self, folder, kind, data):
        self.folder = Path(folder)
        self.kind = kind
        self.data = data

    @property
    def context(self):
        return self.data.get("context") or {}


def kinds_of(folder):
    """[(kind, run object)] for one run folder; raises ClaimsError if it is not a run."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ClaimsError(f"{folder}: {'no such folder' if not folder.exists() else 'not a folder'}"
                          f" (give run folders, e.g. results/published/<time>-quick)")
    found = []
    if (folder / res.SERVICE_FILE).exists() or (folder / res.MICRO_FILE).exists():
        run = res.Run(folder)
        if run.service:
            found.append((service_kind(run.service), run))
        if run.micro:
            found.append(("micro", run))
    for kind, name in TOOL_FILES.items():
        path = folder / name
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as e:
                raise ClaimsError(f"{path}: not valid JSON ({e})")
            found.append((kind, ToolRun(folder, kind, data)))
    if not found:
        names = ", ".join([res.SERVICE_FILE, res.MICRO_FILE] + list(TOOL_FILES.values()))
        raise ClaimsError(f"{folder}: not a run folder (it holds none of {names}); "
                          f"./lab run, ./lab micro, ./lab deploy-size and ./lab build-time "
                          f"write them")
    return found


def service_kind(service):
    suite = service["context"].get("suite") or (service.get("suite") or {}).get("name") or "?"
    if service["context"].get("hosts"):
        # Through a hosts file (--hosts): another layout, never the evidence of a local run
        # of the same suite (a test-bed run shares one machine's cores by design).
        return f"{suite}@hosts"
    if suite == "cpu_bound":
        cpus = (service["context"].get("cpu_layout") or {}).get("server_cpus") or []
        return f"cpu_bound@{len(cpus) or '?'}"
    return suite


def default_folders(root=None):
    """Every run folder under results/ and results/published/ (those that are runs)."""
    root = Path(root or res.REPO_ROOT / "results")
    out = []
    for base in (root, root / "published"):
        if base.is_dir():
            out += [p for p in base.iterdir() if p.is_dir() and p.name != "published"
                    and any((p / f).exists() for f in
                            (res.SERVICE_FILE, res.MICRO_FILE, *TOOL_FILES.values()))]
    return out


def newest_by_kind(folders):
    """kind -> run object: the newest folder (names start with a UTC timestamp) of each kind.
    A folder that is not a run raises ClaimsError."""
    chosen = {}
    for folder in folders:
        for kind, run in kinds_of(folder):
            if kind not in chosen or Path(folder).name >= chosen[kind].folder.name:
                chosen[kind] = run
    return chosen
