"""Bad input gets one clear line on stderr and a non-zero exit, from every script."""
import json
import subprocess
import sys

import pytest

from conftest import SCRIPTS, SERVICE_RUN


def run_script(name, *args):
    return subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def wrong_version_run(tmp_path):
    folder = tmp_path / "v3"
    folder.mkdir()
    data = json.loads((SERVICE_RUN / "results.json").read_text())
    data["schema_version"] = 3
    (folder / "results.json").write_text(json.dumps(data))
    return folder


@pytest.mark.parametrize("script", ["plot.py", "compare.py"])
def test_wrong_schema_version_is_refused_clearly(script, wrong_version_run):
    args = [wrong_version_run] if script == "plot.py" else [SERVICE_RUN, wrong_version_run]
    out = run_script(script, *args)
    assert out.returncode != 0
    assert "results.json has schema_version 3; this script reads versions 1 and 2" in out.stderr
    assert "Traceback" not in out.stderr
    assert not list(wrong_version_run.glob("*.png"))


def test_wrong_micro_schema_version(tmp_path):
    (tmp_path / "micro.json").write_text(json.dumps({"schema_version": 7, "kind": "micro"}))
    out = run_script("plot.py", tmp_path)
    assert out.returncode != 0
    assert "micro.json has schema_version 7; this script reads version 1" in out.stderr


def test_missing_folder_and_empty_folder(tmp_path):
    out = run_script("plot.py", tmp_path / "nope")
    assert out.returncode != 0 and "no such run folder" in out.stderr
    out = run_script("compare.py", tmp_path, SERVICE_RUN)
    assert out.returncode != 0 and "holds neither results.json nor micro.json" in out.stderr
    assert "Traceback" not in out.stderr


def test_not_json(tmp_path):
    (tmp_path / "results.json").write_text("{truncated")
    out = run_script("plot.py", tmp_path)
    assert out.returncode != 0 and "not valid JSON" in out.stderr


@pytest.mark.parametrize("script", ["plot.py", "compare.py", "reproduce.py"])
def test_help(script):
    out = run_script(script, "--help")
    assert out.returncode == 0
    assert out.stdout.startswith("usage: ./lab ")


def test_missing_published_references_file(tmp_path):
    out = run_script("plot.py", SERVICE_RUN.parent / "micro_run", "--published",
                     tmp_path / "nope.json")
    assert out.returncode != 0 and "no such file of published references" in out.stderr
