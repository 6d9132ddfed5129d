"""The ``glassdyn propensity`` command on synthetic ensembles (files, manifests, simulate folders)."""
from __future__ import annotations

import json
import os

import numpy as np

from glassdyn.adapters.lammps_dump import read_dump, write_dump
from glassdyn.dynamics import propensity
from synthetic_replicas import DT, STEPS, make_reference, make_trajectories, replica_frames, write_ensemble


# ----------------------------------------------------------------------------- command line
def test_cli_end_to_end(tmp_path, capsys):
    from glassdyn.cli import main
    ref = make_reference()
    traj = make_trajectories(ref)
    r, p = write_ensemble(tmp_path, ref, traj)
    out = tmp_path / "out" / "prop.dump"
    out.parent.mkdir()
    rc = main(["propensity", *p, "--reference", r, "-o", str(out), "--times", "0.5", "2", "--q", "6", "--plot",
               "--no-progress", "--displacement", "plain"])
    assert rc == 0, capsys.readouterr().err
    got = read_dump(out)
    assert sorted(k for k in got.properties) == ["bond_breaking_t0p5", "bond_breaking_t2", "propensity_t0p5",
                                                 "propensity_t2"]
    dr = traj - traj[:, :1]
    dr -= dr.mean(axis=2, keepdims=True)
    order = np.argsort(got.ids)
    assert np.allclose(got.properties["propensity_t2"][order], propensity(dr)[3])
    assert np.allclose(got.positions[order], ref.positions)
    lines = (tmp_path / "out" / "prop_fs.csv").read_text().splitlines()
    assert lines[0].startswith("# glassdyn propensity")
    assert any(line.startswith("# tau_alpha_all = ") for line in lines)
    header = [line for line in lines if not line.startswith("#")][0].split(",")
    rows = np.array([[float(x) for x in line.split(",")] for line in lines if line[0].isdigit()])
    from scipy.special import j0
    expect_fs = j0(6.0 * np.linalg.norm(dr, axis=-1)).mean(axis=(0, 2))
    assert np.allclose(rows[:, header.index("fs_all")], expect_fs)
    assert rows[:, header.index("timestep")].tolist() == STEPS
    params = json.loads((tmp_path / "out" / "prop_params.json").read_text())
    assert params["params"]["q"] == 6.0 and params["params"]["n_replicas"] == 4
    assert "glassdyn_version" in params["params"]
    for png in ("prop_fs.png", "prop_propensity.png"):
        data = (tmp_path / "out" / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_cli_cage_relative_and_errors(tmp_path, capsys):
    from glassdyn.cli import main
    from glassdyn.dynamics import cage_operator, cage_relative
    ref = make_reference()
    traj = make_trajectories(ref)
    r, p = write_ensemble(tmp_path, ref, traj)
    out = tmp_path / "cr.dump"
    assert main(["propensity", *p, "--reference", r, "-o", str(out), "--cage-relative", "--q", "6",
                 "--no-progress", "--times", "1"]) == 0
    got = read_dump(out).sorted_by_id()
    dr = traj - traj[:, :1]
    cr = cage_relative(dr, cage_operator(ref, potential="ka2d"))
    assert np.allclose(got.properties["propensity_cr_t1"], (cr[:, 2] ** 2).sum(-1).mean(0))
    capsys.readouterr()
    assert main(["propensity", *p, "--reference", r, "-o", str(out), "--times", "0.7", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "time 0.7 is not in the replicas; available times: 0, 0.5, 1, 2" in err
    assert main(["propensity", p[0], "--reference", r, "-o", str(out), "--no-progress"]) == 1
    assert "at least 2 replicas" in capsys.readouterr().err
    assert main(["propensity", *p, "-o", str(out), "--no-progress"]) == 1
    assert "--reference" in capsys.readouterr().err


def test_cli_reads_a_manifest_folder(tmp_path, capsys):
    from glassdyn.cli import main
    ref = make_reference()
    folder = tmp_path / "ens"
    folder.mkdir()
    entries = []
    for c in range(2):
        d = folder / f"config_{c:03d}"
        d.mkdir()
        traj = make_trajectories(ref, seed=10 + c)
        r, p = write_ensemble(d, ref, traj[:3])
        entries.append({"name": f"config_{c:03d}", "reference": os.path.relpath(r, folder),
                        "replicas": [os.path.relpath(x, folder) for x in p]})
    (folder / "manifest.json").write_text(json.dumps({"dt": DT, "configurations": entries}))
    out = tmp_path / "res"
    assert main(["propensity", str(folder), "-o", str(out), "--q", "6", "--no-progress",
                 "--displacement", "plain"]) == 0, capsys.readouterr().err
    for c in range(2):
        got = read_dump(out / f"config_{c:03d}_propensity.dump")
        assert "propensity_t2" in got.properties and "bond_breaking_t0p5" in got.properties
        assert (out / f"config_{c:03d}_propensity_fs.csv").exists()


def test_cli_reads_a_simulate_ensemble_folder(tmp_path, capsys):
    """The layout written by `glassdyn simulate ensemble` (paths from glassdyn.lammps.simulate)."""
    from glassdyn.cli import main
    from glassdyn.lammps.simulate import reference_path, replica_path
    ref = make_reference()
    folder = tmp_path / "sim"
    traj = make_trajectories(ref, R=3, seed=3)
    for r in range(3):
        p = replica_path(folder, 0, r)
        p.parent.mkdir(parents=True, exist_ok=True)
        write_dump(p, replica_frames(ref, traj[r], steps=[0, 10, 20, 40]))
    write_dump(reference_path(folder, 0, "dump"), ref)
    manifest = {"task": "ensemble", "parameters": {"configurations": 1, "replicas": 3, "dt": 0.05}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "out.dump"
    assert main(["propensity", str(folder), "-o", str(out), "--q", "6", "--no-progress",
                 "--displacement", "plain"]) == 0, capsys.readouterr().err
    got = read_dump(out).sorted_by_id()
    dr = traj - traj[:, :1]
    dr -= dr.mean(axis=2, keepdims=True)
    # times use the manifest's dt = 0.05: steps 0, 10, 20, 40 -> t = 0, 0.5, 1, 2
    assert np.allclose(got.properties["propensity_t2"], (dr[:, 3] ** 2).sum(-1).mean(0))
    # an interrupted run (a replica file missing) is reported
    os.remove(replica_path(folder, 0, 1))
    assert main(["propensity", str(folder), "-o", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "1 files of configuration 0 are missing" in err and "replica_001.lammpstrj" in err


def test_cli_default_is_cage_relative_in_2d(tmp_path, capsys):
    """No flag: a 2D ensemble gives the cage-relative propensity, in a column named for it."""
    from glassdyn.cli import main
    from glassdyn.dynamics import cage_operator, cage_relative
    ref = make_reference()
    traj = make_trajectories(ref)
    r, p = write_ensemble(tmp_path, ref, traj)
    out = tmp_path / "auto.dump"
    assert main(["propensity", *p, "--reference", r, "-o", str(out), "--q", "6", "--no-progress",
                 "--times", "2", "--no-bond-breaking"]) == 0, capsys.readouterr().err
    got = read_dump(out).sorted_by_id()
    assert sorted(got.properties) == ["propensity_cr_t2"]
    dr = traj - traj[:, :1]
    dr -= dr.mean(axis=2, keepdims=True)
    cr = cage_relative(dr, cage_operator(ref, potential="ka2d"))
    assert np.allclose(got.properties["propensity_cr_t2"], (cr[:, 3] ** 2).sum(-1).mean(0))
    params = json.loads((tmp_path / "auto_params.json").read_text())
    assert params["params"]["cage_relative"] is True and params["columns"] == ["propensity_cr_t2"]
