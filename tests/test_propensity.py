"""Replica matching (glassdyn.replicas) and the `glassdyn propensity` command on synthetic ensembles."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from glassdyn import Box, Frame, InputError
from glassdyn.adapters.lammps_dump import read_dump, write_dump
from glassdyn.dynamics import analyze_ensemble, displacements, propensity
from glassdyn.replicas import build_ensemble, load_ensemble

STEPS = [0, 100, 200, 400]
DT = 0.005


def make_reference(n=100, seed=0):
    rng = np.random.default_rng(seed)
    m = int(round(np.sqrt(n)))
    L = np.sqrt(m * m / 1.2)
    g = np.stack(np.meshgrid(np.arange(m), np.arange(m), indexing="ij"), -1).reshape(-1, 2) * (L / m)
    box = Box.orthorhombic([L, L])
    pos = box.wrap(g + rng.normal(0, 0.05, g.shape))
    types = np.where(rng.random(len(pos)) < 0.65, 1, 2)
    return Frame(pos, types, box, ids=np.arange(1, len(pos) + 1) * 3, source="ref", index=0, timestep=0)


def make_trajectories(ref, R=4, seed=1, step=0.25):
    """Unwrapped random walks from the reference, shape (R, T, N, 2); some atoms cross the box."""
    rng = np.random.default_rng(seed)
    inc = rng.normal(0, step, (R, len(STEPS), ref.n_atoms, 2))
    inc[:, 0] = 0.0
    return ref.positions[None, None] + np.cumsum(inc, axis=1)


def replica_frames(ref, traj_r, mode="unwrapped", order=None, steps=STEPS):
    out = []
    for k, s in enumerate(steps):
        u = traj_r[k]
        w = ref.box.wrap(u)
        kw = dict(ids=ref.ids, timestep=s, index=k)
        if mode == "unwrapped":
            f = Frame(w, ref.types, ref.box, unwrapped=u, **kw)
        elif mode == "images":
            img = np.rint(ref.box.to_fractional(u) - ref.box.to_fractional(w)).astype(int)
            f = Frame(w, ref.types, ref.box, images=img, **kw)
        else:
            f = Frame(w, ref.types, ref.box, **kw)
        if order is not None:
            f = f.take(order[k] if np.ndim(order) == 2 else order)
        out.append(f)
    return out


def write_ensemble(tmp_path, ref, traj, mode="unwrapped", shuffle=None, ref_order=None):
    write_dump(tmp_path / "ref.dump", ref if ref_order is None else ref.take(ref_order))
    paths = []
    rng = np.random.default_rng(99)
    for r in range(traj.shape[0]):
        order = None
        if shuffle is not None and r == shuffle:
            order = np.stack([rng.permutation(ref.n_atoms) for _ in STEPS])
        p = tmp_path / f"rep{r}.dump"
        write_dump(p, replica_frames(ref, traj[r], mode, order))
        paths.append(str(p))
    return str(tmp_path / "ref.dump"), paths


# ----------------------------------------------------------------------------- matching
def test_ensemble_matches_by_id_and_shuffling_changes_nothing(tmp_path):
    ref = make_reference()
    traj = make_trajectories(ref)
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    ref_a, reps_a = write_ensemble(a, ref, traj)
    ref_b, reps_b = write_ensemble(b, ref, traj, shuffle=2,
                                  ref_order=np.random.default_rng(5).permutation(ref.n_atoms))
    ea = load_ensemble(reps_a, ref_a)
    eb = load_ensemble(reps_b, ref_b)
    # the shuffled file really is shuffled
    assert not np.array_equal(read_dump(reps_b[2], 1).ids, read_dump(reps_a[2], 1).ids)
    assert np.array_equal(ea.positions, eb.positions)
    assert np.allclose(ea.positions, traj)  # rows follow the reference sorted by id (ids 3, 6, 9, ...)
    assert np.allclose(ea.times, np.array(STEPS) * DT)
    ra = analyze_ensemble(ea, potential="ka2d", q=6.0)
    rb = analyze_ensemble(eb, potential="ka2d", q=6.0)
    for name in ("propensity", "bond_breaking", "fs"):
        assert np.array_equal(getattr(ra, name), getattr(rb, name), equal_nan=True)
    # and the propensity is the brute-force replica mean of |dr - drift|^2
    dr = traj - traj[:, :1]
    dr -= dr.mean(axis=2, keepdims=True)
    assert np.allclose(ra.propensity, (dr ** 2).sum(-1).mean(0))


def test_image_flags_and_wrapped_files_equal_unwrapped(tmp_path):
    ref = make_reference()
    traj = make_trajectories(ref, step=0.9)
    crossing = np.any(np.floor(ref.box.to_fractional(traj)) != 0, axis=-1).sum()
    assert crossing > 20
    for mode in ("images", "unwrapped"):
        d = tmp_path / mode
        d.mkdir()
        r, p = write_ensemble(d, ref, traj, mode=mode)
        ens = load_ensemble(p, r)
        assert np.allclose(ens.positions, traj, atol=1e-9)
        assert np.allclose(ens.displacements(), displacements(traj, traj[:, 0]), atol=1e-9)


def test_wrapped_without_images_accepted_when_no_atom_crosses():
    ref = make_reference()
    traj = make_trajectories(ref, step=0.01)
    # keep atoms away from the edges so no one crosses
    lo = ref.box.to_fractional(traj).min(axis=(0, 1))
    hi = ref.box.to_fractional(traj).max(axis=(0, 1))
    inside = np.all((lo > 0) & (hi < 1), axis=1)
    keep = np.flatnonzero(inside)
    sub = ref.take(keep)
    ens = build_ensemble(sub, [replica_frames(sub, traj[r][:, keep], "wrapped") for r in range(4)])
    assert np.allclose(ens.positions, traj[:, :, keep])


# ----------------------------------------------------------------------------- bad input
def frames_all(ref, traj, mode="unwrapped"):
    return [replica_frames(ref, traj[r], mode) for r in range(traj.shape[0])]


def test_fewer_than_two_replicas(tmp_path):
    ref = make_reference()
    traj = make_trajectories(ref)
    with pytest.raises(InputError, match="at least 2 replicas, got 1"):
        build_ensemble(ref, frames_all(ref, traj)[:1])
    r, p = write_ensemble(tmp_path, ref, traj[:2])
    with pytest.raises(InputError, match="at least 2 replicas, got 1"):
        load_ensemble(p[:1], r)


def test_different_atom_count():
    ref = make_reference()
    reps = frames_all(ref, make_trajectories(ref))
    reps[1][2] = reps[1][2].take(np.arange(ref.n_atoms - 1))
    with pytest.raises(InputError, match=r"rep1\.dump, frame 2: holds 99 atoms, the reference ref.* holds 100"):
        build_ensemble(ref, reps, sources=[f"rep{r}.dump" for r in range(4)])


def test_different_ids_named():
    ref = make_reference()
    reps = frames_all(ref, make_trajectories(ref))
    f = reps[3][1]
    ids = f.ids.copy()
    ids[7] = 1001
    reps[3][1] = Frame(f.positions, f.types, f.box, ids=ids, unwrapped=f.unwrapped, timestep=100, source="rep3.dump",
                       index=1)
    with pytest.raises(InputError, match=r"rep3\.dump, frame 1: atom ids differ.*missing \[24\].*"
                                         r"not in the reference \[1001\]") as e:
        build_ensemble(ref, reps)
    assert e.value.atom_ids == [24, 1001]


def test_different_types_named():
    ref = make_reference()
    reps = frames_all(ref, make_trajectories(ref))
    f = reps[0][3]
    types = f.types.copy()
    types[[4, 9]] = 3 - types[[4, 9]]
    reps[0][3] = Frame(f.positions, types, f.box, ids=f.ids, unwrapped=f.unwrapped, timestep=400)
    with pytest.raises(InputError, match=r"replica 0, frame 3: 2 atoms have other types.*atom ids: 15, 30"):
        build_ensemble(ref, reps)


def test_different_box():
    ref = make_reference()
    reps = frames_all(ref, make_trajectories(ref))
    f = reps[2][1]
    box = Box.orthorhombic(ref.box.lengths * 1.01)
    reps[2][1] = Frame(f.positions, f.types, box, ids=f.ids, unwrapped=f.unwrapped, timestep=100)
    with pytest.raises(InputError, match=r"replica 2, frame 1: box .* differs from the reference box.*NVT"):
        build_ensemble(ref, reps)


def test_replica_is_the_reference_file(tmp_path):
    ref = make_reference()
    r, p = write_ensemble(tmp_path, ref, make_trajectories(ref))
    with pytest.raises(InputError, match=r"ref\.dump: this replica is the reference configuration file itself"):
        load_ensemble(p[:2] + [r], r)
    # a copy under another name: caught because nothing moves
    shutil.copy(r, tmp_path / "copy.dump")
    with pytest.raises(InputError, match=r"copy\.dump: the particles never move away from the reference"):
        load_ensemble(p[:2] + [str(tmp_path / "copy.dump")], r)


def test_replica_identical_to_reference_at_all_times():
    ref = make_reference()
    traj = make_trajectories(ref)
    traj[1] = ref.positions  # every frame of replica 1 is the reference
    with pytest.raises(InputError, match="replica 1: the particles never move away from the reference"):
        build_ensemble(ref, frames_all(ref, traj))


def test_same_file_twice_and_same_seed(tmp_path):
    ref = make_reference()
    traj = make_trajectories(ref)
    r, p = write_ensemble(tmp_path, ref, traj)
    with pytest.raises(InputError, match=r"rep1\.dump: the same file is given twice"):
        load_ensemble([p[0], p[1], p[1]], r)
    traj[3] = traj[1]
    with pytest.raises(InputError, match="replica 3: has the same trajectory as replica 1.*seeds"):
        build_ensemble(ref, frames_all(ref, traj))


def test_times_not_in_every_replica():
    ref = make_reference()
    traj = make_trajectories(ref)
    reps = frames_all(ref, traj)
    reps[2] = [f for f in reps[2] if f.timestep != 200]
    with pytest.raises(InputError, match=r"replica 2: its times differ .*missing here \[200\].*--times"):
        build_ensemble(ref, reps)
    with pytest.raises(InputError, match=r"replica 2: has no frame at time\(s\) \[1\.0\] \(timesteps \[200\]\)"):
        build_ensemble(ref, frames_all(ref, traj)[:2] + [reps[2]], times=[0.5, 1.0])
    ens = build_ensemble(ref, frames_all(ref, traj)[:2] + [reps[2]], times=[0.5, 2.0])
    assert ens.times.tolist() == [0.0, 0.5, 2.0]
    assert np.allclose(ens.positions, traj[:3][:, [0, 1, 3]])


def test_wrapped_coordinates_without_images_refused_naming_atoms():
    ref = make_reference()
    traj = make_trajectories(ref, step=0.6)
    frac = ref.box.to_fractional(traj[0])
    cell = np.floor(frac)
    changed = np.any(cell[1:] != cell[:-1], axis=-1)  # (T-1, N): crossed between k and k+1
    first = int(np.flatnonzero(changed.any(axis=1))[0])  # first frame pair with a crossing
    culprits = ref.ids[changed[first]]
    with pytest.raises(InputError, match=rf"replica 0, frame {first + 1}: wrapped coordinates without image flags: "
                                         rf"{len(culprits)} atoms moved more than half the box") as e:
        build_ensemble(ref, frames_all(ref, traj, "wrapped"))
    assert sorted(e.value.atom_ids) == sorted(culprits.tolist())


def test_replica_not_started_from_reference():
    ref = make_reference()
    other = make_reference(seed=7)
    other = Frame(other.positions, ref.types, ref.box, ids=ref.ids)  # same atoms, other positions
    traj = make_trajectories(ref)
    with pytest.raises(InputError, match=r"replica 0, frame 0: the frame at timestep 0 \(t = 0\) is not the reference"):
        build_ensemble(other, frames_all(ref, traj))


def test_missing_origin_frame_uses_reference_image():
    ref = make_reference()
    traj = make_trajectories(ref)
    shift = np.array([ref.box.lengths[0] * 2, -ref.box.lengths[1]])
    traj_shifted = traj + shift  # unwrapped coordinates in another periodic image
    reps = [replica_frames(ref, traj_shifted[r][1:], steps=STEPS[1:]) for r in range(4)]
    ens = build_ensemble(ref, reps)
    assert ens.times.tolist() == [0.5, 1.0, 2.0]
    assert np.allclose(ens.displacements(drift=False), traj[:, 1:] - traj[:, :1])


# ----------------------------------------------------------------------------- command line
def test_cli_end_to_end(tmp_path, capsys):
    from glassdyn.cli import main
    ref = make_reference()
    traj = make_trajectories(ref)
    r, p = write_ensemble(tmp_path, ref, traj)
    out = tmp_path / "out" / "prop.dump"
    out.parent.mkdir()
    rc = main(["propensity", *p, "--reference", r, "-o", str(out), "--times", "0.5", "2", "--q", "6", "--plot",
               "--no-progress"])
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
    assert np.allclose(got.properties["propensity_t1"], (cr[:, 2] ** 2).sum(-1).mean(0))
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
    assert main(["propensity", str(folder), "-o", str(out), "--q", "6", "--no-progress"]) == 0, capsys.readouterr().err
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
    assert main(["propensity", str(folder), "-o", str(out), "--q", "6", "--no-progress"]) == 0, capsys.readouterr().err
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
