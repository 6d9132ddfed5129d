"""Shared fixtures.

``demo_tiny``: one ``glassdyn demo --size tiny`` run (LAMMPS simulation, propensity, descriptors,
selection, model, pictures, report) shared by ``test_demo.py`` and ``test_pipeline_e2e.py``. It
runs once per test session, also under ``pytest -n N``: the first xdist worker that needs it
runs it under a file lock in the session's common temporary folder, the others wait and reuse it.
Set ``GLASSDYN_TEST_DEMO`` to the folder of a finished ``glassdyn demo --size tiny --seed 0`` run to
reuse it instead (development only: tests copy what they modify).
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@contextlib.contextmanager
def _file_lock(path: Path):
    """An exclusive lock on ``path`` (fcntl; no lock where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def demo_tiny(tmp_path_factory) -> Path:
    """Folder of a finished ``glassdyn demo --size tiny --seed 0`` run (its summary.json exists)."""
    given = os.environ.get("GLASSDYN_TEST_DEMO")
    if given:
        return Path(given)
    from glassdyn.errors import InputError
    from glassdyn.lammps.runner import find_lammps
    try:
        find_lammps()
    except InputError as exc:
        pytest.skip(f"LAMMPS is not available: {exc}")
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by every worker of this session
    out = root / "glassdyn_demo_tiny"
    failed = root / "glassdyn_demo_tiny.failed"
    with _file_lock(root / "glassdyn_demo_tiny.lock"):
        if failed.exists():
            pytest.fail(f"the shared tiny demo failed in another worker:\n{failed.read_text()}")
        if not (out / "summary.json").exists():
            cmd = [sys.executable, "-m", "glassdyn.cli", "demo", "--size", "tiny", "-o", str(out),
                   "--seed", "0", "--cores", "2", "--quiet"]
            if out.exists():
                cmd.append("--resume")
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            log = f"$ {' '.join(cmd)}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr[-5000:]}"
            (root / "glassdyn_demo_tiny.log").write_text(log)
            if proc.returncode != 0 or not (out / "summary.json").exists():
                failed.write_text(log)
                pytest.fail(f"glassdyn demo --size tiny failed (exit {proc.returncode}):\n{log}")
    json.loads((out / "summary.json").read_text())
    return out
