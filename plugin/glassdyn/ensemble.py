"""Iso-configurational ensembles: match replicas to their reference configuration by atom id.

Core module: it takes frames (from any reader) and returns arrays; reading replica files lives in
:mod:`glassdyn.adapters.replicas` (:func:`~glassdyn.adapters.replicas.load_ensemble`).

An iso-configurational ensemble is a set of R >= 2 runs ("replicas") started from the same
configuration (the *reference*) with different random velocities. :func:`build_ensemble`
reads each replica's frames (in any atom order: dumps may be unsorted), checks them against
the reference and stacks the unwrapped positions at the requested times into one
``(R, T, N, d)`` array whose rows follow the reference sorted by atom id.

Checks (each an :class:`~glassdyn.errors.InputError` naming the file, frame and atoms):

* fewer than 2 replicas; the same file given twice; a replica that is the reference file;
* different atom counts, ids, types or boxes than the reference;
* a replica that never moves away from the reference (the reference itself, or a copy),
  or two replicas with identical trajectories (same velocity seed);
* a replica whose t = 0 frame is not the reference configuration;
* times that are not in every replica;
* wrapped coordinates without image flags in which an atom jumps by more than half the box
  between consecutive frames (it crossed a boundary; dump ``xu yu [zu]`` or ``ix iy [iz]``).

:class:`ReplicaStream` performs the same checks replica by replica and yields each replica's
positions without stacking them (used by :func:`glassdyn.dynamics.analyze_replicas`, which needs
one replica in memory at a time); :func:`build_ensemble` is that stream, stacked.

Times are ``(timestep - origin_step) * dt`` with ``origin_step = 0`` (replicas started with
``reset_timestep 0``) and ``dt = 0.005`` by default. The origin r_i(0) of each replica is its
frame at ``origin_step`` when present; otherwise the reference positions, shifted by whole box
vectors to the periodic image nearest the replica's first frame.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .dynamics import displacements, find_jumps
from .errors import InputError, format_ids
from .frame import Frame

__all__ = ["Ensemble", "ReplicaStream", "build_ensemble", "DEFAULT_DT"]

#: Default MD timestep (Lennard-Jones time units) used to turn timesteps into times.
DEFAULT_DT = 0.005


@dataclass
class Ensemble:
    """Replicas matched to a reference configuration.

    Attributes
    ----------
    reference : Frame
        The t = 0 configuration, sorted by atom id.
    positions : ndarray, shape (R, T, N, d)
        Unwrapped positions of each replica at each time, rows in ``reference`` order.
    origins : ndarray, shape (R, N, d)
        Unwrapped positions at t = 0 of each replica (the origin of displacements).
    timesteps : ndarray of int, shape (T,)
    times : ndarray, shape (T,)
        ``(timesteps - origin_step) * dt`` (time units).
    dt : float
    sources : list of str
        One label (file name) per replica.
    """

    reference: Frame
    positions: np.ndarray
    origins: np.ndarray
    timesteps: np.ndarray
    times: np.ndarray
    dt: float = DEFAULT_DT
    sources: list = field(default_factory=list)

    @property
    def n_replicas(self) -> int:
        return self.positions.shape[0]

    def subset(self, replicas: Iterable[int]) -> "Ensemble":
        """The ensemble restricted to the given replica indices."""
        idx = np.asarray(list(replicas), dtype=np.int64)
        return Ensemble(self.reference, self.positions[idx], self.origins[idx], self.timesteps,
                        self.times, self.dt, [self.sources[k] for k in idx] if self.sources else [])

    def displacements(self, drift: bool = True) -> np.ndarray:
        """Displacements of every replica, shape (R, T, N, d) (a new array)."""
        return displacements(self.positions, self.origins, drift=drift)


def _tolerance(box) -> float:
    """Position tolerance for dumps written with 6 significant digits."""
    return 2e-5 * float(np.max(np.abs(box.matrix).sum(axis=0) + np.abs(box.origin))) + 1e-6


def _match(frame: Frame, ref: Frame, source: str, k: int) -> np.ndarray:
    """Row order that maps ``frame`` onto ``ref`` (both by id); checks count, ids, types, box."""
    where = dict(source=source, frame=k)
    if frame.n_atoms != ref.n_atoms:
        raise InputError(f"holds {frame.n_atoms} atoms, the reference {ref.label} holds {ref.n_atoms}; "
                         "every replica must contain the same atoms as the reference", **where)
    if frame.dimension != ref.dimension:
        raise InputError(f"is {frame.dimension}D, the reference is {ref.dimension}D", **where)
    order = np.argsort(frame.ids, kind="stable")
    ids = frame.ids[order]
    if not np.array_equal(ids, ref.ids):
        missing = np.setdiff1d(ref.ids, ids)
        extra = np.setdiff1d(ids, ref.ids)
        raise InputError(f"atom ids differ from the reference {ref.label}: missing "
                         f"[{format_ids(missing)}], not in the reference [{format_ids(extra)}]",
                         atom_ids=np.concatenate([missing, extra]), **where)
    bad = frame.types[order] != ref.types
    if bad.any():
        raise InputError(f"{int(bad.sum())} atoms have other types than in the reference {ref.label}",
                         atom_ids=ids[bad], **where)
    if not frame.box.same_as(ref.box, rtol=1e-6):
        raise InputError(f"box {frame.box.matrix.tolist()} (origin {frame.box.origin.tolist()}) differs from the "
                         f"reference box {ref.box.matrix.tolist()} (origin {ref.box.origin.tolist()}); "
                         "replicas must be run at constant volume (NVT) from the reference", **where)
    return order


def _replica(frames: Iterable[Frame], ref: Frame, source: str, want_steps: set | None,
             origin_step: int, tol: float):
    """Read one replica: dict timestep -> (N, d) unwrapped positions (reference order), origin."""
    kept: dict[int, np.ndarray] = {}
    steps_seen: list[int] = []
    origin = None
    prev_wrapped = None
    prev_k = None
    first_pos = None
    for k, frame in enumerate(frames):
        label = frame.source or source
        order = _match(frame, ref, label, k)
        step = frame.timestep if frame.timestep is not None else k
        if step in steps_seen:
            raise InputError(f"timestep {step} occurs twice", source=label, frame=k)
        steps_seen.append(step)
        if frame.unwrapped is not None:
            pos = frame.unwrapped[order]
        elif frame.images is not None:
            pos = frame.positions[order] + frame.images[order] @ frame.box.matrix
        else:
            pos = frame.positions[order]
            if prev_wrapped is None and step != origin_step:
                prev_wrapped = ref.box.wrap(ref.positions)  # the run starts from the reference
            if prev_wrapped is not None:
                jumped = find_jumps(prev_wrapped, pos, ref.box)
                if jumped.any():
                    before = "the reference" if prev_k is None else f"frame {prev_k}"
                    raise InputError(
                        f"wrapped coordinates without image flags: {int(jumped.sum())} atoms moved more than "
                        f"half the box since {before}, i.e. they crossed a periodic boundary and their "
                        "displacement is unknown; dump unwrapped 'xu yu [zu]' or 'x y [z] ix iy [iz]'",
                        source=label, frame=k, atom_ids=ref.ids[jumped])
            prev_wrapped, prev_k = pos, k
        if step == origin_step:
            diff = ref.box.minimum_image(pos - ref.positions)
            off = np.linalg.norm(diff, axis=1) > tol
            if off.any():
                raise InputError(f"the frame at timestep {step} (t = 0) is not the reference configuration "
                                 f"{ref.label}: {int(off.sum())} atoms differ by more than {tol:.2g}; "
                                 "give the reference these replicas were started from",
                                 source=label, frame=k, atom_ids=ref.ids[off])
            origin = pos.copy()
        if first_pos is None:
            first_pos = pos
        if want_steps is None or step in want_steps:
            kept[step] = np.array(pos, dtype=float)
    if not steps_seen:
        raise InputError("holds no frames", source=source)
    if origin is None:
        base = ref.unwrapped if ref.unwrapped is not None else ref.positions
        shift = first_pos - base
        origin = base + (shift - ref.box.minimum_image(shift))
    return kept, steps_seen, origin


class ReplicaStream:
    """Replicas read and checked one at a time, as :func:`build_ensemble` checks them.

    Iterating yields ``(r, positions, origin)`` per replica: its unwrapped positions at the
    ensemble's times, shape (T, N, d), rows in :attr:`reference` order, and its origin r_i(0),
    shape (N, d). Only one replica's frames are in memory at a time (plus the last-time positions
    of the earlier replicas, (R, N, d), for the check that no two replicas are the same run).
    Every check and message is that of :func:`build_ensemble` (which is this stream, stacked).

    Attributes
    ----------
    reference : Frame
        The reference sorted by atom id.
    sources : list of str
        One label per replica.
    dt : float
    origin_step : int
    timesteps, times : ndarray
        The ensemble's timesteps and times; known once the first replica has been read.
    """

    def __init__(self, reference: Frame, replicas: Sequence[Iterable[Frame]], *,
                 sources: Sequence[str] | None = None, times: Sequence[float] | None = None,
                 dt: float = DEFAULT_DT, origin_step: int = 0,
                 progress: Callable[[Iterable], Iterable] | None = None):
        if len(replicas) < 2:
            raise InputError(f"an iso-configurational ensemble needs at least 2 replicas, got {len(replicas)}; "
                             "give one dump per replica")
        if not (dt > 0):
            raise InputError(f"dt must be positive, got {dt}")
        self.replicas = replicas
        self.reference = reference.sorted_by_id()
        self.tol = _tolerance(self.reference.box)
        self.sources = list(sources) if sources is not None else [f"replica {r}" for r in range(len(replicas))]
        self.dt = float(dt)
        self.origin_step = origin_step
        self.progress = progress
        self.want_steps = None
        if times is not None:
            times_arr = np.atleast_1d(np.asarray(times, dtype=float))
            steps = np.rint(times_arr / dt).astype(np.int64) + origin_step
            bad = np.abs((steps - origin_step) * dt - times_arr) > 1e-6 * np.maximum(1.0, np.abs(times_arr))
            if bad.any():
                raise InputError(f"times {times_arr[bad].tolist()} are not multiples of dt = {dt:g}")
            self.want_steps = set(int(s) for s in steps) | {origin_step}
        self.timesteps = None
        self.times = None

    def __len__(self) -> int:
        return len(self.replicas)

    def __iter__(self):
        ref, names, want_steps, origin_step = self.reference, self.sources, self.want_steps, self.origin_step
        iterator = range(len(self.replicas))
        if self.progress:
            iterator = self.progress(iterator)
        step_list = None
        first_seen = None
        lasts = []
        for r in iterator:
            kept, seen, origin = _replica(self.replicas[r], ref, names[r], want_steps, origin_step, self.tol)
            later = [v for s, v in kept.items() if s != origin_step]
            if not later or all(np.abs(v - origin).max() <= self.tol for v in later):
                raise InputError(f"the particles never move away from the reference configuration: this is the "
                                 f"reference {ref.label} itself (or a copy), not a replica run from it",
                                 source=names[r])
            if want_steps is not None:
                missing = sorted(want_steps - set(seen) - {origin_step})
                if missing:
                    raise InputError(f"has no frame at time(s) {[(s - origin_step) * self.dt for s in missing]} "
                                     f"(timesteps {missing}); every requested time must be in every replica",
                                     source=names[r])
            if step_list is None:
                step_list = sorted(kept)
                first_seen = set(seen)
                self.timesteps = np.asarray(step_list, dtype=np.int64)
                self.times = (self.timesteps - origin_step) * self.dt
            elif want_steps is None and set(seen) != first_seen:
                only_here = sorted(set(seen) - first_seen)
                only_first = sorted(first_seen - set(seen))
                raise InputError(f"its times differ from those of {names[0]}: timesteps only here {only_here[:10]}, "
                                 f"missing here {only_first[:10]}; times must be in every replica "
                                 "(choose common times with --times)", source=names[r])
            positions = np.empty((len(step_list),) + ref.positions.shape)
            for k, s in enumerate(step_list):
                positions[k] = kept[s]
            del kept, later
            for q in range(r):
                if np.array_equal(lasts[q], positions[-1]):
                    raise InputError(f"has the same trajectory as {names[q]}: the replicas need different "
                                     "velocity seeds", source=names[r])
            lasts.append(positions[-1].copy())
            yield r, positions, origin


def build_ensemble(reference: Frame, replicas: Sequence[Iterable[Frame]], *, sources: Sequence[str] | None = None,
                   times: Sequence[float] | None = None, dt: float = DEFAULT_DT, origin_step: int = 0,
                   progress: Callable[[Iterable], Iterable] | None = None) -> Ensemble:
    """Match replicas to the reference by atom id, check them and stack their positions.

    Parameters
    ----------
    reference : Frame
        The configuration every replica was started from.
    replicas : sequence of iterables of Frame
        One iterable per replica, frames in time order (e.g. ``iter_dump(path)``; consumed
        lazily, one replica in memory at a time).
    sources : sequence of str, optional
        A label (file name) per replica for messages; ``frame.source`` is used otherwise.
    times : sequence of float, optional
        Times to keep (time units, ``timestep * dt``), t = 0 is always kept if present;
        every time must be in every replica. All times of the first replica by default, in
        which case every replica must hold the same timesteps.
    dt : float
        MD timestep (time units per step).
    origin_step : int
        Timestep of t = 0.
    progress : callable, optional
        Wraps the loop over replicas, e.g. ``functools.partial(tqdm.tqdm, desc="replicas")``
        (the front ends pass one; the core imports no progress library).

    Returns
    -------
    Ensemble
        Holds every replica: R * T * N * d * 8 bytes. To stream the replicas through the
        analysis instead, one at a time, use :func:`glassdyn.dynamics.analyze_replicas`.
    """
    stream = ReplicaStream(reference, replicas, sources=sources, times=times, dt=dt, origin_step=origin_step,
                           progress=progress)
    positions = None
    origins = None
    for r, pos, origin in stream:
        if positions is None:
            positions = np.empty((len(stream),) + pos.shape)
            origins = np.empty((len(stream),) + origin.shape)
        positions[r] = pos
        origins[r] = origin
    return Ensemble(stream.reference, positions, origins, stream.timesteps, stream.times, stream.dt,
                    stream.sources)
