#!/usr/bin/python3
"""The lab_load benchmark (docs/open-loop.md): is the open-loop generator right and fast enough?

1. closed: lab_load in closed mode vs wrk, /plaintext at 256 connections, against event_loop
   and nginx: throughput and the generator's own CPU per request (3 repetitions, medians with
   min-max).
2. ceiling: the highest rate lab_load sustains on one client core against nginx with its send
   lag p99 under 1 ms and achieved >= 99% of offered (rising rates, one run each).
3. stall: what coordinated omission hides. event_loop at about half its capacity for 10 s,
   stopped (SIGSTOP) for 1 s at t = 4 s: lab_load's open-loop percentiles against wrk's at the
   same average load (wrk with as few connections as reach it). Writes a percentile-spectrum
   chart.

Server on CPU 0, generator on CPU 1 (taskset). Loopback only; every run is bounded in time.
Writes <out>/benchmark.json and <out>/stall_spectrum.png; prints a summary.

usage: ./lab bench-load [--out DIR] [--only closed,ceiling,stall] [--duration S] [--reps N]
"""
import argparse
import datetime
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(os.environ.get("LAB_ROOT", Path(__file__).resolve().parents[2]))
BIN = Path(os.environ.get("LAB_BIN", ROOT / "build" / "release" / "bin"))
SERVER_CPU, CLIENT_CPU = "0", "1"
HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_spec(name):
    for path in list(ROOT.glob("servers/*/server.json")) + list(ROOT.glob("servers/reference/*/server.json")):
        spec = json.loads(path.read_text())
        if spec["name"] == name:
            return spec
    raise SystemExit(f"bench-load: no server named {name}")


class Server:
    """One server from its server.json, pinned to the server CPU, ready on its listening line."""

    def __init__(self, name, tmp):
        self.name = name
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp))
        values = {"{bin}": str(BIN), "{root}": str(ROOT), "{port}": str(self.port), "{host}": HOST,
                  "{threads}": "1", "{idle_timeout}": "30", "{tmp}": str(self.tmp),
                  "{downstream}": "127.0.0.1:9"}  # no gateway here: nothing listens
        argv = []
        for arg in server_spec(name)["start"]:
            for k, v in values.items():
                arg = arg.replace(k, v)
            argv.append(arg)
        self.out = open(self.tmp / "stdout.txt", "w+")
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + argv, cwd=ROOT, stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"bench-load: {name} exited: {(self.tmp / 'stdout.txt').read_text()[-800:]}")
            if f"listening on {HOST}:{self.port}" in (self.tmp / "stdout.txt").read_text():
                return
            time.sleep(0.02)
        self.stop()
        raise SystemExit(f"bench-load: {name} not ready within 30 s")

    def signal(self, sig):
        os.killpg(self.proc.pid, sig)

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGCONT)
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def url(self, path="/plaintext"):
        return f"http://{HOST}:{self.port}{path}"


def run_child(argv, timeout, env=None):
    """Runs a pinned generator; returns (completed process, its user+sys CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(["taskset", "-c", CLIENT_CPU] + argv, capture_output=True, text=True,
                          timeout=timeout, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc, cpu


def wrk(url, connections, duration, work):
    out = work / f"wrk-{time.monotonic_ns()}.json"
    env = dict(os.environ, LAB_WRK_OUT=str(out), LAB_WRK_PIPELINE="1")
    proc, cpu = run_child(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "5s",
                           "-s", str(ROOT / "harness/runner/report.lua"), url],
                          timeout=duration + 30, env=env)
    if proc.returncode != 0 or not out.exists():
        raise SystemExit(f"bench-load: wrk failed: {proc.stderr[-500:]}")
    r = json.loads(out.read_text())
    secs = r["duration_us"] / 1e6
    return {"generator": "wrk", "connections": connections, "requests": r["requests"],
            "requests_per_s": r["requests"] / secs, "client_cpu_s": cpu,
            "cpu_us_per_request": cpu / max(1, r["requests"]) * 1e6,
            "latency_us": r["latency_us"], "errors": r["errors"]}


def lab_load(args, duration, work):
    out = work / f"lab_load-{time.monotonic_ns()}.json"
    proc, cpu = run_child([str(BIN / "lab_load")] + args + ["--duration", str(duration), "--json", str(out)],
                          timeout=duration + 40)
    if not out.exists():
        raise SystemExit(f"bench-load: lab_load failed ({proc.returncode}): {proc.stderr[-500:]}")
    r = json.loads(out.read_text())
    r["client_cpu_s_measured"] = cpu
    r["cpu_us_per_request"] = cpu / max(1, r["responses"]) * 1e6
    r["requests_per_s"] = r["achieved_rate"]
    return r


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "samples": values}


def bench_closed(tmp, duration, reps):
    rows = []
    for name in ["event_loop", "nginx"]:
        server = Server(name, tmp)
        try:
            wrk(server.url(), 256, 2, tmp)  # warm-up
            runs = {"wrk": [], "lab_load": []}
            for rep in range(reps):
                for gen in (["wrk", "lab_load"] if rep % 2 == 0 else ["lab_load", "wrk"]):
                    if gen == "wrk":
                        runs[gen].append(wrk(server.url(), 256, duration, tmp))
                    else:
                        runs[gen].append(lab_load(["--url", server.url(), "--connections", "256"], duration, tmp))
                    print(f"  closed {name} {gen} rep {rep + 1}: {runs[gen][-1]['requests_per_s']:.0f} req/s, "
                          f"{runs[gen][-1]['cpu_us_per_request']:.2f} us CPU/request", flush=True)
        finally:
            server.stop()
        row = {"server": name}
        for gen, rs in runs.items():
            row[gen] = {"requests_per_s": spread([r["requests_per_s"] for r in rs]),
                        "cpu_us_per_request": spread([r["cpu_us_per_request"] for r in rs]),
                        "latency_p99_us": spread([r["latency_us"]["p99"] for r in rs])}
        row["throughput_ratio"] = row["lab_load"]["requests_per_s"]["median"] / row["wrk"]["requests_per_s"]["median"]
        row["cpu_ratio"] = row["lab_load"]["cpu_us_per_request"]["median"] / row["wrk"]["cpu_us_per_request"]["median"]
        rows.append(row)
    return rows


def bench_ceiling(tmp, duration):
    server = Server("nginx", tmp)
    points = []
    try:
        wrk(server.url(), 256, 2, tmp)
        for rate in [20000, 40000, 60000, 80000, 90000, 100000, 110000, 120000, 140000]:
            r = lab_load(["--url", server.url(), "--rate", str(rate), "--connections", "1024"], duration, tmp)
            ok = r["send_lag_us"]["p99"] < 1000 and r["achieved_rate"] >= 0.99 * rate
            points.append({"rate": rate, "achieved_rate": r["achieved_rate"], "send_lag_us": r["send_lag_us"],
                           "latency_us": r["latency_us"], "errors": r["errors"],
                           "cpu_us_per_request": r["cpu_us_per_request"],
                           "connections_opened": r.get("connections_opened"), "sustained": ok})
            print(f"  ceiling nginx {rate}/s: achieved {r['achieved_rate']:.0f}, send lag p99 "
                  f"{r['send_lag_us']['p99']:.0f} us, p99 {r['latency_us']['p99']:.0f} us -> "
                  f"{'sustained' if ok else 'NOT sustained'}", flush=True)
            if not ok and r["achieved_rate"] < 0.9 * rate:
                break
    finally:
        server.stop()
    sustained = [p["rate"] for p in points if p["sustained"]]
    return {"points": points, "highest_sustained_rate": max(sustained) if sustained else None}


def with_stall(server, at_s, stall_s):
    """A thread that stops the server at `at_s` for `stall_s` (SIGSTOP / SIGCONT)."""
    def run():
        time.sleep(at_s)
        server.signal(signal.SIGSTOP)
        time.sleep(stall_s)
        server.signal(signal.SIGCONT)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def bench_stall(tmp, duration=10, at_s=4.0, stall_s=1.0):
    server = Server("event_loop", tmp)
    try:
        capacity = wrk(server.url(), 64, 3, tmp)["requests_per_s"]
        rate = int(capacity / 2)
        # wrk at the same average load: the fewest connections whose closed-loop rate reaches it.
        wrk_connections = 1
        while wrk_connections < 64 and wrk(server.url(), wrk_connections, 2, tmp)["requests_per_s"] < rate:
            wrk_connections *= 2
        print(f"  stall: capacity ~{capacity:.0f} req/s; open-loop at {rate}/s; wrk with {wrk_connections} "
              f"connection(s)", flush=True)
        t = with_stall(server, at_s, stall_s)
        open_loop = lab_load(["--url", server.url(), "--rate", str(rate), "--connections", "1024"], duration, tmp)
        t.join()
        no_stall = lab_load(["--url", server.url(), "--rate", str(rate), "--connections", "1024"], duration, tmp)
        t = with_stall(server, at_s, stall_s)
        closed = wrk(server.url(), wrk_connections, duration, tmp)
        t.join()
        # The same closed loop without wrk's after-the-fact correction (wrk 4.1 adds synthetic
        # samples for replies slower than twice the mean interval): lab_load's closed mode.
        t = with_stall(server, at_s, stall_s)
        closed_plain = lab_load(["--url", server.url(), "--connections", str(wrk_connections)], duration, tmp)
        t.join()
    finally:
        server.stop()
    return {"capacity_rps": capacity, "rate": rate, "duration_s": duration, "stall_at_s": at_s,
            "stall_s": stall_s, "wrk_connections": wrk_connections,
            "lab_load_with_stall": {k: open_loop[k] for k in ("achieved_rate", "latency_us", "send_lag_us", "errors", "histogram")},
            "lab_load_without_stall": {k: no_stall[k] for k in ("achieved_rate", "latency_us", "send_lag_us", "errors")},
            "wrk_with_stall": closed,
            "lab_load_closed_with_stall": {k: closed_plain[k] for k in ("achieved_rate", "latency_us", "errors")}}


def stall_chart(stall, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    pcts = ["p50", "p90", "p99", "p99_9"]
    xs = [50, 90, 99, 99.9]
    nines = [-__import__("math").log10(1 - x / 100) for x in xs]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    series = [("lab_load open-loop, 1 s stall", stall["lab_load_with_stall"]["latency_us"], "tab:red", "-"),
              ("lab_load open-loop, no stall", stall["lab_load_without_stall"]["latency_us"], "tab:gray", ":"),
              (f"wrk closed-loop ({stall['wrk_connections']} conn., its CO correction), 1 s stall", stall["wrk_with_stall"]["latency_us"], "tab:blue", "--"),
              (f"lab_load closed-loop ({stall['wrk_connections']} conn., uncorrected), 1 s stall", stall["lab_load_closed_with_stall"]["latency_us"], "tab:green", "-.")]
    for label, lat, color, style in series:
        ax.plot(nines, [max(lat[p], 1) / 1000 for p in pcts], marker="o", color=color, linestyle=style, label=label)
    ax.set_yscale("log")
    ax.set_xticks(nines, [f"p{x:g}" for x in xs])
    ax.set_ylabel("latency (ms, log)")
    ax.set_xlabel("percentile")
    ax.axhline(stall["stall_s"] * 1000, color="black", linewidth=0.6)
    ax.text(nines[0], stall["stall_s"] * 1000 * 1.1, "stall length", fontsize=8)
    ax.set_title(f"What coordinated omission hides: event_loop at {stall['rate']:,} req/s (~half capacity),\n"
                 f"stopped for {stall['stall_s']:g} s at t = {stall['stall_at_s']:g} s of {stall['duration_s']} s", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=None, help="folder for benchmark.json and the chart (default results/<time>-bench-load)")
    p.add_argument("--only", default="closed,ceiling,stall", help="comma list of closed, ceiling, stall")
    p.add_argument("--duration", type=int, default=5, help="seconds per closed/ceiling run (default 5)")
    p.add_argument("--reps", type=int, default=3, help="repetitions of the closed comparison (default 3)")
    args = p.parse_args(argv)
    parts = [x for x in args.only.split(",") if x]
    unknown = set(parts) - {"closed", "ceiling", "stall"}
    if unknown or args.duration < 1 or args.reps < 1:
        p.error(f"unknown part(s) {sorted(unknown)}" if unknown else "--duration and --reps must be >= 1")
    for tool in [BIN / "lab_load", BIN / "event_loop"]:
        if not tool.exists():
            p.error(f"{tool} is not built (./lab build)")
    for tool in ["wrk", "nginx", "taskset"]:
        if not shutil.which(tool) and not Path("/usr/sbin/" + tool).exists():
            p.error(f"{tool} not found (./lab setup installs it)")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = Path(args.out) if args.out else ROOT / "results" / f"{stamp}-bench-load"
    out.mkdir(parents=True, exist_ok=True)
    doc = {"kind": "bench-load", "date": stamp, "command": "./lab bench-load " + " ".join(argv),
           "cpu_layout": {"server_cpus": [int(SERVER_CPU)], "client_cpus": [int(CLIENT_CPU)]},
           "load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="lab-bench-load-") as tmp:
        tmp = Path(tmp)
        if "closed" in parts:
            doc["closed"] = bench_closed(tmp, args.duration, args.reps)
        if "ceiling" in parts:
            doc["ceiling"] = bench_ceiling(tmp, args.duration)
        if "stall" in parts:
            doc["stall"] = bench_stall(tmp)
    doc["load_average_at_end"] = os.getloadavg()
    (out / "benchmark.json").write_text(json.dumps(doc, indent=1) + "\n")
    print()
    for row in doc.get("closed", []):
        w, l = row["wrk"], row["lab_load"]
        print(f"closed {row['server']}: wrk {w['requests_per_s']['median']:.0f} req/s "
              f"[{w['requests_per_s']['min']:.0f}-{w['requests_per_s']['max']:.0f}] at "
              f"{w['cpu_us_per_request']['median']:.2f} us/req; lab_load {l['requests_per_s']['median']:.0f} "
              f"[{l['requests_per_s']['min']:.0f}-{l['requests_per_s']['max']:.0f}] at "
              f"{l['cpu_us_per_request']['median']:.2f} us/req; throughput ratio {row['throughput_ratio']:.2f}, "
              f"CPU ratio {row['cpu_ratio']:.2f}")
    if "ceiling" in doc:
        print(f"ceiling: highest rate sustained against nginx on one core: {doc['ceiling']['highest_sustained_rate']}")
    if "stall" in doc:
        s = doc["stall"]
        stall_chart(s, out / "stall_spectrum.png")
        print(f"stall: open-loop p99 {s['lab_load_with_stall']['latency_us']['p99'] / 1000:.1f} ms "
              f"(no stall: {s['lab_load_without_stall']['latency_us']['p99'] / 1000:.2f} ms); wrk p99 "
              f"{s['wrk_with_stall']['latency_us']['p99'] / 1000:.2f} ms at {s['wrk_with_stall']['requests_per_s']:.0f} req/s "
              f"(open-loop achieved {s['lab_load_with_stall']['achieved_rate']:.0f}); lab_load closed-loop p99 "
              f"{s['lab_load_closed_with_stall']['latency_us']['p99'] / 1000:.2f} ms at "
              f"{s['lab_load_closed_with_stall']['achieved_rate']:.0f} req/s")
    print(f"wrote {out / 'benchmark.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
