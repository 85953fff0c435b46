#!/usr/bin/python3
"""System calls and CPU time per request: epoll (Asio) vs io_uring (Asio's backend, hand-rolled).

For each server and workload: start the server with --threads 1 pinned to one CPU, run wrk
pinned to another for a fixed time, and count over exactly that run
  - the server's CPU time (the sum of /proc/PID/task/*/schedstat, nanoseconds),
  - its system calls (perf's raw_syscalls:sys_enter tracepoint, attached to the process:
    no ptrace stops, so the server runs at full speed), or with --strace, strace -c -f
    (slower, but names each system call; rates under strace are not throughput figures),
  - the responses wrk read (its done() hook writes JSON: harness/runner/report.lua).
Prints a table and, with --json, writes the numbers. Loopback only; every run is bounded.
"""
import argparse
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_SERVERS = ["event_loop", "coroutine", "coroutine_uring", "io_uring", "io_uring+oneshot"]
WORKLOADS = {"plaintext": 1, "pipelined": 16}  # name -> requests per write (wrk pipelining)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--servers", default=",".join(DEFAULT_SERVERS),
                   help="comma-separated server names, a variant as name+variant (default: %(default)s)")
    p.add_argument("--workloads", default="plaintext,pipelined",
                   help="plaintext (1 request per write) and/or pipelined (16) (default: %(default)s)")
    p.add_argument("--duration", type=int, default=3, help="whole seconds of load per measurement (default: 3)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections (default: 64)")
    p.add_argument("--server-cpu", type=int, default=0, help="CPU the server is pinned to (default: 0)")
    p.add_argument("--client-cpu", type=int, default=1, help="CPU wrk is pinned to (default: 1)")
    p.add_argument("--bin", default=os.environ.get("LAB_BIN", str(ROOT / "build" / "release" / "bin")),
                   help="folder of the built servers (default: $LAB_BIN or build/release/bin)")
    p.add_argument("--strace", action="store_true",
                   help="count with strace -c -f instead of perf, and list the calls by name")
    p.add_argument("--json", help="write the results to this file")
    args = p.parse_args(argv)
    if not 1 <= args.duration <= 60:
        p.error("--duration must be between 1 and 60 seconds")
    if not 1 <= args.connections <= 10000:
        p.error("--connections must be between 1 and 10000")
    for w in args.workloads.split(","):
        if w not in WORKLOADS:
            p.error(f"unknown workload '{w}'; valid: {', '.join(WORKLOADS)}")
    return args


def load_start(root, name, bin_dir, port):
    """argv of server `name` (or name+variant) from its server.json, with --threads 1."""
    base, _, variant = name.partition("+")
    found = [p for p in list(root.glob("servers/*/server.json")) + list(root.glob("servers/reference/*/server.json"))
             if json.loads(p.read_text())["name"] == base]
    if not found:
        raise SystemExit(f"bench_syscalls: no server.json names '{base}'")
    spec = json.loads(found[0].read_text())
    argv = list(spec["start"])
    if variant:
        if variant not in spec.get("variants", {}):
            raise SystemExit(f"bench_syscalls: {base} has no variant '{variant}'")
        argv += spec["variants"][variant]
    values = {"{bin}": str(bin_dir), "{host}": "127.0.0.1", "{port}": str(port), "{threads}": "1",
              "{idle_timeout}": "30", "{downstream}": "127.0.0.1:9", "{root}": str(root), "{tmp}": tempfile.gettempdir()}
    out = []
    for arg in argv:
        for key, value in values.items():
            arg = arg.replace(key, value)
        out.append(arg)
    return out


def parse_perf_count(text):
    """The raw_syscalls:sys_enter count from `perf stat -x,` output."""
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2].startswith("raw_syscalls:sys_enter"):
            if not fields[0].strip().isdigit():
                raise ValueError(f"perf could not count system calls: {line}")
            return int(fields[0])
    raise ValueError("no raw_syscalls:sys_enter line in perf's output")


def parse_strace_summary(text):
    """{syscall: calls} and the total from `strace -c` output."""
    calls, total = {}, None
    for line in text.splitlines():
        fields = line.split()
        if not fields or not fields[0][0].isdigit() and fields[-1] != "total":
            continue
        if fields[-1] == "total":
            total = int(fields[3])
        elif len(fields) >= 5 and fields[3].isdigit():
            calls[fields[-1]] = int(fields[3])
    if total is None:
        raise ValueError("no total line in strace's summary")
    return calls, total


def cpu_ns(pid):
    """CPU time of every thread of pid so far (schedstat: ns on a CPU)."""
    total = 0
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that just ended
    return total


def per_request(requests, cpu_used_ns, syscalls):
    if requests <= 0:
        return {"cpu_us_per_request": None, "syscalls_per_request": None}
    return {"cpu_us_per_request": cpu_used_ns / 1000 / requests, "syscalls_per_request": syscalls / requests}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(process, stdout_path, deadline_s=20):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {stdout_path.read_text()[-500:]}")
        text = stdout_path.read_text()
        if "listening on" in text:
            return text.strip().splitlines()[-1]
        time.sleep(0.05)
    raise RuntimeError("server printed no listening line within 20 s")


def run_wrk(args, port, depth, out_path, seconds):
    env = dict(os.environ, LAB_WRK_OUT=str(out_path), LAB_WRK_PIPELINE=str(depth))
    cmd = ["taskset", "-c", str(args.client_cpu), "wrk", "-t1", f"-c{args.connections}", f"-d{seconds}s",
           "-s", str(ROOT / "harness" / "runner" / "report.lua"), f"http://127.0.0.1:{port}/plaintext"]
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   timeout=seconds + 30)
    return json.loads(out_path.read_text())


def measure(args, name, workload, work):
    port = free_port()
    argv = load_start(ROOT, name, pathlib.Path(args.bin), port)
    stdout_path = work / f"{name}.{workload}.stdout"
    with open(stdout_path, "w") as out:
        server = subprocess.Popen(["taskset", "-c", str(args.server_cpu)] + argv, cwd=ROOT, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        listening = wait_listening(server, stdout_path)
        depth = WORKLOADS[workload]
        run_wrk(args, port, depth, work / "warmup.json", 1)  # pools, caches, TCP windows
        if args.strace:
            counter = subprocess.Popen(["strace", "-c", "-f", "-qq", "-o", str(work / "strace.txt"),
                                        "-p", str(server.pid)], stderr=subprocess.DEVNULL)
        else:
            counter = subprocess.Popen(["taskset", "-c", str(args.client_cpu), "perf", "stat", "-x,", "-e",
                                        "raw_syscalls:sys_enter", "-p", str(server.pid), "-o",
                                        str(work / "perf.txt")], stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # attached before the load starts
        before = cpu_ns(server.pid)
        result = run_wrk(args, port, depth, work / "run.json", args.duration)
        used = cpu_ns(server.pid) - before
        counter.send_signal(signal.SIGINT)
        counter.wait(timeout=30)
        by_name = {}
        if args.strace:
            by_name, syscalls = parse_strace_summary((work / "strace.txt").read_text())
        else:
            syscalls = parse_perf_count((work / "perf.txt").read_text())
        requests = result["requests"]
        row = {"server": name, "workload": workload, "pipeline": depth, "connections": args.connections,
               "duration_s": args.duration, "requests": requests,
               "requests_per_s": requests / (result["duration_us"] / 1e6), "cpu_ns": used, "syscalls": syscalls,
               "counter": "strace" if args.strace else "perf", "listening": listening,
               **per_request(requests, used, syscalls)}
        if by_name and requests > 0:
            top = sorted(by_name.items(), key=lambda kv: -kv[1])[:6]
            row["top_syscalls_per_request"] = {k: v / requests for k, v in top}
        return row
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main(argv):
    args = parse_args(argv)
    for tool in ["wrk", "taskset", "strace" if args.strace else "perf"]:
        if subprocess.run(["which", tool], stdout=subprocess.DEVNULL).returncode != 0:
            raise SystemExit(f"bench_syscalls: '{tool}' not found (./lab setup installs it)")
    rows = []
    with tempfile.TemporaryDirectory(prefix="lab-syscalls-") as tmp:
        for workload in args.workloads.split(","):
            for name in args.servers.split(","):
                rows.append(measure(args, name, workload, pathlib.Path(tmp)))
                r = rows[-1]
                print(f"{r['server']:<18} {workload:<10} {r['requests_per_s']:>10.0f} req/s "
                      f"{r['cpu_us_per_request']:>7.2f} CPU us/req {r['syscalls_per_request']:>7.3f} syscalls/req",
                      flush=True)
                for call, n in r.get("top_syscalls_per_request", {}).items():
                    print(f"{'':<30}{call:<20} {n:.3f}/req")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"schema": "lab-syscalls-1", "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
