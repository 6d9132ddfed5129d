"""Small synthetic inputs shared by tests (descriptors, describe CLI, OVITO, MDAnalysis, render, examples).

No LAMMPS: a jittered 2D (or 3D) lattice with Kob-Andersen types, a Kob-Andersen configuration
relaxed from random positions, and iso-configurational "replicas" made of random walks whose
step size varies smoothly in space (so the propensity has structure a model can learn).
"""
from __future__ import annotations

import os

import numpy as np

from glassdyn import Box, Frame, get_potential, neighbor_list
from glassdyn.adapters.lammps_dump import write_dump


def configuration(n_side: int = 12, dimension: int = 2, seed: int = 0, density: float = 1.2) -> Frame:
    """A jittered square (cubic) lattice of ``n_side**d`` atoms, types 1:2 about 65:35."""
    rng = np.random.default_rng(seed)
    n = n_side ** dimension
    L = (n / density) ** (1.0 / dimension)
    a = L / n_side
    grid = np.stack(np.meshgrid(*[np.arange(n_side)] * dimension, indexing="ij"), axis=-1).reshape(-1, dimension)
    pos = (grid + 0.5) * a + rng.normal(0, 0.08 * a, (n, dimension))
    types = np.where(rng.random(n) < 0.35, 2, 1)
    box = Box.orthorhombic([L] * dimension)
    return Frame(box.wrap(pos), types, box, ids=np.arange(1, n + 1), source="synthetic", index=0, timestep=0)


def relaxed(pot_name: str, n: int, seed: int = 0, steps: int = 250) -> Frame:
    """A ka2d/ka3d configuration: random positions relaxed by capped steepest descent."""
    pot = get_potential(pot_name)
    d = pot.dimension
    L = pot.box_length(n)
    rng = np.random.default_rng(seed)
    types = np.repeat(np.arange(1, pot.n_types + 1), pot.composition(n))
    rng.shuffle(types)
    box = Box.orthorhombic([L] * d)
    pos = rng.random((n, d)) * L
    for _ in range(steps):
        f = Frame(pos, types, box, validate=False)
        nl = neighbor_list(f, pot.max_cutoff)
        fr = pot.force(nl.distances, types[nl.i], types[nl.j])
        fvec = -(fr / nl.distances)[:, None] * nl.vectors  # force on i from j
        force = np.column_stack([np.bincount(nl.i, weights=fvec[:, k], minlength=n) for k in range(d)])
        step = 0.002 * force
        norm = np.linalg.norm(step, axis=1, keepdims=True)
        pos = pos + step * np.minimum(1.0, 0.05 / np.maximum(norm, 1e-300))
    return Frame(box.wrap(pos), types, box)


def mobility(frame: Frame) -> np.ndarray:
    """Per-atom random-walk step size, smooth in space (a 'soft' region around the box centre)."""
    L = frame.box.lengths
    x = frame.positions / L
    return 0.02 + 0.15 * np.exp(-np.sum((x - 0.5) ** 2, axis=1) / 0.05)


def replicas(reference: Frame, n_replicas: int = 4, steps=(0, 100, 200, 400), seed: int = 1) -> list[list[Frame]]:
    """Random-walk replicas: list (R) of lists (T) of frames with unwrapped coordinates."""
    rng = np.random.default_rng(seed)
    mob = mobility(reference)[:, None]
    out = []
    for r in range(n_replicas):
        frames = []
        u = reference.positions.copy()
        last = 0
        for s in steps:
            n_moves = (s - last) // 100
            for _ in range(n_moves):
                u = u + mob * rng.normal(size=u.shape)
            last = s
            frames.append(Frame(reference.box.wrap(u), reference.types, reference.box, ids=reference.ids,
                                unwrapped=u.copy(), source=f"replica_{r}", index=len(frames), timestep=s))
        out.append(frames)
    return out


def write_ensemble(folder, reference: Frame, reps: list[list[Frame]]) -> tuple[str, list[str]]:
    """Write ``reference.dump`` and ``replica_<r>.dump``; return their paths."""
    os.makedirs(folder, exist_ok=True)
    ref_path = os.path.join(folder, "reference.dump")
    write_dump(ref_path, reference)
    paths = []
    for r, frames in enumerate(reps):
        p = os.path.join(folder, f"replica_{r:02d}.dump")
        write_dump(p, frames)
        paths.append(p)
    return ref_path, paths
