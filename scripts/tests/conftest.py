"""Shared pytest fixtures: the scripts on sys.path, and fixture runs copied to tmp folders
(the scripts write charts into the run folder, never into the committed fixtures)."""
import shutil
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SERVICE_RUN = FIXTURES / "service_run"
MICRO_RUN = FIXTURES / "micro_run"
OPEN_RUN = FIXTURES / "open_loop_run"          # results schema 2: open-loop levels
PUBLISHED_MICRO = FIXTURES / "published_micro.json"
sys.path.insert(0, str(SCRIPTS))


def copy_run(src, dst):
    """Copies a run folder's files and subfolders (logs/) into dst."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_dir():
            shutil.copytree(f, dst / f.name, dirs_exist_ok=True)
        else:
            shutil.copy(f, dst / f.name)
    return dst


@pytest.fixture(scope="session")
def plotted_run(tmp_path_factory):
    """The service and the micro fixture in one folder, after plot.py ran on it."""
    import plot
    folder = copy_run(SERVICE_RUN, tmp_path_factory.mktemp("run"))
    copy_run(MICRO_RUN, folder)
    assert plot.main([str(folder), "--published", str(PUBLISHED_MICRO)]) == 0
    return folder


@pytest.fixture(scope="session")
def plotted_open_run(tmp_path_factory):
    """The schema-2 fixture after plot.py ran on it."""
    import plot
    folder = copy_run(OPEN_RUN, tmp_path_factory.mktemp("open_run"))
    assert plot.main([str(folder)]) == 0
    return folder


GATEWAY_RUN = FIXTURES / "gateway_run"         # schema 2 with the downstream block (issue 11)


@pytest.fixture(scope="session")
def plotted_gateway_run(tmp_path_factory):
    """The gateway fixture after plot.py ran on it."""
    import plot
    folder = copy_run(GATEWAY_RUN, tmp_path_factory.mktemp("gateway_run"))
    assert plot.main([str(folder)]) == 0
    return folder
