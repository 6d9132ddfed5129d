"""From frames and labels to network inputs: windows -> images (CNN) or graphs (D-MPNN).

* :class:`ImageFeaturizer` renders a window with :func:`glassdyn.windows.window_image`
  (uint8 RGB); :meth:`ImageFeaturizer.collate` stacks images into a float tensor
  ``(B, 3, H, W)`` in ``[0, 1]``, applying the paper's augmentation during training: a rotation
  by a uniformly drawn multiple of 90 degrees, then an up-down flip with probability 0.5.
* :class:`GraphFeaturizer` builds the symmetrised k-nearest-neighbour graph of a window's
  particles (:func:`glassdyn.windows.knn_graph`, Cartesian distances in length units, which
  keeps the graph invariant under rotations) as a :class:`Graph` of numpy arrays;
  :meth:`GraphFeaturizer.collate` concatenates graphs into one
  :class:`~glassdyn.deep.mpnn.GraphBatch`, offsetting node and edge indices.

Node features are the one-hot particle type; the only edge feature is the distance. (The paper
also gave the scaled x and y coordinates of each particle as node features; they are left out
here so that the network is invariant to translations and rotations of a window.)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from ..frame import Frame
from ..windows import Window, side_range, knn_graph, random_windows, scaled_positions, window_image
from .mpnn import GraphBatch

__all__ = [
    "Graph",
    "GraphFeaturizer",
    "ImageFeaturizer",
    "augment_images",
    "collate_graphs",
    "draw_windows",
    "featurizer_from_config",
    "graph_from_points",
    "images_to_tensor",
    "reverse_index",
]


# ============================================================================ graphs
@dataclass(frozen=True, eq=False)
class Graph:
    """The k-nearest-neighbour graph of one window (numpy arrays, window-local node numbers).

    Attributes
    ----------
    types : ndarray of int64 (n,)
        Particle types (1-based).
    src, dst : ndarray of int64 (E,)
        Directed edges; every edge's reverse is present.
    dist : ndarray of float64 (E,)
        Edge lengths (length units).
    rev : ndarray of int64 (E,)
        Index of the reverse edge of each edge.
    """

    types: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    dist: np.ndarray
    rev: np.ndarray

    @property
    def n_nodes(self) -> int:
        return int(self.types.size)

    @property
    def n_edges(self) -> int:
        return int(self.src.size)


def reverse_index(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    """Index of edge ``dst -> src`` for every edge ``src -> dst`` (every reverse must exist)."""
    key = np.asarray(src, np.int64) * n + np.asarray(dst, np.int64)
    order = np.argsort(key, kind="stable")
    skey = key[order]
    want = np.asarray(dst, np.int64) * n + np.asarray(src, np.int64)
    pos = np.searchsorted(skey, want)
    pos = np.minimum(pos, max(len(skey) - 1, 0))
    if len(skey) and not np.array_equal(skey[pos], want):
        raise ValueError("the edge list is not symmetric: some edges have no reverse")
    return order[pos] if len(skey) else np.zeros(0, dtype=np.int64)


def graph_from_points(positions, types, k: int) -> Graph:
    """The symmetrised k-nearest-neighbour :class:`Graph` of points with types."""
    pos = np.asarray(positions, dtype=float)
    types = np.asarray(types, dtype=np.int64).reshape(-1)
    if len(types) != len(pos):
        raise InputError(f"{len(types)} types for {len(pos)} positions")
    src, dst, dist = knn_graph(pos, k)
    return Graph(types, src, dst, dist, reverse_index(src, dst, len(pos)))


def collate_graphs(graphs: Sequence[Graph], n_types: int, *, distance_scale: float = 1.0,
                   distance_offset: float = 0.0) -> GraphBatch:
    """Concatenate graphs into one :class:`~glassdyn.deep.mpnn.GraphBatch` (float32 tensors).

    Node ``i`` of graph ``g`` becomes node ``offset_g + i`` (``offset_g`` the number of nodes of the
    graphs before it); edges and reverse-edge indices are offset likewise. Edge features are
    ``(dist - distance_offset) / distance_scale``.
    """
    if len(graphs) == 0:
        raise InputError("cannot batch an empty list of graphs")
    n_nodes = np.array([g.n_nodes for g in graphs])
    n_edges = np.array([g.n_edges for g in graphs])
    node_off = np.concatenate([[0], np.cumsum(n_nodes)[:-1]])
    edge_off = np.concatenate([[0], np.cumsum(n_edges)[:-1]])
    types = np.concatenate([g.types for g in graphs])
    if types.size and (types.min() < 1 or types.max() > n_types):
        raise InputError(f"particle types must be in 1..{n_types} for this model, found {int(types.min())}.."
                         f"{int(types.max())}")
    x = np.zeros((types.size, n_types), dtype=np.float32)
    x[np.arange(types.size), types - 1] = 1.0
    src = np.concatenate([g.src + o for g, o in zip(graphs, node_off)])
    dst = np.concatenate([g.dst + o for g, o in zip(graphs, node_off)])
    rev = np.concatenate([g.rev + o for g, o in zip(graphs, edge_off)])
    dist = (np.concatenate([g.dist for g in graphs]) - float(distance_offset)) / float(distance_scale)
    return GraphBatch(
        x=torch.from_numpy(x),
        edge_attr=torch.from_numpy(dist.astype(np.float32).reshape(-1, 1)),
        src=torch.from_numpy(src.astype(np.int64)),
        dst=torch.from_numpy(dst.astype(np.int64)),
        rev=torch.from_numpy(rev.astype(np.int64)),
        node_graph=torch.from_numpy(np.repeat(np.arange(len(graphs)), n_nodes).astype(np.int64)),
        edge_graph=torch.from_numpy(np.repeat(np.arange(len(graphs)), n_edges).astype(np.int64)),
        n_graphs=len(graphs),
    )


# ============================================================================ images
def augment_images(images: np.ndarray, rng) -> np.ndarray:
    """The paper's augmentation of a stack of images (B, H, W, C): each is rotated by 0, 90, 180
    or 270 degrees (uniformly), then flipped upside down with probability 0.5."""
    rng = np.random.default_rng(rng)
    images = np.asarray(images)
    out = np.empty_like(images)
    turns = rng.integers(0, 4, size=len(images))
    flips = rng.random(len(images)) < 0.5
    for i, im in enumerate(images):
        im = np.rot90(im, k=int(turns[i]), axes=(0, 1))
        if flips[i]:
            im = im[::-1]
        out[i] = im
    return out


def images_to_tensor(images: np.ndarray, *, center: bool = False) -> torch.Tensor:
    """uint8 images (B, H, W, 3) to a float32 tensor (B, 3, H, W) with values in [0, 1], or in
    [-1, 1] with ``center`` (``2 x - 1``)."""
    a = np.ascontiguousarray(np.asarray(images).transpose(0, 3, 1, 2))
    t = torch.from_numpy(a).to(torch.float32).div_(255.0)
    return t.mul_(2.0).sub_(1.0) if center else t


# ============================================================================ featurizers
def _check_frame(frame: Frame) -> None:
    if not isinstance(frame, Frame):
        raise InputError(f"expected a glassdyn.frame.Frame, got {type(frame).__name__}")
    if frame.dimension != 2:
        raise InputError(f"the deep-learning classifiers need 2D configurations, this frame is "
                         f"{frame.dimension}D", source=frame.source, frame=frame.index)


def _side_json(side):
    lo, hi = side_range(side)
    return lo if lo == hi else [lo, hi]


@dataclass(frozen=True)
class ImageFeaturizer:
    """Windows to images for the CNN.

    Parameters
    ----------
    pixels : int
        Side of the rendered images (paper: 250).
    side : float or (float, float)
        Window side in scaled units; 1.0 (default) is the whole configuration, as in the paper.
    augment : bool
        Random 90-degree rotations and flips of training images.
    center : bool
        Feed the network ``2 x - 1`` (values in [-1, 1]) instead of ``x`` in [0, 1]: the mostly
        white images then have inputs of both signs, which a small CNN trained on few images
        learns from much faster (the same information).
    """

    pixels: int = 250
    side: float | tuple = 1.0
    augment: bool = True
    center: bool = False

    kind = "image"

    def __post_init__(self):
        object.__setattr__(self, "pixels", int(self.pixels))
        if self.pixels < 1:
            raise InputError(f"pixels must be >= 1, got {self.pixels}")
        s = _side_json(self.side)
        object.__setattr__(self, "side", s if isinstance(s, float) else tuple(s))
        object.__setattr__(self, "augment", bool(self.augment))
        object.__setattr__(self, "center", bool(self.center))

    @property
    def whole_frame(self) -> bool:
        """True when every window is the whole configuration (side 1)."""
        return self.side == 1.0

    def config(self) -> dict:
        return {"pixels": self.pixels, "side": _side_json(self.side), "augment": self.augment, "center": self.center}

    def windows(self, frame: Frame, n: int, seed) -> list[Window]:
        _check_frame(frame)
        return random_windows(frame, 1 if self.whole_frame else n, self.side, seed=seed)

    def encode(self, frame: Frame, window: Window) -> np.ndarray:
        _check_frame(frame)
        return window_image(frame, window, self.pixels)

    def collate(self, items: Sequence[np.ndarray], *, train: bool = False, rng=None) -> torch.Tensor:
        images = np.stack(items)
        if train and self.augment:
            images = augment_images(images, rng)
        return images_to_tensor(images, center=self.center)


@dataclass(frozen=True)
class GraphFeaturizer:
    """Windows to k-nearest-neighbour graphs for the D-MPNN.

    Parameters
    ----------
    k : int
        Nearest neighbours per particle (paper: 1-5).
    side : float or (float, float)
        Window side in scaled units (paper: 0.1-0.3).
    n_types : int
        Number of particle types (length of the one-hot node features).
    distance_scale : float
        Edge feature = (distance - distance_offset) / distance_scale (length units; 1 for
        Lennard-Jones units).
    distance_offset : float
        Subtracted from the distance first (0 by default). Nearest-neighbour distances of a dense
        liquid all lie near sigma: ``distance_offset=1, distance_scale=0.1`` gives the network
        features of order one whose differences between a liquid and a glass are not 3% of the
        value, which it learns much faster (same information).
    """

    k: int = 2
    side: float | tuple = (0.1, 0.3)
    n_types: int = 2
    distance_scale: float = 1.0
    distance_offset: float = 0.0

    kind = "graph"

    def __post_init__(self):
        object.__setattr__(self, "k", int(self.k))
        object.__setattr__(self, "n_types", int(self.n_types))
        object.__setattr__(self, "distance_scale", float(self.distance_scale))
        object.__setattr__(self, "distance_offset", float(self.distance_offset))
        if not np.isfinite(self.distance_offset):
            raise InputError(f"distance_offset must be finite, got {self.distance_offset}")
        if self.k < 1 or self.n_types < 1 or not (self.distance_scale > 0 and np.isfinite(self.distance_scale)):
            raise InputError(f"need k >= 1, n_types >= 1 and distance_scale > 0, got k={self.k}, "
                             f"n_types={self.n_types}, distance_scale={self.distance_scale}")
        s = _side_json(self.side)
        object.__setattr__(self, "side", s if isinstance(s, float) else tuple(s))

    @property
    def whole_frame(self) -> bool:
        return self.side == 1.0

    def config(self) -> dict:
        return {"k": self.k, "side": _side_json(self.side), "n_types": self.n_types,
                "distance_scale": self.distance_scale, "distance_offset": self.distance_offset}

    def windows(self, frame: Frame, n: int, seed) -> list[Window]:
        _check_frame(frame)
        return random_windows(frame, 1 if self.whole_frame else n, self.side, seed=seed)

    def encode(self, frame: Frame, window: Window) -> Graph:
        _check_frame(frame)
        types = frame.types[window.indices]
        if types.max() > self.n_types:
            raise InputError(f"the frame has particle type {int(types.max())}, the model knows types "
                             f"1..{self.n_types}", source=frame.source, frame=frame.index)
        # Cartesian positions of the wrapped coordinates (a window never crosses the box edge)
        pos = scaled_positions(frame)[window.indices] @ frame.box.matrix
        return graph_from_points(pos, types, self.k)

    def collate(self, items: Sequence[Graph], *, train: bool = False, rng=None) -> GraphBatch:
        return collate_graphs(items, self.n_types, distance_scale=self.distance_scale,
                              distance_offset=self.distance_offset)


def featurizer_from_config(kind: str, params: dict):
    """Rebuild a featurizer from ``kind`` ("image" / "graph") and its :meth:`config`."""
    cls = {"image": ImageFeaturizer, "graph": GraphFeaturizer}.get(kind)
    if cls is None:
        raise InputError(f"unknown input kind {kind!r} (expected 'image' or 'graph')")
    params = dict(params)
    if isinstance(params.get("side"), list):
        params["side"] = tuple(params["side"])
    return cls(**params)


def draw_windows(featurizer, frames: Sequence[Frame], n_per_frame: int, seed) -> list[tuple[int, Window]]:
    """``n_per_frame`` random windows of every frame (one when windows are whole frames), as
    ``(frame index, Window)`` pairs, all from one numpy generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    out = []
    for i, f in enumerate(frames):
        out.extend((i, w) for w in featurizer.windows(f, n_per_frame, rng))
    return out
