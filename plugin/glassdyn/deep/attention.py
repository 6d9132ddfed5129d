"""The D-MPNN's edge self-attention mapped back onto particles and bonds (Swanson et al. II.4.3, III.2).

Inside one window graph with ``E`` directed edges the attention weights of a step are a softmax
over the edges (they sum to 1), so their size scales as ``1 / E``. Everything here uses the
*relative* weight ``r_vw = E a_vw`` (mean 1 in every window, comparable between windows of
different size). For a bond (an unordered pair joined in either direction) the weight is the mean
of its two directed weights; for a particle it is the sum of the weights of its bonds, "how much
attention the network pays to the bonds of this particle". With several attention steps the
weights of the steps are averaged (``step="mean"``, default) or one step is taken (``step=k``).

High-attention bonds follow the authors' published rule (glassML
``visualize_bond_attention_pooling.py``): within a window the directed weights are min-max
normalised, ``u = (a - min) / (max - min)``, and an edge is "high" when ``4 u + 0.1 > 0.11``, i.e.
``u > 0.0025``; a bond is high when either direction is. Or give ``threshold=`` a number: high
when the relative weight exceeds it. On the graph of high-attention bonds
(:func:`glassdyn.graph.metrics_from_edges`) the paper counts connected components, B-B bonds and
isolated A (and B) particles of every window.

A whole configuration is covered by non-overlapping tiles of about the training window side
(:func:`glassdyn.windows.tile_windows`): every particle gets the attention of the tile graph it
belongs to and the class probability of that tile; bonds never cross tiles.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..frame import Frame
from ..graph import GraphMetrics, metrics_from_edges, undirected_weights
from ..windows import Window, random_windows, tile_windows

__all__ = ["AUTHORS_RULE", "AttentionMap", "attention_map", "high_attention", "window_attention_metrics"]

#: the authors' threshold on min-max normalised weights (4 u + 0.1 > 0.11)
AUTHORS_RULE = 0.0025


@dataclass
class AttentionMap:
    """Attention of a D-MPNN on a configuration (see the module docstring).

    Attributes
    ----------
    atom : ndarray (N,)
        Per particle: sum of the relative attention of its bonds (0 outside every analysed window).
    atom_max : ndarray (N,)
        Per particle: the largest relative attention of its bonds.
    pairs : ndarray of int64 (M, 2)
        Bonds as frame rows ``(i, j)``, ``i < j`` (the symmetrised kNN graphs of the windows).
    bond : ndarray (M,)
        Relative attention of every bond (mean of its two directions).
    high : ndarray of bool (M,)
        High-attention bonds (``threshold`` rule).
    window : ndarray of int64 (N,)
        Index of the window holding each particle (-1: in none).
    probability : ndarray (N,)
        Probability of class 1 of the particle's window (NaN outside every window).
    window_probability : ndarray (n_windows,)
        Probability of class 1 of every window.
    windows : list of Window
    metrics : list of GraphMetrics
        Graph metrics of the high-attention bonds of every window.
    params : dict
    """

    atom: np.ndarray
    atom_max: np.ndarray
    pairs: np.ndarray
    bond: np.ndarray
    high: np.ndarray
    window: np.ndarray
    probability: np.ndarray
    window_probability: np.ndarray
    windows: list
    metrics: list
    params: dict = field(default_factory=dict)

    def per_atom(self, probability_name: str = "probability") -> dict:
        """Per-particle columns (dump column names): ``attention``, ``attention_max``,
        ``attention_window`` and ``probability_name`` (the class-1 probability of the particle's window)."""
        return {"attention": self.atom, "attention_max": self.atom_max, "attention_window": self.window,
                probability_name: self.probability}

    def counts(self) -> dict:
        """Mean over the windows of the high-attention graph counts and the class-1 probability."""
        keys = ("n_components", "n_bb_edges", "n_isolated_a", "n_isolated_b", "n_edges")
        out = {k: float(np.mean([getattr(m, k) for m in self.metrics])) if self.metrics else float("nan")
               for k in keys}
        out["probability"] = float(np.mean(self.window_probability)) if len(self.window_probability) else float("nan")
        return out


def high_attention(weights, threshold="authors") -> np.ndarray:
    """Which directed edges of one window graph are "high attention" (module docstring).

    Parameters
    ----------
    weights : array_like (E,)
        Softmax weights of the window's directed edges.
    threshold : "authors" or float
        The authors' min-max rule, or a bound on the relative weight ``E a``.
    """
    w = np.asarray(weights, dtype=float).reshape(-1)
    if w.size == 0:
        return np.zeros(0, dtype=bool)
    if isinstance(threshold, str):
        if threshold != "authors":
            raise InputError(f"threshold must be 'authors' or a number, got {threshold!r}")
        span = w.max() - w.min()
        if span <= 0:
            return np.ones(w.size, dtype=bool)
        return (w - w.min()) / span > AUTHORS_RULE
    return w * w.size > float(threshold)


def _step_weights(weights: list, step) -> np.ndarray:
    if not weights:
        raise InputError("the network returned no attention weights (built without attention)")
    if step == "mean":
        return np.mean(np.stack(weights), axis=0)
    k = int(step)
    if not -len(weights) <= k < len(weights):
        raise InputError(f"attention step {k} out of range: the network has {len(weights)} attention steps")
    return np.asarray(weights[k])


def window_attention_metrics(types, src, dst, weights, *, b_type: int = 2, a_type: int = 1,
                             threshold="authors") -> GraphMetrics:
    """Graph metrics of the high-attention bonds of one window graph.

    ``src``/``dst`` are node numbers of the window (0..n-1, ``types`` (n,)); every node of the
    window is a member (isolated particles are counted among them).
    """
    t = np.asarray(types).reshape(-1)
    hi = high_attention(weights, threshold)
    s, d = np.asarray(src)[hi], np.asarray(dst)[hi]
    return metrics_from_edges(t, np.column_stack([s, d]), b_type=b_type, a_type=a_type,
                              members=np.ones(t.size, dtype=bool), params={"threshold": threshold})


def attention_map(clf, frame: Frame, windows=None, *, side: float | None = None, step="mean",
                  threshold="authors", b_type: int = 2, a_type: int = 1) -> AttentionMap:
    """Attention of a trained attention D-MPNN on a configuration.

    Parameters
    ----------
    clf : DeepClassifier
        An ``mpnn`` built with ``attention=True``.
    frame : Frame
        A 2D configuration.
    windows : sequence of Window, int, or None
        The windows to analyse; an int draws that many random windows of the model's window side
        (seed 0); None (default) tiles the whole configuration with windows of side ``side``
        (default: the mean of the model's window sides), so every particle is covered.
    side : float, optional
        Tile side in scaled units (``windows=None`` only).
    step : "mean" or int
        Attention step(s) used.
    threshold : "authors" or float
        Rule for high-attention bonds (:func:`high_attention`).
    b_type, a_type : int
        Species of the high-attention graph counts.

    Returns
    -------
    AttentionMap
    """
    if getattr(clf, "kind", None) != "mpnn" or not getattr(clf.model, "attention", False):
        raise InputError("attention maps need a D-MPNN model built with attention (glassdyn classify --model mpnn "
                         "--attention)")
    sides = clf.featurizer.side
    mean_side = float(np.mean(sides)) if isinstance(sides, tuple) else float(sides)
    if windows is None:
        wins = tile_windows(frame, side if side is not None else mean_side)
    elif isinstance(windows, (int, np.integer)):
        wins = random_windows(frame, int(windows), sides, seed=0)
    else:
        wins = [w if isinstance(w, Window) else Window(np.asarray(w), (0.0, 0.0), 1.0) for w in windows]
    n = frame.n_atoms
    owner = np.full(n, -1, dtype=np.int64)
    all_src, all_dst, all_rel, all_high = [], [], [], []
    probs, metrics = [], []
    k_model = clf.featurizer.k
    for k, w in enumerate(wins):
        if w.n < 2:
            probs.append(np.nan)
            continue
        att = clf.attention(frame, w)
        a = _step_weights(att["weights"], step)
        E = a.size
        probs.append(float(att["proba"][1]))
        owner[w.indices] = k
        all_src.append(att["src"])
        all_dst.append(att["dst"])
        all_rel.append(a * E)
        all_high.append(high_attention(a, threshold))
        idx = np.asarray(w.indices)
        order = np.argsort(idx, kind="stable")
        ls = order[np.searchsorted(idx[order], att["src"])]      # window node numbers of the edges
        ld = order[np.searchsorted(idx[order], att["dst"])]
        metrics.append(window_attention_metrics(frame.types[idx], ls, ld, a, b_type=b_type, a_type=a_type,
                                                threshold=threshold))
    if all_src:
        src, dst = np.concatenate(all_src), np.concatenate(all_dst)
        rel, hi = np.concatenate(all_rel), np.concatenate(all_high)
        pairs, bond, atom = undirected_weights(src, dst, rel, n, reduce="mean")
        _, high_any, _ = undirected_weights(src, dst, hi.astype(float), n, reduce="sum")
        high = high_any > 0
        atom_max = np.zeros(n)
        np.maximum.at(atom_max, pairs[:, 0], bond)
        np.maximum.at(atom_max, pairs[:, 1], bond)
    else:
        pairs, bond, high = np.zeros((0, 2), np.int64), np.zeros(0), np.zeros(0, bool)
        atom, atom_max = np.zeros(n), np.zeros(n)
    wp = np.asarray(probs, dtype=float)
    prob = np.full(n, np.nan)
    inside = owner >= 0
    prob[inside] = wp[owner[inside]]
    params = {"step": step, "threshold": threshold, "n_windows": len(wins), "k": k_model,
              "tiles": windows is None, "side": side if side is not None else mean_side}
    return AttentionMap(atom, atom_max, pairs, bond, high, owner, prob, wp, list(wins), metrics, params)
