"""MDAnalysis front end of the D-MPNN attention (Swanson et al.): :class:`GlassAttention`.

For every analysed frame a trained attention D-MPNN (``.gdnn``) is applied to tiles of the
configuration (:func:`glassdyn.deep.attention_map`): per atom the sum of the relative attention of
its bonds (``Attention``), its strongest bond (``Attention_Max``), the probability of the model's
class 1 for its tile (``Probability``; ``results.classes`` names the classes); per bond (atom ids) the attention and whether it is a high-attention
bond; per frame the mean probability and the high-attention graph counts.

Example::

    from glassdyn.mdanalysis import universe_from_dump, attach_results
    from glassdyn.mdanalysis.attention import GlassAttention

    u = universe_from_dump("glass.lammpstrj")
    att = GlassAttention(u.atoms, "model.gdnn").run()
    att.results.probability          # (n_frames,) mean p(glass) over tiles
    attach_results(u.atoms, att)     # u.atoms.Attention, u.atoms.Probability
    att.add_bonds(u.atoms)           # the graph bonds into the topology; returns their attention

Runs on the ``serial`` backend (torch and forked worker processes do not mix well); the
network itself is fast (tens of ms per frame of a few thousand atoms).
"""
from __future__ import annotations

import os

import numpy as np
from MDAnalysis.analysis.base import AnalysisBase

from ..adapters.mdanalysis_data import frame_from_mdanalysis
from ..errors import GlassdynError, InputError

__all__ = ["GlassAttention"]


class GlassAttention(AnalysisBase):
    """Attention of an attention D-MPNN model file on every analysed frame.

    Parameters
    ----------
    atomgroup : MDAnalysis.AtomGroup
        All atoms of the 2D configuration (the network needs every neighbour).
    model_file : path
        A ``.gdnn`` D-MPNN trained with attention (``glassdyn classify --model mpnn --save-model``).
    tile_side : float, optional
        Tile side in scaled units (default: the mean of the model's window sides).
    step : "mean" or int
        Attention step(s).
    threshold : "authors" or float
        High-attention rule (:func:`glassdyn.deep.high_attention`).
    dimension : {None, 2}
        None: 2D when every z is equal.

    Attributes
    ----------
    results.attention, results.attention_max, results.probability_atoms : ndarray (n_frames, N)
    results.classes : list of str
        The model's class names (class 1 is the one whose probability is given).
    results.probability : ndarray (n_frames,)
    results.bonds : list of ndarray (M_f, 2)
        Atom ids of the bonds of each frame.
    results.bond_attention, results.bond_high : list of ndarray (M_f,)
    results.counts : list of dict
        Mean high-attention graph counts per tile (``n_components``, ``n_bb_edges``, ...).
    results.ids : ndarray (N,)
    """

    _analysis_algorithm_is_parallelizable = False

    @classmethod
    def get_supported_backends(cls):
        return ("serial",)

    def __init__(self, atomgroup, model_file, *, tile_side: float | None = None, step="mean", threshold="authors",
                 dimension: int | None = None, **kwargs):
        super().__init__(atomgroup.universe.trajectory, **kwargs)
        from ..deep import load_model
        self._ag = atomgroup
        self._dimension = dimension
        self._side = tile_side
        self._step = step
        self._threshold = threshold
        self._model_file = os.fspath(model_file)
        self._clf = load_model(self._model_file)     # fails early on a missing or unsafe file
        if self._clf.kind != "mpnn" or not self._clf.model.attention:
            raise InputError("GlassAttention needs a D-MPNN model trained with attention", source=self._model_file)

    def _prepare(self):
        for k in ("attention", "attention_max", "probability_atoms", "probability", "bonds", "bond_attention",
                  "bond_high", "counts"):
            self.results[k] = []

    def _single_frame(self):
        from ..deep import attention_map
        fr = frame_from_mdanalysis(self._ag, dimension=self._dimension, properties=False)
        if fr.dimension != 2:
            raise InputError("the D-MPNN classifies 2D configurations (all z equal); this frame is 3D",
                             source=fr.source, frame=fr.index)
        am = attention_map(self._clf, fr, side=self._side, step=self._step, threshold=self._threshold)
        r = self.results
        r.attention.append(am.atom)
        r.attention_max.append(am.atom_max)
        r.probability_atoms.append(am.probability)
        r.probability.append(float(np.mean(am.window_probability)))
        r.bonds.append(fr.ids[am.pairs])
        r.bond_attention.append(am.bond)
        r.bond_high.append(am.high)
        r.counts.append(am.counts())

    def _conclude(self):
        r = self.results
        n = self._ag.n_atoms
        for k in ("attention", "attention_max", "probability_atoms"):
            r[k] = np.stack(r[k]) if len(r[k]) else np.zeros((0, n))
        r.probability = np.asarray(r.probability, dtype=float)
        r.ids = np.asarray(self._ag.ids)
        meta = getattr(self._clf, "metadata_", {}) or {}
        r.classes = list((meta.get("extra") or {}).get("classes") or ["class0", "class1"])

    def columns(self, frame_index: int = 0) -> dict:
        """{name: (N,) values} of one analysed frame (for :func:`glassdyn.mdanalysis.attach_results`)."""
        r = self.results
        return {"Attention": r.attention[frame_index], "Attention_Max": r.attention_max[frame_index],
                "Probability": r.probability_atoms[frame_index]}

    def add_bonds(self, atomgroup=None, frame_index: int = 0) -> np.ndarray:
        """Add the graph bonds of one analysed frame to the universe's topology
        (``Universe.add_bonds``) and return their attention in the order of ``universe.bonds``
        (NaN for bonds that were there before and are not graph bonds)."""
        if not hasattr(self.results, "ids"):
            raise GlassdynError("run the analysis first (analysis.run())")
        ag = atomgroup if atomgroup is not None else self._ag
        u = ag.universe
        ids = u.atoms.ids
        order = np.argsort(ids)
        pairs = self.results.bonds[frame_index]
        idx = order[np.searchsorted(ids[order], pairs)]
        u.add_bonds([tuple(map(int, p)) for p in idx])
        value = {tuple(sorted(map(int, p))): float(v) for p, v in zip(idx, self.results.bond_attention[frame_index])}
        return np.array([value.get(tuple(sorted(map(int, b.indices))), np.nan) for b in u.bonds])
