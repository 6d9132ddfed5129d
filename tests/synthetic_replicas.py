"""Synthetic iso-configurational ensembles (random walks from a jittered lattice) shared by the
replica-matching tests and the ``glassdyn propensity`` command tests."""
from __future__ import annotations

import numpy as np

from glassdyn import Box, Frame
from glassdyn.adapters.lammps_dump import write_dump

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
