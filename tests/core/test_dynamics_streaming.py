"""glassdyn.dynamics.analyze_replicas: replicas streamed one at a time give exactly what
analyze_ensemble(build_ensemble(...)) gives, with the same checks and messages."""
from __future__ import annotations

from unittest import mock

import numpy as np
import pytest

from glassdyn import Box, Frame, InputError
from glassdyn import dynamics
from glassdyn.dynamics import analyze_ensemble, analyze_replicas
from glassdyn.ensemble import build_ensemble
from synthetic_replicas import make_reference, make_trajectories, replica_frames

FIELDS = ("times", "timesteps", "ids", "types", "propensity", "bond_breaking", "fs", "fs_per_replica", "tau_alpha")


def frames_all(ref, traj, mode="unwrapped"):
    return [replica_frames(ref, traj[r], mode) for r in range(traj.shape[0])]


def assert_same(a, b):
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, name
        else:
            assert np.array_equal(x, y, equal_nan=True), name  # bit for bit
    assert a.q == b.q
    pa, pb = dict(a.params), dict(b.params)
    assert pa == pb


@pytest.mark.parametrize("options", [
    {"potential": "ka2d"},
    {"potential": "ka2d", "cage_relative": False, "absolute": True, "q": 6.0},
    {"potential": "ka2d", "cage_relative": True, "fs_cage_relative": False, "drift": False,
     "compute_bond_breaking": False},
    {"cage_cutoff": 1.4, "r_in": 1.3, "r_out": 1.7, "cage_relative": True},
])
@pytest.mark.parametrize("mode", ["unwrapped", "images"])
def test_streaming_equals_in_memory(options, mode):
    ref = make_reference(seed=3)
    # shuffled reference order: both paths sort by id
    ref = ref.take(np.random.default_rng(0).permutation(ref.n_atoms))
    traj = make_trajectories(ref.sorted_by_id(), R=5, step=0.4)
    srt = ref.sorted_by_id()
    kw = dict(sources=[f"rep{r}.dump" for r in range(5)], dt=0.005)
    old = analyze_ensemble(build_ensemble(ref, frames_all(srt, traj, mode), **kw), **options)
    new = analyze_replicas(ref, frames_all(srt, traj, mode), **kw, **options)
    assert_same(new, old)
    assert new.params["sources"] == kw["sources"]


def test_streaming_with_chosen_times_and_origin_from_reference():
    ref = make_reference()
    traj = make_trajectories(ref)
    reps = [replica_frames(ref, traj[r][1:], steps=[100, 200, 400]) for r in range(4)]  # no t = 0 frame
    old = analyze_ensemble(build_ensemble(ref, reps, times=[0.5, 2.0]), potential="ka2d", q=6.2)
    reps = [replica_frames(ref, traj[r][1:], steps=[100, 200, 400]) for r in range(4)]
    new = analyze_replicas(ref, reps, times=[0.5, 2.0], potential="ka2d", q=6.2)
    assert new.times.tolist() == [0.5, 2.0]
    assert_same(new, old)


def test_streaming_reads_one_replica_at_a_time():
    # each replica is read to its end and analysed before the next one is opened
    ref = make_reference()
    traj = make_trajectories(ref, R=4)
    events = []

    def logged(r):
        events.append(("open", r))
        for f in replica_frames(ref, traj[r]):
            yield f
        events.append(("read", r))

    real_add = dynamics._PropensityAccumulator.add

    def add(self, r, positions, origin):
        events.append(("analysed", r))
        assert positions.shape == (4, ref.n_atoms, 2)  # one replica's frames, never (R, T, N, d)
        return real_add(self, r, positions, origin)

    with mock.patch.object(dynamics._PropensityAccumulator, "add", add):
        analyze_replicas(ref, [logged(r) for r in range(4)], potential="ka2d", q=6.0)
    assert events == [(e, r) for r in range(4) for e in ("open", "read", "analysed")]


def bad_cases():
    ref = make_reference()
    traj = make_trajectories(ref)

    def reps():
        return frames_all(ref, traj)

    out = {}
    out["one replica"] = (ref, reps()[:1], {})
    r = reps()
    r[1][2] = r[1][2].take(np.arange(ref.n_atoms - 1))
    out["atom count"] = (ref, r, {"sources": [f"rep{k}.dump" for k in range(4)]})
    r = reps()
    f = r[0][3]
    types = f.types.copy()
    types[[4, 9]] = 3 - types[[4, 9]]
    r[0][3] = Frame(f.positions, types, f.box, ids=f.ids, unwrapped=f.unwrapped, timestep=400)
    out["types"] = (ref, r, {})
    r = reps()
    f = r[2][1]
    r[2][1] = Frame(f.positions, f.types, Box.orthorhombic(ref.box.lengths * 1.01), ids=f.ids,
                    unwrapped=f.unwrapped, timestep=100)
    out["box"] = (ref, r, {})
    t = traj.copy()
    t[1] = ref.positions
    out["never moves"] = (ref, frames_all(ref, t), {})
    t = traj.copy()
    t[3] = t[1]
    out["same seed"] = (ref, frames_all(ref, t), {})
    r = reps()
    r[2] = [f for f in r[2] if f.timestep != 200]
    out["times differ"] = (ref, r, {})
    r = reps()
    r[2] = [f for f in r[2] if f.timestep != 200]
    out["time missing"] = (ref, r, {"times": [0.5, 1.0]})
    out["not multiples of dt"] = (ref, reps(), {"times": [0.0021]})
    out["dt"] = (ref, reps(), {"dt": 0.0})
    out["wrapped jump"] = (ref, frames_all(ref, make_trajectories(ref, step=0.6), "wrapped"), {})
    other = make_reference(seed=7)
    out["not from reference"] = (Frame(other.positions, ref.types, ref.box, ids=ref.ids), reps(), {})
    return out


CASES = bad_cases()


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_inputs_named_as_before(case):
    ref, reps, kw = CASES[case]
    with pytest.raises(InputError) as old:
        analyze_ensemble(build_ensemble(ref, [list(r) for r in reps], **kw), potential="ka2d", q=6.0)
    with pytest.raises(InputError) as new:
        analyze_replicas(ref, [list(r) for r in reps], **kw, potential="ka2d", q=6.0)
    assert str(new.value) == str(old.value)
    assert new.value.atom_ids == old.value.atom_ids


def test_bad_analysis_options_named_as_before():
    ref = make_reference()
    traj = make_trajectories(ref)
    with pytest.raises(InputError, match="cage_relative must be True, False or 'auto', got 'yes'"):
        analyze_replicas(ref, frames_all(ref, traj), potential="ka2d", cage_relative="yes")
