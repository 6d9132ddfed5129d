"""glassdyn.adapters.replicas.analyze_replica_dumps: replica dumps streamed into the core's
analyze_replicas give the numbers of analyze_ensemble(load_ensemble(...)), with the same file checks."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from glassdyn import InputError
from glassdyn.adapters.replicas import analyze_replica_dumps, load_ensemble
from glassdyn.dynamics import analyze_ensemble
from synthetic_replicas import make_reference, make_trajectories, write_ensemble


@pytest.mark.parametrize("mode", ["unwrapped", "images"])
def test_streamed_dumps_equal_loaded_ensemble(tmp_path, mode):
    ref = make_reference()
    traj = make_trajectories(ref, step=0.7)  # atoms cross the box: images or unwrapped needed
    r, paths = write_ensemble(tmp_path, ref, traj, mode=mode, shuffle=1)
    for kw in ({}, {"times": [1.0, 2.0], "cage_relative": False, "absolute": True}):
        times = kw.pop("times", None)
        old = analyze_ensemble(load_ensemble(paths, r, times=times), potential="ka2d", **kw)
        new = analyze_replica_dumps(paths, r, times=times, potential="ka2d", **kw)
        for name in ("times", "ids", "propensity", "bond_breaking", "fs", "fs_per_replica", "tau_alpha"):
            assert np.array_equal(getattr(new, name), getattr(old, name), equal_nan=True), name
        assert new.params == old.params and new.params["sources"] == paths


def test_streamed_dumps_file_checks(tmp_path):
    ref = make_reference()
    r, p = write_ensemble(tmp_path, ref, make_trajectories(ref))
    with pytest.raises(InputError, match="at least 2 replicas, got 1"):
        analyze_replica_dumps(p[:1], r, potential="ka2d")
    with pytest.raises(InputError, match=r"rep1\.dump: the same file is given twice"):
        analyze_replica_dumps([p[0], p[1], p[1]], r, potential="ka2d")
    with pytest.raises(InputError, match=r"ref\.dump: this replica is the reference configuration file itself"):
        analyze_replica_dumps(p[:2] + [r], r, potential="ka2d")
    with pytest.raises(InputError, match=r"nope\.dump: replica file not found"):
        analyze_replica_dumps(p[:2] + [str(tmp_path / "nope.dump")], r, potential="ka2d")
    shutil.copy(r, tmp_path / "copy.dump")
    with pytest.raises(InputError, match=r"copy\.dump: the particles never move away from the reference"):
        analyze_replica_dumps(p[:2] + [str(tmp_path / "copy.dump")], r, potential="ka2d")
    (tmp_path / "empty.dump").write_text("")
    with pytest.raises(InputError, match=r"empty\.dump: the file is empty"):
        analyze_replica_dumps(p[:2] + [str(tmp_path / "empty.dump")], r, potential="ka2d")
