"""MDAnalysis ``AnalysisBase`` classes that run glassdyn's core frame by frame (see :mod:`glassdyn.mdanalysis`)."""
from __future__ import annotations

import itertools
import os
from collections.abc import Sequence

import numpy as np
from MDAnalysis.analysis.base import AnalysisBase
from MDAnalysis.analysis.results import ResultsGroup

from .._util import glassdyn_version
from ..adapters.lammps_dump import write_dump
from ..adapters.mdanalysis_data import attach_to_mdanalysis, frame_from_mdanalysis, universe_from_dump
from ..descriptors import compute_features
from ..dynamics import (DEFAULT_Q, PropensityResult, bond_breaking, cage_operator, cage_relative, default_cage_relative,
                        displacements, first_peak_q, propensity, propensity_column, self_intermediate_scattering,
                        tau_alpha)
from ..errors import GlassdynError, InputError
from ..learn import predict_frame
from ..modelfile import load_model_cached
from ..potentials import resolve_potential
from ..structure import dataset_cutoffs

__all__ = ["GlassDescriptors", "Propensity", "PropensityPrediction", "universe_from_dump", "attach_results",
           "write_results", "attribute_name", "propensity_attribute"]

BACKENDS = ("serial", "multiprocessing", "dask")


def attribute_name(name: str) -> str:
    """A per-atom attribute name MDAnalysis accepts (a Python identifier): ``Theta_L2.0`` ->
    ``Theta_L2_0``, ``Predicted Propensity`` -> ``Predicted_Propensity``."""
    out = "".join(c if (c.isalnum() or c == "_") else "_" for c in str(name))
    return out if not out[:1].isdigit() else "_" + out


def propensity_attribute(column: str) -> str:
    """Result-column / attribute name of a propensity kind (a Python identifier):
    ``propensity`` -> ``Propensity`` (plain ``<|dr|^2>``), ``propensity_cr`` -> ``Propensity_CR``
    (cage-relative), ``propensity_abs`` -> ``Propensity_Abs``, ``propensity_cr_abs`` ->
    ``Propensity_CR_Abs``. The OVITO modifier names the same kinds ``Propensity``,
    ``Propensity CR``, ...; a dump column ``Propensity_CR`` written by :func:`write_results` reads
    back in OVITO as ``propensity_cr``, the core's name of the kind.
    """
    parts = str(column).split("_")
    if parts[0] != "propensity":
        raise ValueError(f"not a propensity column name: {column!r}")
    return "_".join(["Propensity"] + [p.upper() if p == "cr" else p.capitalize() for p in parts[1:]])


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
    cutoffs : None, "rdf", "dataset", float or array_like (n_types, n_types)
        Neighbour cutoffs for z, psi6/q_l and Theta.

        * None or ``"rdf"`` (default): each frame's own first minimum of g_ab(r)
          (:func:`glassdyn.structure.neighbor_cutoffs`), so two frames may use slightly
          different neighbour shells;
        * ``"dataset"``: one set for every analysed frame, the first minimum of g_ab(r) pooled
          over exactly the frames :meth:`run` analyses (``start``/``stop``/``step``/``frames``)
          with :func:`glassdyn.structure.dataset_cutoffs`, as the command line, the demo and the
          studies do. It is computed once, in the main process, before the frames are shared out
          to the parallel workers, so every backend gives the same numbers;
        * a number or a per-type matrix (length units): given cutoffs.
    weighting
        As in :func:`glassdyn.descriptors.compute_features`.
    dimension : {None, 2, 3}
        None: 2D when every z is equal (MDAnalysis has no 2D flag).

    Attributes
    ----------
    results.features : ndarray, shape (n_frames, N, F)
    results.names : list of str (F)
    results.ids : ndarray (N,)
    results.params : dict
        The descriptor parameters (from the core's ``FeatureTable.params`` of the first frame;
        with ``cutoffs="dataset"`` they hold the cutoff matrix and ``cutoff_method``).
    results.cutoffs : ndarray (n_types, n_types) or None
        The data-set cutoffs (``cutoffs="dataset"``), else None.
    """

    def __init__(self, atomgroup, potential="auto", lengths=(0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0),
                 descriptors: Sequence[str] | None = None, cutoffs=None, weighting: str = "hard",
                 dimension: int | None = None, **kwargs):
        super().__init__(atomgroup.universe.trajectory, **kwargs)
        self._ag = atomgroup
        self._dimension = dimension
        self._dataset_cutoffs = isinstance(cutoffs, str) and cutoffs == "dataset"
        self._params = dict(potential=potential, lengths=tuple(float(v) for v in lengths),
                            descriptors=None if descriptors is None else tuple(descriptors),
                            cutoffs=None if self._dataset_cutoffs else cutoffs, weighting=weighting)
        self._cutoff_matrix = None

    def _setup_frames(self, trajectory, start=None, stop=None, step=None, frames=None):
        # Runs once per run(), in the main process and before the frames are split between the
        # workers (_prepare runs in every worker on its own share): the one place where the
        # data-set cutoffs can be computed over every frame to analyse.
        super()._setup_frames(trajectory, start=start, stop=stop, step=step, frames=frames)
        if not self._dataset_cutoffs:
            return
        frames_iter = (self._frame(self._ag) for _ in self._sliced_trajectory)
        first = next(frames_iter, None)
        if first is None:
            return
        pot = resolve_potential(self._params["potential"], first)
        cut, info = dataset_cutoffs(itertools.chain([first], frames_iter), pot)
        self._cutoff_matrix = cut
        self._params["cutoffs"] = cut
        self._params["cutoff_info"] = info

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
        self.results.cutoffs = None if self._cutoff_matrix is None else np.asarray(self._cutoff_matrix)

    def columns(self, frame_index: int = 0) -> dict:
        """{name: (N,) values} of one analysed frame (for :func:`attach_results`)."""
        return {n: self.results.features[frame_index][:, k] for k, n in enumerate(self.results.names)}


# ------------------------------------------------------------------------------ propensity
class Propensity(_GlassdynAnalysis):
    """Propensity, F_s(q, t), tau_alpha and bond breaking over a set of replica Universes.

    Every replica is one iso-configurational run: a trajectory whose first frame is the
    reference configuration at t = 0 (unwrapped coordinates: open the dumps with
    :func:`universe_from_dump` ``(path, unwrapped=True, dt=...)``). All replicas hold the same
    atoms (matched by id) and the same timesteps. The frames of the first replica drive the
    analysis; each parallel worker reads the same frame of every replica. Every number comes from
    the core functions that :func:`glassdyn.dynamics.analyze_ensemble` uses
    (:func:`~glassdyn.dynamics.propensity`, :func:`~glassdyn.dynamics.self_intermediate_scattering`,
    :func:`~glassdyn.dynamics.tau_alpha`, :func:`~glassdyn.dynamics.bond_breaking`), with the same
    defaults, so the results equal ``analyze_ensemble`` on the same replicas (to float32 round-off
    of MDAnalysis' coordinates), with every backend.

    Parameters
    ----------
    replicas : sequence of MDAnalysis.Universe
        At least 2.
    select : str
        Atom selection (applied to every replica; default all atoms).
    cage_relative : bool or "auto"
        Cage-relative displacements (neighbours at t = 0 within ``cage_cutoff``, default
        1.5 sigma_ab of ``potential``); ``"auto"`` (default): in 2D, not in 3D, as everywhere in
        glassdyn (:func:`glassdyn.dynamics.default_cage_relative`). F_s follows the same choice.
    absolute : bool
        ``<|dr|>`` instead of ``<|dr|^2>``.
    drift : bool
        Remove each replica's centre-of-mass drift (default True).
    potential : str, optional
        Sets the default cage and bond cutoffs (``"auto"``: by dimension and number of types).
    cage_cutoff : float or matrix, optional
    q : float, optional
        Wave number of F_s; default the first peak of S(q) of the reference configuration
        (:func:`glassdyn.dynamics.first_peak_q`), 2 pi if none is found.
    compute_bond_breaking : bool
        Also the bond-breaking propensity C_B (default True; cutoffs ``r_in``, ``r_out``,
        default 1.4 and 1.8 sigma_ab).
    r_in, r_out : float or matrix, optional
    dt : float
        MD timestep (LJ units, 0.005 by default): ``results.times = step * dt``. Give the same
        value to :func:`universe_from_dump` so that MDAnalysis' own ``ts.time`` agrees.
    dimension : {None, 2, 3}

    Attributes
    ----------
    results.propensity : ndarray, shape (T, N)
        Rows in frame order, columns in increasing atom id.
    results.bond_breaking : ndarray, shape (T, N) or None
        NaN for atoms without a neighbour within ``r_in`` at t = 0.
    results.fs : ndarray, shape (n_types + 1, T)
        F_s(q, t): row 0 all particles, row k type k (NaN for an absent type).
    results.fs_per_replica : ndarray, shape (R, T)
        F_s of all particles in each replica.
    results.tau_alpha : ndarray, shape (n_types + 1,)
        First time F_s falls below 1/e (all particles, then per type; NaN, with a
        ``RuntimeWarning``, when it is not reached).
    results.q : float
    results.column : str
        The core's name of the propensity kind (``propensity``, ``propensity_cr``, ...).
    results.timesteps, results.times : ndarray (T,)
    results.ids, results.types : ndarray (N,)
    results.params : dict
    """

    def __init__(self, replicas, *, select: str = "all", cage_relative: bool | str = "auto", absolute: bool = False,
                 drift: bool = True, potential="auto", cage_cutoff=None, q: float | None = None,
                 compute_bond_breaking: bool = True, r_in=None, r_out=None, dt: float = 0.005,
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
        if not (float(dt) > 0):
            raise InputError(f"dt must be a positive MD timestep, got {dt}")
        self._opts = dict(cage_relative=cage_relative, absolute=bool(absolute), drift=bool(drift),
                          potential=potential, cage_cutoff=cage_cutoff, q=q,
                          bond_breaking=bool(compute_bond_breaking), r_in=r_in, r_out=r_out, dt=float(dt))
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

    def _setup_frames(self, trajectory, start=None, stop=None, step=None, frames=None):
        # Once per run(), in the main process, before the frames go to the workers: everything that
        # depends on the reference configuration alone (dimension, cage operator, q), so that every
        # worker uses the same values and the main process knows them for _conclude.
        super()._setup_frames(trajectory, start=start, stop=stop, step=step, frames=frames)
        u0 = self._replicas[0]
        u0.trajectory[0]
        ref = self._reference = self._frame(self._groups()[0])
        cage = self._opts["cage_relative"]
        self._cage_flag = default_cage_relative(ref.dimension) if cage == "auto" else bool(cage)
        self._potential = resolve_potential(self._opts["potential"], ref)
        self._cage = None
        if self._cage_flag:
            self._cage = cage_operator(ref, self._opts["cage_cutoff"], potential=self._potential)
        if self._opts["q"] is None:
            try:
                self._q, self._q_source = first_peak_q(ref), "first peak of S(q) of the reference"
            except InputError:
                self._q, self._q_source = DEFAULT_Q, "default 2 pi / sigma_AA"
        else:
            self._q, self._q_source = float(self._opts["q"]), "given"

    def _prepare(self):
        self._atoms = self._groups()
        origins = []
        for u, ag in zip(self._replicas, self._atoms):
            u.trajectory[0]
            origins.append(self._frame(ag).positions)
        self._origins = np.stack(origins)                      # (R, N, d)
        self.results.propensity = []
        self.results.bond_breaking = []
        self.results.fs = []
        self.results.fs_per_replica = []
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
        if self._opts["bond_breaking"]:                         # from plain displacements, as the core does
            self.results.bond_breaking.append(bond_breaking(self._reference, dr, self._opts["r_in"],
                                                            self._opts["r_out"], potential=self._potential)[0])
        if self._cage is not None:
            cage_relative(dr, self._cage, out=dr)
        self.results.propensity.append(propensity(dr, absolute=self._opts["absolute"])[0])
        fs = self_intermediate_scattering(dr, self._q, types=self._reference.types, per_replica=True)
        self.results.fs.append(fs.mean(axis=0)[:, 0])           # (n_types + 1,)
        self.results.fs_per_replica.append(fs[:, 0, 0])         # (R,)
        self.results.timesteps.append(int(steps[0]))

    def _get_aggregator(self):
        return ResultsGroup(lookup={name: ResultsGroup.flatten_sequence
                                    for name in ("propensity", "bond_breaking", "fs", "fs_per_replica", "timesteps")})

    def _conclude(self):
        atoms = self._groups()[0]
        n = atoms.n_atoms
        T = len(self.results.propensity)
        self.results.propensity = np.stack(self.results.propensity) if T else np.zeros((0, n))
        bb = self.results.bond_breaking
        self.results.bond_breaking = (np.stack(bb) if bb else np.zeros((0, n))) if self._opts["bond_breaking"] else None
        ntypes = int(np.max(_int_types(atoms))) if n else 0
        self.results.fs = np.stack(self.results.fs, axis=1) if T else np.zeros((ntypes + 1, 0))
        R = len(self._replicas)
        self.results.fs_per_replica = (np.stack(self.results.fs_per_replica, axis=1) if T else np.zeros((R, 0)))
        self.results.timesteps = np.asarray(self.results.timesteps, dtype=np.int64)
        self.results.times = self.results.timesteps * self._opts["dt"]
        self.results.ids = np.asarray(atoms.ids)
        self.results.types = _int_types(atoms)
        self.results.tau_alpha = np.array([tau_alpha(self.results.times, row) if np.all(np.isfinite(row)) and T
                                           else np.nan for row in self.results.fs])
        cage = self._cage_flag
        self.results.q = float(self._q)
        self.results.column = propensity_column(cage, self._opts["absolute"])
        self.results.params = dict(self._opts, cage_relative=cage, n_replicas=R, dimension=self._reference.dimension,
                                   q=self.results.q, q_source=self._q_source,
                                   fs_cage_relative=cage, tau_alpha_level=float(1.0 / np.e),
                                   sources=[_name(u) for u in self._replicas], glassdyn_version=glassdyn_version())

    def columns(self, frame_index: int = -1) -> dict:
        """Per-atom results at one analysed time (rows in increasing atom id), named after the kind.

        ``{"Propensity_CR": (N,)}`` for the cage-relative propensity (2D default), ``Propensity``
        for the plain one (3D default), ``..._Abs`` for ``<|dr|>`` (:func:`propensity_attribute`),
        and ``Bond_Breaking`` when it was computed.
        """
        out = {propensity_attribute(self.results.column): self.results.propensity[frame_index]}
        if self.results.bond_breaking is not None:
            out["Bond_Breaking"] = self.results.bond_breaking[frame_index]
        return out

    def to_result(self) -> PropensityResult:
        """The results as the core's :class:`~glassdyn.dynamics.PropensityResult` (what
        :func:`glassdyn.dynamics.analyze_ensemble` returns), e.g. for
        :func:`glassdyn.adapters.xarray_io.propensity_dataset`."""
        if not hasattr(self.results, "column"):
            raise GlassdynError("run the analysis first (analysis.run())")
        r = self.results
        return PropensityResult(times=np.asarray(r.times, dtype=float), timesteps=np.asarray(r.timesteps),
                                ids=np.asarray(r.ids), types=np.asarray(r.types), propensity=r.propensity,
                                bond_breaking=r.bond_breaking, fs=r.fs, fs_per_replica=r.fs_per_replica,
                                tau_alpha=r.tau_alpha, q=float(r.q),
                                params=dict(r.params, absolute=self._opts["absolute"],
                                            bond_breaking=r.bond_breaking is not None, n_times=len(r.times),
                                            n_atoms=len(r.ids)))


def _int_types(atoms) -> np.ndarray:
    """Integer types of an AtomGroup as glassdyn reads them (numeric names keep their value)."""
    from ..adapters.mdanalysis_data import types_to_int

    return types_to_int(atoms.types)[0]


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
