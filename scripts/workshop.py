#!/usr/bin/env python3
"""./lab workshop check | hol | exercises: the workshop's helpers (docs/workshop/).

  check        is this machine ready? packages, built servers and runtimes, and a 1-second
               smoke measurement; under 2 minutes; exit 1 with what to fix
  hol          head-of-line blocking: cheap /plaintext requests (open loop, 100/s) beside
               CPU-bound /compute?n=1000000 (closed loop, 4 connections), per server, against
               the cheap requests alone; writes results/<time>-hol/hol.json and hol.png, which
               ./lab claims reads (claim 7)
  exercises    prints each exercise's one command (with --duration S: that duration)
  smoke        runs every exercise's command with --duration S (CI: 1 s, ctest label
               workshop) into a temporary folder, calling the built tools directly (no build)
"""
import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(os.environ.get("LAB_ROOT") or Path(__file__).resolve().parent.parent)
BIN = Path(os.environ.get("LAB_BIN") or ROOT / "build" / "release" / "bin")
HOST = "127.0.0.1"
HOL_SERVERS = "event_loop,event_loop+tbb,coroutine,coroutine+tbb,go_nethttp,node_http"

# The exercises (docs/workshop/NN-*.md): number, title, command with {d} for the duration in
# seconds. CI runs each with d = 1 (ctest label workshop).
EXERCISES = [
    (1, "thread vs goroutine vs coroutine", "./lab micro --quick --only cpp,go"),
    (2, "c10k", "./lab run --suite c10k --servers event_loop,thread_per_request,go_nethttp "
                "--duration {d} --no-plot"),
    (3, "the thread pool starving", "./lab run --suite quick --servers thread_pool,event_loop "
                                    "--scenarios sleep --duration {d} --startup-runs 0"),
    (4, "head-of-line blocking and the TBB remedy",
     "./lab workshop hol --servers event_loop,event_loop+tbb,node_http --duration {d}"),
    (5, "latency vs offered load, coordinated omission",
     "./lab bench-load --only stall --duration {d}"),
    (6, "the gateway fan-out", "./lab run --suite gateway --servers coroutine,go_nethttp "
                               "--scenarios fanout4_parallel,fanout4_sequential --duration {d} "
                               "--startup-runs 0"),
    (7, "GC and p99", "./lab run --suite latency --servers go_nethttp,java_threads,node_http "
                      "--scenarios plaintext_latency --duration {d}"),
]
DEFAULT_DURATION = {1: 0, 2: 3, 3: 3, 4: 5, 5: 10, 6: 2, 7: 2}


def exercise_commands(duration=None):
    return [(n, title, cmd.format(d=duration if duration is not None else DEFAULT_DURATION[n]))
            for n, title, cmd in EXERCISES]


# ---- starting one server from its server.json -------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_argv(name, port, threads, tmp):
    """argv of server `name` (or `name+variant`) from its server.json."""
    base, _, variant = name.partition("+")
    for path in sorted(ROOT.glob("servers/*/server.json")) + \
            sorted(ROOT.glob("servers/reference/*/server.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        if spec["name"] != base:
            continue
        extra = (spec.get("variants") or {}).get(variant) if variant else []
        if extra is None:
            raise SystemExit(f"workshop: {base} has no variant {variant!r}")
        values = {"{bin}": str(BIN), "{root}": str(ROOT), "{port}": str(port), "{host}": HOST,
                  "{threads}": str(threads), "{idle_timeout}": "30", "{tmp}": str(tmp),
                  "{downstream}": "127.0.0.1:9"}   # no gateway here
        argv = []
        for arg in spec["start"] + extra:
            for k, v in values.items():
                arg = arg.replace(k, v)
            argv.append(arg)
        return argv
    raise SystemExit(f"workshop: no server named {base} (./lab list)")


class Server:
    """A server pinned to `cpus`, ready when it prints its listening line; stop() ends it."""

    def __init__(self, name, cpus, tmp):
        self.port = free_port()
        self.log = Path(tmp) / f"{name}.log"
        argv = server_argv(name, self.port, len(cpus.split(",")) if "-" not in cpus else 2, tmp)
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(["taskset", "-c", cpus] + argv, cwd=ROOT, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"workshop: {name} exited: {self.log.read_text()[-600:]}")
            if f"listening on {HOST}:{self.port}" in self.log.read_text():
                return
            time.sleep(0.02)
        self.stop()
        raise SystemExit(f"workshop: {name} not ready within 30 s ({self.log})")

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def lab_load(args, json_path, cpu, duration):
    """Starts a pinned lab_load; returns the Popen (its report goes to json_path)."""
    return subprocess.Popen(["taskset", "-c", cpu, str(BIN / "lab_load"), *args, "--duration",
                             str(duration), "--json", str(json_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(proc, json_path, duration):
    try:
        _, err = proc.communicate(timeout=duration + 20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise SystemExit("workshop: lab_load did not finish in time")
    if proc.returncode not in (0, 1) or not Path(json_path).exists():
        raise SystemExit(f"workshop: lab_load failed: {err[-400:]}")
    return json.loads(Path(json_path).read_text(encoding="utf-8"))


def hol_one(name, server_cpus, client_cpu, duration, tmp):
    """{server, alone: cheap latency alone, beside: cheap latency beside /compute, compute_rps}"""
    server = Server(name, server_cpus, tmp)
    try:
        url = f"http://{HOST}:{server.port}"
        cheap = ["--url", url + "/plaintext", "--rate", "100", "--connections", "64"]
        alone = finish(lab_load(cheap, Path(tmp) / f"{name}-alone.json", client_cpu, duration),
                       Path(tmp) / f"{name}-alone.json", duration)
        heavy = lab_load(["--url", url + "/compute?n=1000000", "--connections", "4",
                          "--timeout", "30"], Path(tmp) / f"{name}-compute.json", client_cpu,
                         duration)
        time.sleep(0.3)   # the computations are running before the cheap requests start
        beside = finish(lab_load(cheap, Path(tmp) / f"{name}-beside.json", client_cpu, duration),
                        Path(tmp) / f"{name}-beside.json", duration)
        compute = finish(heavy, Path(tmp) / f"{name}-compute.json", duration)
    finally:
        server.stop()
    return {"server": name, "alone": alone["latency_us"], "beside": beside["latency_us"],
            "beside_errors": beside["errors"], "compute_rps": compute["achieved_rate"]}


def hol_command(args):
    if not (BIN / "lab_load").exists():
        print(f"workshop: {BIN / 'lab_load'} missing (./lab build)", file=sys.stderr)
        return 2
    cores = os.cpu_count() or 1
    server_cpus, client_cpu = ("0", "1") if cores >= 2 else ("0", "0")
    rows = []
    with tempfile.TemporaryDirectory(prefix="lab-hol-") as tmp:
        for name in args.servers.split(","):
            print(f"hol: {name} ({args.duration} s alone, {args.duration} s beside /compute)",
                  file=sys.stderr)
            rows.append(hol_one(name, server_cpus, client_cpu, args.duration, tmp))
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = {"schema_version": 1, "kind": "hol", "servers": rows,
            "context": {"date": date, "host": socket.gethostname(), "cores": cores,
                        "cpu_layout": {"server_cpus": [int(server_cpus)],
                                       "client_cpus": [int(client_cpu)]},
                        "duration_s": args.duration, "cheap_rate": 100,
                        "compute_path": "/compute?n=1000000", "compute_connections": 4}}
    folder = Path(args.out) / f"{date.replace('-', '').replace(':', '')}-hol"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hol.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"{'server':<16} {'cheap p99 alone':>16} {'beside /compute':>16} {'compute req/s':>14}")
    for r in rows:
        print(f"{r['server']:<16} {fmt_ms(r['alone'].get('p99')):>16} "
              f"{fmt_ms(r['beside'].get('p99')):>16} {r['compute_rps']:>14.0f}")
    from claim_checks import drawing
    bars = [(f"{r['server']} {when}", r["server"].split("+")[0] if when == "alone" else
             "thread_pool" if "+tbb" in r["server"] else r["server"],
             (r[when].get("p99") or 0) / 1000, None, None)
            for r in rows for when in ("alone", "beside")]
    drawing.bar_chart(folder, "hol", "Cheap requests beside CPU-bound ones: p99 of /plaintext",
                      dict(data["context"], suite="hol"), bars, "p99 of /plaintext, ms (log)",
                      log=True)
    print(f"wrote {folder / 'hol.json'} and {folder / 'hol.png'}")
    return 0


def fmt_ms(us):
    return "–" if us is None else f"{us / 1000:.2f} ms"


# ---- check ------------------------------------------------------------------------------

def check_command(args):
    problems, notes = [], []
    lab_text = (ROOT / "lab").read_text(encoding="utf-8")
    start = lab_text.index("PACKAGES=(") + len("PACKAGES=(")
    packages = lab_text[start:lab_text.index(")", start)].split()
    missing = [p for p in packages if not p.startswith("#") and subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True
    ).stdout.find("install ok installed") < 0]
    if "nodejs" in missing and shutil.which("node"):
        missing.remove("nodejs")
    if missing:
        problems.append(f"missing packages: {' '.join(missing)} (./lab setup installs them)")
    for tool in ("taskset", "wrk", "go", "java", "node"):
        if not shutil.which(tool):
            problems.append(f"{tool} not on PATH")
    for exe in ("lab_harness", "lab_load", "event_loop", "thread_pool", "thread_per_request",
                "coroutine", "fiber", "go_nethttp", "lab_reference.jar", "micro_bench"):
        if not (BIN / exe).exists():
            problems.append(f"{BIN / exe} not built (./lab build)")
    cores = os.cpu_count() or 1
    if cores < 2:
        notes.append("1 CPU: server and load generator share it; numbers will differ from the "
                     "published 2-core runs (see the instructor guide)")
    if not problems:
        with tempfile.TemporaryDirectory(prefix="lab-check-") as tmp:
            started = time.monotonic()
            r = subprocess.run([str(BIN / "lab_harness"), "run", "--suite", "quick", "--servers",
                                "event_loop,go_nethttp", "--scenarios", "plaintext",
                                "--duration", "1", "--startup-runs", "0", "--no-plot",
                                "--out", tmp], capture_output=True, text=True, timeout=110)
            if r.returncode != 0:
                problems.append(f"1-second smoke run failed: {(r.stderr or r.stdout)[-600:]}")
            else:
                notes.append(f"1-second smoke run of event_loop and go_nethttp: ok "
                             f"({time.monotonic() - started:.0f} s)")
    for n in notes:
        print(f"check: {n}")
    if problems:
        for p in problems:
            print(f"check: NOT READY: {p}", file=sys.stderr)
        return 1
    print("check: ready for the workshop")
    return 0


def first_server_only(words):
    """The words with --servers cut to its first server (CI's budget: the smoke checks that
    each command works, one server is enough for that)."""
    words = list(words)
    if "--servers" in words:
        k = words.index("--servers") + 1
        words[k] = words[k].split(",")[0]
    return words


def direct_argv(command, out, first_only=False):
    """An exercise's ./lab command as the tool it runs (no package check, no build), writing
    into `out`: what CI can run from inside ctest."""
    words = command.split()[1:]
    if first_only:
        words = first_server_only(words)
    sub, rest = words[0], words[1:]
    if sub == "run":
        plot = [] if "--no-plot" in rest else ["--no-plot"]
        return [str(BIN / "lab_harness"), "run", *rest, *plot, "--out", str(out)]
    if sub == "micro":
        return [str(ROOT / "micro" / "run"), *rest, "--out", str(Path(out) / "micro")]
    if sub == "bench-load":
        return [sys.executable, str(ROOT / "harness/load/benchmark.py"), *rest, "--out", str(out)]
    if sub == "workshop":
        return [sys.executable, str(Path(__file__).resolve()), *rest, "--out", str(out)]
    raise SystemExit(f"workshop: no direct form of {command!r}")


def smoke_command(args):
    failed = 0
    with tempfile.TemporaryDirectory(prefix="lab-workshop-smoke-") as tmp:
        for n, title, command in exercise_commands(args.duration):
            started = time.monotonic()
            try:
                r = subprocess.run(direct_argv(command, tmp, args.first_server_only),
                                   capture_output=True, text=True,
                                   timeout=240, cwd=ROOT)
                ok, tail = r.returncode == 0, (r.stderr or r.stdout)[-800:]
            except subprocess.TimeoutExpired:
                ok, tail = False, "timed out after 240 s"
            took = time.monotonic() - started
            print(f"exercise {n} ({title}): {'ok' if ok else 'FAILED'} in {took:.0f} s: {command}")
            if not ok:
                failed += 1
                print(tail, file=sys.stderr)
    return 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="./lab workshop", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="is this machine ready? (< 2 minutes)")
    hol = sub.add_parser("hol", help="cheap requests beside CPU-bound ones, per server")
    hol.add_argument("--servers", default=HOL_SERVERS, help=f"default {HOL_SERVERS}")
    hol.add_argument("--duration", type=int, default=5, help="seconds per phase (default 5)")
    hol.add_argument("--out", default=ROOT / "results", help="folder for the run folder")
    ex = sub.add_parser("exercises", help="each exercise's command")
    ex.add_argument("--duration", type=int, help="override every exercise's duration")
    smoke = sub.add_parser("smoke", help="run every exercise's command (CI)")
    smoke.add_argument("--duration", type=int, default=1, help="seconds (default 1)")
    smoke.add_argument("--first-server-only", action="store_true",
                       help="run each command with the first of its --servers (CI's budget)")
    args = parser.parse_args(argv)
    if args.command == "smoke":
        return smoke_command(args)
    if args.command == "check":
        return check_command(args)
    if args.command == "hol":
        if args.duration < 1:
            print("workshop: --duration must be >= 1", file=sys.stderr)
            return 2
        return hol_command(args)
    for n, title, cmd in exercise_commands(args.duration):
        print(f"{n}\t{title}\t{cmd}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
