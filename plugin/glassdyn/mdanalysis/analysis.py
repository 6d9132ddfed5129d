"""MDAnalysis ``AnalysisBase`` classes that run glassdyn's core frame by frame (see :mod:`glassdyn.mdanalysis`)."""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from MDAnalysis.analysis.base import AnalysisBase
from MDAnalysis.analysis.results import ResultsGroup

from .._util import glassdyn_version
from ..adapters.lammps_dump import write_dump
from ..adapters.mdanalysis_data import attach_to_mdanalysis, frame_from_mdanalysis, universe_from_dump
from ..descriptors import compute_features
from ..dynamics import cage_operator, cage_relative, default_cage_relative, displacements, propensity
from ..errors import GlassdynError, InputError
from ..learn import predict_frame
from ..modelfile import load_model_cached
from ..potentials import resolve_potential

__all__ = ["GlassDescriptors", "Propensity", "PropensityPrediction", "universe_from_dump", "attach_results",
           "write_results", "attribute_name"]

BACKENDS = ("serial", "multiprocessing", "dask")


def attribute_name(name: str) -> str:
    """A per-atom attribute name MDAnalysis accepts (a Python identifier): ``Theta_L2.0`` ->
    ``Theta_L2_0``, ``Predicted Propensity`` -> ``Predicted_Propensity``."""
    out = "".join(c if (c.isalnum() or c == "_") else "_" for c in str(name))
    return out if not out[:1].isdigit() else "_" + out


class _GlassdynAnalysis(AnalysisBase):
    """Common parts: parallel backends declared, frame translation with forced dimension."""

    _analysis_algorithm_is_parallelizable = True

    @classmethod
    def get_supported_backends(cls):
        return BACKENDS

    def _frame(self, atoms):
        return frame_from_mdanalysis(atoms, dimension=self._dimension, properties=False)


# ------------------------------------------------------------------------------ descriptors
class GlassDescriptors(_GlassdynAnalysis):
    """Per-particle glass descriptors of every analysed frame.

    Parameters
    ----------
    atomgroup : MDAnalysis.AtomGroup
        The atoms (normally all: descriptors need every neighbour).
    potential : str or PairPotential, optional
        Preset (``ka2d``, ``ka3d``, ``ternary2d``) for ``e``, ``phi`` and sigma; ``"auto"`` (default)
        by dimension and number of types (:func:`glassdyn.potentials.resolve_potential`).
    lengths : sequence of float
        Coarse-graining lengths L (length units).
    descriptors : sequence of str, optional
        Default set (rho, phi, e, psi6 or q6, Theta, z) when None.
    cutoffs, weighting
        As in :func:`glassdyn.descriptors.compute_features`.
    dimension : {None, 2, 3}
        None: 2D when every z is equal (MDAnalysis has no 2D flag).

    Attributes
    ----------
    results.features : ndarray, shape (n_frames, N, F)
    results.names : list of str (F)
    results.ids : ndarray (N,)
    results.params : dict
        The descriptor parameters (from the core's ``FeatureTable.params`` of the first frame).
    """

    def __init__(self, atomgroup, potential="auto", lengths=(0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0),
                 descriptors: Sequence[str] | None = None, cutoffs=None, weighting: str = "hard",
                 dimension: int | None = None, **kwargs):
        super().__init__(atomgroup.universe.trajectory, **kwargs)
        self._ag = atomgroup
        self._dimension = dimension
        self._params = dict(potential=potential, lengths=tuple(float(v) for v in lengths),
                            descriptors=None if descriptors is None else tuple(descriptors),
                            cutoffs=cutoffs, weighting=weighting)

    def _prepare(self):
        self.results.features = []
        self.results.names = []
        self.results.params = []

    def _single_frame(self):
        table = compute_features(self._frame(self._ag), **self._params)
        self.results.features.append(np.asarray(table.values, dtype=float))
        self.results.names.append(list(table.names))
        self.results.params.append(dict(table.params))

    def _get_aggregator(self):
        return ResultsGroup(lookup={"features": ResultsGroup.flatten_sequence,
                                    "names": ResultsGroup.flatten_sequence,
                                    "params": ResultsGroup.flatten_sequence})

    def _conclude(self):
        feats = self.results.features
        self.results.features = np.stack(feats) if len(feats) else np.zeros((0, self._ag.n_atoms, 0))
        self.results.names = list(self.results.names[0]) if self.results.names else []
        self.results.params = dict(self.results.params[0]) if self.results.params else {}
        self.results.ids = np.asarray(self._ag.ids)

    def columns(self, frame_index: int = 0) -> dict:
        """{name: (N,) values} of one analysed frame (for :func:`attach_results`)."""
        return {n: self.results.features[frame_index][:, k] for k, n in enumerate(self.results.names)}


# ------------------------------------------------------------------------------ propensity
class Propensity(_GlassdynAnalysis):
    """Propensity over a set of replica Universes, at every frame (time) of the replicas.

    Every replica is one iso-configurational run: a trajectory whose first frame is the
    reference configuration at t = 0 (unwrapped coordinates: open the dumps with
    :func:`universe_from_dump` ``(path, unwrapped=True)``). All replicas hold the same atoms
    (matched by id) and the same timesteps. The frames of the first replica drive the analysis;
    each parallel worker reads the same frame of every replica.

    Parameters
    ----------
    replicas : sequence of MDAnalysis.Universe
        At least 2.
    select : str
        Atom selection (applied to every replica; default all atoms).
    cage_relative : bool or "auto"
        Cage-relative displacements (neighbours at t = 0 within ``cage_cutoff``, default
        1.5 sigma_ab of ``potential``); ``"auto"`` (default): in 2D, not in 3D, as everywhere in
        glassdyn (:func:`glassdyn.dynamics.default_cage_relative`).
    absolute : bool
        ``<|dr|>`` instead of ``<|dr|^2>``.
    drift : bool
        Remove each replica's centre-of-mass drift (default True).
    potential : str, optional
        Sets the default cage cutoff (``"auto"``: by dimension and number of types).
    cage_cutoff : float or matrix, optional
    dt : float
        MD timestep: ``results.times = step * dt``.
    dimension : {None, 2, 3}

    Attributes
    ----------
    results.propensity : ndarray, shape (T, N)
        Rows in frame order, columns in increasing atom id.
    results.timesteps, results.times : ndarray (T,)
    results.ids : ndarray (N,)
    results.params : dict
    """

    def __init__(self, replicas, *, select: str = "all", cage_relative: bool | str = "auto", absolute: bool = False,
                 drift: bool = True, potential="auto", cage_cutoff=None, dt: float = 0.005,
                 dimension: int | None = None, **kwargs):
        replicas = list(replicas)
        if len(replicas) < 2:
            raise InputError(f"an iso-configurational ensemble needs at least 2 replica Universes, got "
                             f"{len(replicas)}")
        super().__init__(replicas[0].trajectory, **kwargs)
        self._replicas = replicas
        self._select = select
        self._dimension = dimension
        if not (isinstance(cage_relative, bool) or cage_relative == "auto"):
            raise InputError(f"cage_relative must be True, False or 'auto', got {cage_relative!r}")
        self._opts = dict(cage_relative=cage_relative, absolute=bool(absolute), drift=bool(drift),
                          potential=potential, cage_cutoff=cage_cutoff, dt=float(dt))
        n = replicas[0].trajectory.n_frames
        for k, u in enumerate(replicas[1:], start=1):
            if u.trajectory.n_frames != n:
                raise InputError(f"replica {k} has {u.trajectory.n_frames} frames, replica 0 has {n}; every "
                                 "replica must be dumped at the same times", source=_name(u))
        self._check_atoms()

    def _groups(self):
        out = []
        for u in self._replicas:
            ag = u.select_atoms(self._select)
            out.append(ag[np.argsort(ag.ids, kind="stable")])
        return out

    def _check_atoms(self):
        groups = self._groups()
        ref = groups[0]
        for k, ag in enumerate(groups[1:], start=1):
            if ag.n_atoms != ref.n_atoms or not np.array_equal(ag.ids, ref.ids):
                raise InputError(f"replica {k} holds other atoms than replica 0 ({ag.n_atoms} vs {ref.n_atoms} "
                                 "atoms or different ids)", source=_name(self._replicas[k]))
            if not np.array_equal(ag.types, ref.types):
                bad = ag.ids[ag.types != ref.types]
                raise InputError(f"replica {k} has other atom types than replica 0", source=_name(self._replicas[k]),
                                 atom_ids=bad)

    def _prepare(self):
        self._atoms = self._groups()
        origins = []
        for u, ag in zip(self._replicas, self._atoms):
            u.trajectory[0]
            origins.append(self._frame(ag).positions)
        self._origins = np.stack(origins)                      # (R, N, d)
        u0 = self._replicas[0]
        u0.trajectory[0]
        self._reference = self._frame(self._atoms[0])
        if self._opts["cage_relative"] == "auto":
            self._opts["cage_relative"] = default_cage_relative(self._reference.dimension)
        self._cage = None
        if self._opts["cage_relative"]:
            pot = resolve_potential(self._opts["potential"], self._reference)
            self._cage = cage_operator(self._reference, self._opts["cage_cutoff"], potential=pot)
        self.results.propensity = []
        self.results.timesteps = []

    def _single_frame(self):
        k = self._ts.frame
        pos = []
        steps = []
        for r, (u, ag) in enumerate(zip(self._replicas, self._atoms)):
            if r > 0:
                u.trajectory[k]
            fr = self._frame(ag)
            pos.append(fr.positions)
            steps.append(fr.timestep if fr.timestep is not None else k)
        if len(set(steps)) != 1:
            raise InputError(f"frame {k} holds timesteps {sorted(set(steps))} in different replicas; every "
                             "replica must be dumped at the same timesteps", frame=k)
        traj = np.stack(pos)[:, None]                           # (R, 1, N, d)
        dr = displacements(traj, self._origins, drift=self._opts["drift"])
        if self._cage is not None:
            cage_relative(dr, self._cage, out=dr)
        self.results.propensity.append(propensity(dr, absolute=self._opts["absolute"])[0])
        self.results.timesteps.append(int(steps[0]))

    def _get_aggregator(self):
        return ResultsGroup(lookup={"propensity": ResultsGroup.flatten_sequence,
                                    "timesteps": ResultsGroup.flatten_sequence})

    def _conclude(self):
        n = self._replicas[0].select_atoms(self._select).n_atoms
        self.results.propensity = (np.stack(self.results.propensity) if self.results.propensity
                                   else np.zeros((0, n)))
        self.results.timesteps = np.asarray(self.results.timesteps, dtype=np.int64)
        self.results.times = self.results.timesteps * self._opts["dt"]
        self.results.ids = np.sort(np.asarray(self._replicas[0].select_atoms(self._select).ids))
        self.results.params = dict(self._opts, n_replicas=len(self._replicas),
                                   sources=[_name(u) for u in self._replicas], glassdyn_version=glassdyn_version())

    def columns(self, frame_index: int = -1) -> dict:
        """{"Propensity": (N,)} at one analysed time (rows in increasing atom id)."""
        return {"Propensity": self.results.propensity[frame_index]}


# ------------------------------------------------------------------------------ prediction
class PropensityPrediction(_GlassdynAnalysis):
    """Predicted propensity of every analysed frame from a trained model file (``.gdm``).

    The features are recomputed with the descriptor parameters stored in the model (as
    ``glassdyn predict`` does).

    Parameters
    ----------
    atomgroup : MDAnalysis.AtomGroup
    model_file : path
        Written by ``glassdyn train`` / :func:`glassdyn.modelfile.save_model`.
    dimension : {None, 2, 3}

    Attributes
    ----------
    results.prediction : ndarray, shape (n_frames, N)
    results.std : ndarray, shape (n_frames, N) or None
        Gaussian-process predictive standard deviation.
    results.ids : ndarray (N,)
    """

    def __init__(self, atomgroup, model_file, *, dimension: int | None = None, **kwargs):
        super().__init__(atomgroup.universe.trajectory, **kwargs)
        self._ag = atomgroup
        self._dimension = dimension
        self._model_file = os.fspath(model_file)
        load_model_cached(self._model_file)  # fail early on a missing or bad file

    def _prepare(self):
        self.results.prediction = []
        self.results.std = []

    def _single_frame(self):
        model = load_model_cached(self._model_file)
        mean, std = predict_frame(model, self._frame(self._ag), compute="always")
        self.results.prediction.append(mean)
        self.results.std.append(std)

    def _get_aggregator(self):
        return ResultsGroup(lookup={"prediction": ResultsGroup.flatten_sequence,
                                    "std": ResultsGroup.flatten_sequence})

    def _conclude(self):
        pred = self.results.prediction
        self.results.prediction = np.stack(pred) if pred else np.zeros((0, self._ag.n_atoms))
        stds = self.results.std
        self.results.std = None if (not stds or stds[0] is None) else np.stack(stds)
        self.results.ids = np.asarray(self._ag.ids)

    def columns(self, frame_index: int = 0) -> dict:
        out = {"Predicted_Propensity": self.results.prediction[frame_index]}
        if self.results.std is not None:
            out["Propensity_Std"] = self.results.std[frame_index]
        return out


# ------------------------------------------------------------------------------ helpers
def _name(u) -> str:
    return str(getattr(u.trajectory, "filename", None) or "<universe>")


def _aligned(atomgroup, ids, columns: dict) -> dict:
    """Columns given for atoms ``ids`` reordered to ``atomgroup`` order (matched by id)."""
    ids = np.asarray(ids)
    order = np.argsort(ids, kind="stable")
    pos = np.clip(np.searchsorted(ids[order], atomgroup.ids), 0, len(ids) - 1)
    found = ids[order][pos] == atomgroup.ids
    if not np.all(found):
        raise InputError("atoms of the group are not in the analysis results", atom_ids=atomgroup.ids[~found])
    rows = order[pos]
    return {k: np.asarray(v)[rows] for k, v in columns.items()}


def _index_for(analysis, atomgroup, frame_index):
    """Analysed-frame index: given, or (descriptors, prediction) the frame ``atomgroup`` is at now."""
    if frame_index is not None or isinstance(analysis, Propensity):
        return -1 if frame_index is None else frame_index
    current = int(atomgroup.universe.trajectory.ts.frame)
    frames = np.asarray(getattr(analysis, "frames", []))
    hit = np.flatnonzero(frames == current)
    if hit.size == 0:
        raise InputError(f"the universe is at frame {current}, which the analysis did not analyse (frames "
                         f"{frames.tolist()[:10]}); move to an analysed frame (u.trajectory[k]) or pass frame_index",
                         source=_name(atomgroup.universe), frame=current)
    return int(hit[0])


def attach_results(atomgroup, analysis, frame_index: int | None = None) -> list[str]:
    """Store one analysed frame's per-atom results as attributes of ``atomgroup``.

    Parameters
    ----------
    atomgroup : MDAnalysis.AtomGroup
    analysis : GlassDescriptors, Propensity or PropensityPrediction
        After :meth:`run`.
    frame_index : int, optional
        Which analysed frame: by default the frame the universe is at now (descriptors,
        prediction) or the last time (propensity).

    Returns
    -------
    list of str
        The attribute names (``Theta_L2.0`` becomes ``Theta_L2_0``), e.g. ``ag.Propensity``.
    """
    if not hasattr(analysis.results, "ids"):
        raise GlassdynError("run the analysis first (analysis.run())")
    cols = _aligned(atomgroup, analysis.results.ids, analysis.columns(_index_for(analysis, atomgroup, frame_index)))
    names = []
    for name, values in cols.items():
        attr = attribute_name(name)
        attach_to_mdanalysis(atomgroup, attr, values)
        names.append(attr)
    return names


def write_results(path, atomgroup, analyses, *, frame_indices: dict | None = None, dimension: int | None = None):
    """Write the current frame of ``atomgroup`` with analysis results as extra dump columns.

    Parameters
    ----------
    path : path
        LAMMPS dump to write (atomically, via :func:`glassdyn.adapters.lammps_dump.write_dump`).
    atomgroup : MDAnalysis.AtomGroup
    analyses : analysis or sequence of analyses
        Their columns keep the core's names (``Theta_L2.0``, ``Propensity``,
        ``Predicted_Propensity``), which glassdyn and OVITO read back.
    frame_indices : dict, optional
        analysis -> analysed frame index (defaults as in :func:`attach_results`: the frame the
        universe is at, the last time for propensity).
    dimension : {None, 2, 3}

    Returns
    -------
    str
        The path written.
    """
    if not isinstance(analyses, (list, tuple)):
        analyses = [analyses]
    frame = frame_from_mdanalysis(atomgroup, dimension=dimension, properties=False)
    cols = {}
    for a in analyses:
        k = _index_for(a, atomgroup, (frame_indices or {}).get(a))
        cols.update(_aligned(atomgroup, a.results.ids, a.columns(k)))
    return write_dump(path, frame.with_properties(**cols))
