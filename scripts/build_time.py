#!/usr/bin/env python3
"""./lab build-time: how long a clean build of each server takes, median of 3 (claim 10).

Clean means nothing reused from an earlier build of the lab:
  - a C++ model: its CMake target (with the shared HTTP core it links) in a fresh build folder
    configured once (configuring is not timed), `cmake --build --target clean` before each
    repetition; Release, -j as given (default: every CPU);
  - go_nethttp: `go build` with an empty GOCACHE each repetition (the standard library as the
    Go installation ships it);
  - the Java servers (one JAR): javac --release 17 + jar into an empty folder;
  - Node.js and nginx: no build step (recorded as such, not as zero seconds).
It is a measurement: run it on an otherwise idle machine. Writes
results/<time>-build-time/build_time.json, which ./lab claims reads.
"""
import argparse
import datetime
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(os.environ.get("LAB_ROOT") or Path(__file__).resolve().parent.parent)
CPP_MODELS = ["thread_per_request", "thread_pool", "event_loop", "fiber", "coroutine"]
JAVA_SOURCES = sorted((ROOT / "servers/reference/java_threads/src").rglob("*.java"))


class BuildError(Exception):
    pass


def timed(cmd, cwd=None, env=None):
    start = time.monotonic()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if r.returncode != 0:
        raise BuildError(f"{' '.join(map(str, cmd))} failed:\n{(r.stdout + r.stderr)[-1500:]}")
    return seconds


def cpp_builds(models, reps, jobs, workdir):
    build = Path(workdir) / "cpp"
    timed(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release"])
    rows = []
    for model in models:
        seconds = []
        for _ in range(reps):
            timed(["cmake", "--build", build, "--target", "clean"])
            seconds.append(timed(["cmake", "--build", build, "--target", model, f"-j{jobs}"]))
        rows.append({"server": model, "language": "cpp", "seconds": seconds,
                     "command": f"cmake --build <fresh build> --target {model} -j{jobs}"})
    return rows


def go_build(reps, workdir):
    go = shutil.which("go")
    if not go:
        return {"server": "go_nethttp", "language": "go", "skipped": "go not installed"}
    seconds = []
    for k in range(reps):
        cache = Path(workdir) / f"go-cache-{k}"
        env = dict(os.environ, GO111MODULE="off", GOFLAGS="", GOCACHE=str(cache),
                   GOPATH=str(Path(workdir) / "go-path"))
        seconds.append(timed([go, "build", "-trimpath", "-o", Path(workdir) / "go_nethttp", "."],
                             cwd=ROOT / "servers/reference/go_nethttp", env=env))
    return {"server": "go_nethttp", "language": "go", "seconds": seconds,
            "command": "go build -trimpath (empty GOCACHE)"}


def java_build(reps, workdir):
    javac, jar = shutil.which("javac"), shutil.which("jar")
    if not javac or not jar:
        return {"server": "java_threads", "language": "java", "skipped": "no JDK (javac, jar)"}
    seconds = []
    for k in range(reps):
        classes = Path(workdir) / f"java-classes-{k}"
        classes.mkdir()
        out = Path(workdir) / f"lab_reference-{k}.jar"
        seconds.append(timed([javac, "--release", "17", "-d", classes, *JAVA_SOURCES]) +
                       timed([jar, "--create", "--file", out, "--main-class",
                              "lab.reference.ReferenceServer", "-C", classes, "."]))
    return {"server": "java_threads", "language": "java", "seconds": seconds,
            "also": ["java_pool", "java_virtual"], "command": "javac --release 17 + jar"}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="./lab build-time", description=__doc__.split("\n\n")[0],
                                     epilog="A measurement: minutes of full CPU. Run it alone.")
    parser.add_argument("--repetitions", type=int, default=3, help="builds per server (default 3)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="parallel compile jobs for C++ (default: every CPU)")
    parser.add_argument("--models", default=",".join(CPP_MODELS),
                        help="C++ models to build (default: all five)")
    parser.add_argument("--out", default=ROOT / "results", help="folder for the run folder")
    args = parser.parse_args(argv)
    if args.repetitions < 1:
        print("build-time: --repetitions must be >= 1", file=sys.stderr)
        return 2
    models = [m for m in args.models.split(",") if m]
    unknown = sorted(set(models) - set(CPP_MODELS))
    if unknown:
        print(f"build-time: unknown model(s) {', '.join(unknown)} (known: "
              f"{', '.join(CPP_MODELS)})", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="lab-build-time-") as workdir:
            rows = [go_build(args.repetitions, workdir), java_build(args.repetitions, workdir)]
            rows += cpp_builds(models, args.repetitions, args.jobs, workdir)
    except BuildError as e:
        print(f"build-time: {e}", file=sys.stderr)
        return 1
    rows += [{"server": "node_http", "language": "javascript", "no_build_step": True},
             {"server": "nginx", "language": "c", "no_build_step": True}]
    for r in rows:
        if r.get("seconds"):
            r["median_s"] = statistics.median(r["seconds"])
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = {"schema_version": 1, "kind": "build_time", "servers": rows,
            "context": {"date": date, "host": socket.gethostname(), "cores": os.cpu_count(),
                        "jobs": args.jobs, "repetitions": args.repetitions,
                        "load_average_at_start": list(os.getloadavg())}}
    folder = Path(args.out) / f"{date.replace('-', '').replace(':', '')}-build-time"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "build_time.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    for r in rows:
        text = (f"median {r['median_s']:.1f} s of {', '.join(f'{s:.1f}' for s in r['seconds'])}"
                if r.get("seconds") else r.get("skipped") or "no build step")
        print(f"  {r['server']:<20} {text}")
    print(f"wrote {folder / 'build_time.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
