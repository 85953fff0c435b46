"""bench_syscalls.py's parsing and arithmetic on fixed text (the live run is the lead's)."""
import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import bench_syscalls as bench  # noqa: E402

PERF = """# started on Mon Nov 23 17:00:00 2026

184211,,raw_syscalls:sys_enter,3001234567,100.00,,
"""

STRACE = """% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 61.20    0.412000           4     96000           sendto
 30.10    0.203000           2     96000      1200 recvfrom
  8.70    0.058000           3     19000           epoll_wait
------ ----------- ----------- --------- --------- ----------------
100.00    0.673000           3    211000      1200 total
"""


def test_perf_count_is_read_from_its_csv_line():
    assert bench.parse_perf_count(PERF) == 184211


def test_perf_without_a_count_is_an_error_naming_the_line():
    with pytest.raises(ValueError, match="could not count"):
        bench.parse_perf_count("<not supported>,,raw_syscalls:sys_enter,0,100.00,,\n")
    with pytest.raises(ValueError, match="no raw_syscalls"):
        bench.parse_perf_count("")


def test_strace_summary_gives_calls_by_name_and_total():
    calls, total = bench.parse_strace_summary(STRACE)
    assert calls == {"sendto": 96000, "recvfrom": 96000, "epoll_wait": 19000}
    assert total == 211000


def test_per_request_divides_and_refuses_zero_requests():
    assert bench.per_request(1000, 5_000_000, 2500) == {"cpu_us_per_request": 5.0, "syscalls_per_request": 2.5}
    assert bench.per_request(0, 1, 1)["syscalls_per_request"] is None


def test_start_command_comes_from_server_json_with_variant(tmp_path):
    folder = tmp_path / "servers" / "x"
    folder.mkdir(parents=True)
    (folder / "server.json").write_text(json.dumps({
        "name": "x", "start": ["{bin}/x", "--port", "{port}", "--threads", "{threads}"],
        "variants": {"fast": ["--fast"]}}))
    assert bench.load_start(tmp_path, "x+fast", pathlib.Path("/b"), 99) == [
        "/b/x", "--port", "99", "--threads", "1", "--fast"]
    with pytest.raises(SystemExit, match="no variant 'slow'"):
        bench.load_start(tmp_path, "x+slow", pathlib.Path("/b"), 99)
    with pytest.raises(SystemExit, match="no server.json names 'y'"):
        bench.load_start(tmp_path, "y", pathlib.Path("/b"), 99)


def test_arguments_are_checked():
    with pytest.raises(SystemExit):
        bench.parse_args(["--workloads", "json"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--duration", "600"])
    assert bench.parse_args(["--duration", "1"]).duration == 1
    with pytest.raises(SystemExit):
        bench.parse_args(["--duration", "0.5"])
