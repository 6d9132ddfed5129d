"""LAMMPS's own parallelism through `glassdyn simulate`: MPI ranks (mpiexec -n K) against one rank, and
LAMMPS partitions (many replicas in one MPI job) against separate runs with the same seeds."""
from __future__ import annotations

import re

import numpy as np
import pytest

pytestmark = pytest.mark.lammps

simulate = pytest.importorskip("glassdyn.lammps.simulate")
runner = pytest.importorskip("glassdyn.lammps.runner")
from glassdyn.errors import InputError  # noqa: E402


def _mpiexec_or_skip():
    try:
        return runner.find_mpiexec()
    except InputError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An equilibrated ka2d configuration (N = 400, one rank)."""
    folder = tmp_path_factory.mktemp("eq")
    simulate.run_equilibrate(folder, model="ka2d", n=400, temperature=1.0, equilibration_steps=1000, seed=3,
                             cores=1)
    return simulate.reference_path(folder, 0)


def _thermo(log):
    """{step: potential energy} from the thermo lines (step temp pe ke etotal press) of an ensemble.in log."""
    text = log.read_text()
    rows = re.findall(r"^\s+(\d+)\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s*$", text, flags=re.M)
    return {int(r[0]): float(r[2]) for r in rows}, text


def _frames(path):
    lines = path.read_text().splitlines()
    frames, k = [], 0
    while k < len(lines):
        n = int(lines[k + 3])
        rows = np.array([[float(v) for v in line.split()] for line in lines[k + 9:k + 9 + n]])
        frames.append(rows[np.argsort(rows[:, 0])])
        k += 9 + n
    return frames


def test_mpi_find_mpiexec_of_the_wheel():
    exe = _mpiexec_or_skip()
    assert exe.endswith("mpiexec")
    cmd = runner.command("ensemble.in", {"seed": 1}, executable="/x/lmp", log="l", ranks=2, mpiexec=exe)
    assert cmd[:3] == [exe, "-n", "2"] and cmd[3] == "/x/lmp" and "-partition" not in cmd
    cmd = runner.command("replicas.in", {}, executable="/x/lmp", log="l", ranks=2, partitions=3, mpiexec=exe)
    assert cmd[:3] == [exe, "-n", "6"] and cmd[cmd.index("-partition") + 1] == "3x2"
    assert runner.command("ensemble.in", {}, executable="/x/lmp", log="l")[0] == "/x/lmp"   # 1 rank: no MPI


def test_two_mpi_ranks_give_the_energies_of_one_rank(reference, tmp_path):
    _mpiexec_or_skip()
    common = dict(model="ka2d", temperature=1.0, replicas=1, dynamics="md", times=[0, 50, 100, 200],
                  references=[reference], seed=5, cores=2)
    simulate.run_ensemble(tmp_path / "one", **common)
    manifest = simulate.run_ensemble(tmp_path / "two", mpi_ranks=2, **common)
    pe1, log1 = _thermo(tmp_path / "one" / "config_000" / "logs" / "replica_000.log")
    pe2, log2 = _thermo(tmp_path / "two" / "config_000" / "logs" / "replica_000.log")
    assert "on 1 procs" in log1 and "on 2 procs" in log2 and "2 by 1 by 1 MPI processor grid" in log2
    assert sorted(pe1) == sorted(pe2) == [0, 50, 100, 200]
    for step in pe1:   # thermo prints 8 digits; a 200-step MD run stays at round-off
        assert pe2[step] == pytest.approx(pe1[step], rel=1e-7, abs=1e-7), step
    a = _frames(simulate.replica_path(tmp_path / "one", 0, 0))
    b = _frames(simulate.replica_path(tmp_path / "two", 0, 0))
    assert len(a) == len(b) == 4
    for fa, fb in zip(a, b):
        np.testing.assert_array_equal(fa[:, :2], fb[:, :2])
        np.testing.assert_allclose(fb[:, 2:], fa[:, 2:], atol=1e-6)
    assert manifest["results"]["config_000/replica_000"]["mpi_ranks"] == 2
    assert "mpi_ranks" not in manifest["parameters"]     # how it ran is not a parameter: resumable either way


def test_partitions_give_the_replicas_of_separate_runs(reference, tmp_path):
    _mpiexec_or_skip()
    common = dict(model="ka2d", temperature=1.0, replicas=3, dynamics="langevin", times=[0, 10, 100, 1000],
                  references=[reference], seed=5, cores=2)
    separate = simulate.run_ensemble(tmp_path / "separate", **common)
    together = simulate.run_ensemble(tmp_path / "together", partitions=2, **common)   # 3 replicas, 2 partitions
    universe = (tmp_path / "together" / "config_000" / "logs" / "partitions.log").read_text()
    assert "Running on 2 partitions" in universe
    for r in range(3):
        a = _frames(simulate.replica_path(tmp_path / "separate", 0, r))
        b = _frames(simulate.replica_path(tmp_path / "together", 0, r))
        assert len(a) == len(b) == 4
        for fa, fb in zip(a, b):
            np.testing.assert_array_equal(fa[:, :2], fb[:, :2])
            np.testing.assert_allclose(fb[:, 2:], fa[:, 2:], atol=1e-9)
        log = (tmp_path / "together" / "config_000" / "logs" / f"replica_{r:03d}.log").read_text()
        assert f"variable      seed index {separate['seeds']['config_000']['replicas'][r]}" in log
    assert together["results"] == separate["results"]
    assert together["seeds"] == separate["seeds"] and together["parameters"] == separate["parameters"]
    folder = tmp_path / "together" / "config_000"
    assert not list(folder.glob("*.tmp*")) and not list(folder.glob("logs/*.tmp*"))
