"""Replica matching (glassdyn.ensemble) and reading replica files (glassdyn.adapters.replicas) on synthetic ensembles."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from glassdyn import Box, Frame, InputError
from glassdyn.adapters import load_ensemble
from glassdyn.adapters.lammps_dump import read_dump
from glassdyn.dynamics import analyze_ensemble, displacements
from glassdyn.ensemble import build_ensemble
from synthetic_replicas import DT, STEPS, make_reference, make_trajectories, replica_frames, write_ensemble


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
    ra = analyze_ensemble(ea, potential="ka2d", q=6.0, cage_relative=False)
    rb = analyze_ensemble(eb, potential="ka2d", q=6.0, cage_relative=False)
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
