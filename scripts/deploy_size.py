#!/usr/bin/env python3
"""./lab deploy-size: the bytes a minimal container of each server would have to hold (claim 9).

No container engine runs here (none is installed or used): the script counts the files a
minimal image would need and adds up their sizes.
  - a native server (C++ models, Go, nginx): its executable and every shared library `ldd`
    lists (and the dynamic loader); a static binary is one file;
  - a Java server: the JAR, plus (a) the whole JDK the lab runs it on and (b) when jdeps and
    jlink are there, a minimal runtime image that jlink builds with only the modules the JAR
    needs (--strip-debug --no-header-files --no-man-pages), with its shared libraries;
  - a Node.js server: the node executable and its shared libraries, plus the server's
    JavaScript sources and any node_modules beside them.
Files are counted once per server (a library shared by two parts counts once). Writes
results/<time>-deploy-size/deploy_size.json, which ./lab claims reads.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(os.environ.get("LAB_ROOT") or Path(__file__).resolve().parent.parent)
NOTE = ("no container engine was used: sizes are the files a minimal image would hold "
        "(executable + shared libraries, JAR + Java runtime, node + sources), counted on disk")


class DeployError(Exception):
    pass


def shared_libraries(executable):
    """Absolute paths of the shared libraries (and loader) `ldd` resolves for a file; [] for a
    static executable or a script. ldd has no machine-readable output: its lines are
    'name => /path (addr)' or '/path (addr)'."""
    try:
        out = subprocess.run(["ldd", str(executable)], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    libs = []
    for line in out.splitlines():
        m = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if m:
            libs.append(Path(m.group(1)))
    return libs


def files_under(folder):
    return [p for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink()]


def part(what, paths):
    paths = sorted({Path(os.path.realpath(p)) for p in paths if Path(p).exists()})
    return {"what": what, "files": len(paths), "bytes": sum(p.stat().st_size for p in paths),
            "paths": [str(p) for p in paths]}


def native_parts(executable):
    return [part("executable", [executable]),
            part("shared libraries (ldd)", shared_libraries(executable))]


def java_home_of(java):
    return Path(os.path.realpath(java)).parent.parent


_JLINK_IMAGES = {}   # (jar, java home) -> jlink_image's answer: java_threads and java_pool share it


def jlink_image(jar, java_home, workdir):
    """A jlink runtime image with the modules the jar needs, or None if jdeps/jlink fail."""
    key = (str(jar), str(java_home))
    if key not in _JLINK_IMAGES:
        _JLINK_IMAGES[key] = _build_jlink_image(jar, java_home, workdir)
    return _JLINK_IMAGES[key]


def _build_jlink_image(jar, java_home, workdir):
    jdeps, jlink = java_home / "bin" / "jdeps", java_home / "bin" / "jlink"
    if not jdeps.exists() or not jlink.exists():
        return None, "no jdeps/jlink in " + str(java_home)
    deps = subprocess.run([str(jdeps), "--print-module-deps", "--ignore-missing-deps", str(jar)],
                          capture_output=True, text=True, timeout=120)
    modules = deps.stdout.strip().splitlines()[-1] if deps.returncode == 0 and deps.stdout else ""
    if not modules:
        return None, "jdeps failed: " + deps.stderr.strip()[:200]
    image = Path(workdir) / f"image-{java_home.name}"
    r = subprocess.run([str(jlink), "--add-modules", modules, "--strip-debug",
                        "--no-header-files", "--no-man-pages", "--output", str(image)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return None, "jlink failed: " + r.stderr.strip()[:200]
    return (image, modules), None


def java_parts(jar, java, workdir):
    java_home = java_home_of(java)
    parts = [part("JAR", [jar])]
    jdk = part(f"whole Java runtime ({java_home})", files_under(java_home))
    parts.append(jdk)
    image, why = jlink_image(jar, java_home, workdir)
    alternative = None
    if image:
        folder, modules = image
        libs = shared_libraries(folder / "bin" / "java")
        alternative = [part("JAR", [jar]),
                       part(f"jlink runtime image ({modules})", files_under(folder)),
                       part("shared libraries of the image's java (ldd)", libs)]
    return parts, alternative, why


def node_parts(node, entry):
    sources = set(Path(entry).parent.glob("*.js"))
    for line in Path(entry).read_text(encoding="utf-8").splitlines():
        m = re.search(r"path\.join\(__dirname,\s*'\.\.',\s*'([^']+)'", line)
        if m:
            sources |= set((Path(entry).parent.parent / m.group(1)).glob("*.js"))
    modules = [p for folder in {s.parent for s in sources}
               for p in files_under(folder / "node_modules")] \
        if any((s.parent / "node_modules").exists() for s in sources) else []
    return [part("node executable", [node]), part("shared libraries (ldd)",
                                                    shared_libraries(node)),
            part("JavaScript sources", sources), part("node_modules", modules)]


def server_specs():
    specs = []
    for f in sorted(list(ROOT.glob("servers/*/server.json")) +
                    list(ROOT.glob("servers/reference/*/server.json"))):
        spec = json.loads(f.read_text(encoding="utf-8"))
        spec["folder"] = f.parent
        specs.append(spec)
    return specs


def measure_server(spec, bin_dir, workdir):
    """{server, language, files, bytes, parts[, alternative]} or {server, skipped: reason}."""
    def fill(arg):
        return arg.replace("{bin}", str(bin_dir)).replace("{root}", str(ROOT))
    start = [fill(a) for a in spec["start"]]
    # `env VAR=value program ...` (server.json turning a runtime's GC log on): the program.
    if start and start[0] == "env":
        start = start[1:]
        while start and "=" in start[0] and not start[0].startswith("-"):
            start = start[1:]
    name, language = spec["name"], spec.get("language", "cpp")
    row = {"server": name, "language": language, "model": spec.get("model")}
    exe = start[0]
    alternative = why = None
    if exe == "java" or Path(exe).name == "java_virtual":
        if exe == "java":
            java = shutil.which("java")
            jar = start[start.index("-jar") + 1]
        else:
            if not Path(exe).exists():
                return {**row, "skipped": f"{exe} not built"}
            text = Path(exe).read_text(encoding="utf-8")
            m = re.search(r'exec\s+"([^"]+/bin/java)"', text)
            java, jar = (m.group(1) if m else None), str(Path(exe).parent / "lab_reference.jar")
        if not java or not Path(jar).exists():
            return {**row, "skipped": "java or the JAR is missing (build first)"}
        parts, alternative, why = java_parts(jar, java, workdir)
    elif exe == "node":
        node = shutil.which("node")
        entry = next((a for a in start[1:] if a.endswith(".js")), None)
        if not node or not entry:
            return {**row, "skipped": "node or the server's script is missing"}
        parts = node_parts(node, entry)
    elif exe.endswith(".sh"):
        binary = shutil.which(spec["name"]) or shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            return {**row, "skipped": f"{binary} missing"}
        parts = native_parts(binary) + [part("start script", [exe])]
    else:
        if not Path(exe).exists():
            return {**row, "skipped": f"{exe} not built"}
        parts = native_parts(exe)
    row["parts"] = parts
    row["files"] = sum(p["files"] for p in parts)
    row["bytes"] = sum(p["bytes"] for p in parts)
    row["static"] = language != "java" and parts[1]["files"] == 0 if len(parts) > 1 else None
    if alternative:
        row["minimal"] = {"parts": alternative, "files": sum(p["files"] for p in alternative),
                          "bytes": sum(p["bytes"] for p in alternative)}
    elif why:
        row["minimal_skipped"] = why
    return row


def context():
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "host": socket.gethostname(), "kind": "deploy_size", "container_engine": None,
            "note": NOTE}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="./lab deploy-size", description=__doc__.split("\n\n")[0],
                                     epilog=NOTE)
    parser.add_argument("--bin", default=os.environ.get("LAB_BIN") or ROOT / "build/release/bin",
                        help="folder of built servers (default: $LAB_BIN or build/release/bin)")
    parser.add_argument("--out", default=ROOT / "results",
                        help="folder for the run folder (default: results/)")
    parser.add_argument("--servers", help="comma-separated server names (default: all)")
    args = parser.parse_args(argv)
    bin_dir = Path(args.bin)
    if not bin_dir.is_dir():
        print(f"deploy-size: {bin_dir}: no such folder of built servers (./lab build first)",
              file=sys.stderr)
        return 2
    specs = server_specs()
    if args.servers:
        wanted = args.servers.split(",")
        unknown = sorted(set(wanted) - {s["name"] for s in specs})
        if unknown:
            print(f"deploy-size: unknown server(s) {', '.join(unknown)}", file=sys.stderr)
            return 2
        specs = [s for s in specs if s["name"] in wanted]
    with tempfile.TemporaryDirectory(prefix="lab-deploy-") as workdir:
        rows = [measure_server(s, bin_dir, workdir) for s in specs]
    data = {"schema_version": 1, "kind": "deploy_size", "context": context(), "servers": rows}
    ctx = data["context"]
    folder = Path(args.out) / f"{ctx['date'].replace('-', '').replace(':', '')}-deploy-size"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deploy_size.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(NOTE)
    for r in rows:
        if "skipped" in r:
            print(f"  {r['server']:<20} skipped: {r['skipped']}")
            continue
        minimal = r.get("minimal")
        extra = f"; minimal jlink image: {minimal['bytes'] / 1e6:.1f} MB" if minimal else ""
        print(f"  {r['server']:<20} {r['bytes'] / 1e6:8.1f} MB in {r['files']} files{extra}")
    print(f"wrote {folder / 'deploy_size.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
