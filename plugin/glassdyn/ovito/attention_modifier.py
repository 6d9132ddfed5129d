"""OVITO modifier "Glass attention": what a trained D-MPNN (Swanson et al.) looks at, per atom and per bond.

Loads a ``.gdnn`` model file (written by ``glassdyn classify --model mpnn --save-model`` or the
``glassdyn reproduce swanson`` study; loading never executes code from the file), covers the
configuration with tiles of about the model's window side (:func:`glassdyn.windows.tile_windows`),
runs the network on the k-nearest-neighbour graph of every tile and attaches
(:func:`glassdyn.deep.attention_map`):

* particle properties ``Attention`` (sum of the relative attention of the particle's bonds; the
  softmax weights of a tile times its number of directed edges, so 1 is the tile's mean bond),
  ``Attention Max`` (its strongest bond), ``Attention Tile`` and ``Probability <class>`` (the
  probability of the model's class 1 for the particle's tile, e.g. ``Probability glass``; the
  class names come from the model's metadata, else ``Probability class1``);
* bonds (the kNN graphs of the tiles, with periodic image shifts) with the bond properties
  ``Attention`` and ``High Attention`` (the authors' rule, or relative weight above
  ``threshold``), which OVITO's bond visual element can colour and scale;
* global attributes ``GlassAttention.probability`` (mean over tiles), ``GlassAttention.n_components``,
  ``.n_bb_edges``, ``.n_isolated_a``, ``.n_isolated_b`` (high-attention graph, mean per tile).

Needs the ``deep`` extra (torch) in OVITO's Python.
"""
from __future__ import annotations

import numpy as np
from ovito.data import DataCollection
from ovito.pipeline import ModifierInterface
from ovito.traits import FilePath
from traits.api import Bool, Enum, Float, Int

from ._common import SHARED_CACHE, attach, content_key, frame_from_data, glassdyn_errors

__all__ = ["GlassAttentionModifier"]

#: the shared, byte-bounded cache of every glassdyn modifier (see ``_common.SHARED_CACHE``)
_CACHE = SHARED_CACHE
#: loaded networks by (path, mtime, size): a few, small
_MODELS: dict = {}


def _model(path: str):
    import os

    from ..deep import load_model
    from ..errors import InputError
    if not os.path.isfile(path):
        raise InputError("model file not found; choose a .gdnn file", source=path)
    st = os.stat(path)
    key = content_key(params=(os.path.abspath(path), st.st_mtime_ns, st.st_size))
    clf = _MODELS.get(key)
    if clf is None:
        clf = load_model(path)
        while len(_MODELS) >= 4:
            _MODELS.pop(next(iter(_MODELS)))
        _MODELS[key] = clf
    return clf, key


class GlassAttentionModifier(ModifierInterface):
    """Per-atom and per-bond attention of an attention D-MPNN model file.

    Parameters (traits)
    -------------------
    model_file : str
        The ``.gdnn`` file (a D-MPNN trained with attention).
    tile_side : float
        Tile side in scaled units; 0 (default): the mean of the model's training window sides.
    step : {"mean", "first", "last"}
        Which attention step(s) (the network applies attention after several message-passing steps).
    threshold : float
        0 (default): the authors' rule for high-attention bonds; otherwise the relative weight above
        which a bond counts as high.
    create_bonds : bool
        Add the graph bonds with their attention (default on).
    a_type, b_type : int
        Species of the high-attention graph counts.
    force_2d : bool
        Treat the data as 2D (a 2D LAMMPS dump loads as a height-1 3D cell).
    """

    model_file = FilePath("", label="Model file (.gdnn)")
    tile_side = Float(0.0, label="Tile side (scaled; 0 = model's)")
    step = Enum("mean", "first", "last", label="Attention step")
    threshold = Float(0.0, label="High-attention threshold (0 = authors' rule)")
    create_bonds = Bool(True, label="Create bonds with attention")
    a_type = Int(1, label="Type A")
    b_type = Int(2, label="Type B")
    force_2d = Bool(False, label="Treat as 2D (height-1 dump cell)")

    def modify(self, data: DataCollection, *, frame: int, **kwargs):
        from ..deep import attention_map

        yield "Glass attention: loading model"
        with glassdyn_errors("Glass attention"):
            if not self.model_file:
                raise ValueError("no model file: choose a .gdnn D-MPNN written by 'glassdyn classify --model mpnn "
                                 "--save-model' or by the swanson study")
            clf, mkey = _model(self.model_file)
            if clf.kind != "mpnn" or not clf.model.attention:
                raise ValueError(f"{self.model_file} is a {clf.kind} model without edge attention; train a D-MPNN "
                                 "with attention")
            fr = frame_from_data(data, force_2d=self.force_2d, index=frame)
            if fr.dimension != 2:
                raise ValueError("the D-MPNN classifies 2D configurations; this one is 3D (tick 'Treat as 2D' for "
                                 "a height-1 dump cell)")
            step = {"mean": "mean", "first": 0, "last": -1}[self.step]
            threshold = "authors" if self.threshold <= 0 else float(self.threshold)
            side = None if self.tile_side <= 0 else float(self.tile_side)
            params = (mkey, side, step, threshold, self.a_type, self.b_type)
            key = content_key(fr.positions, fr.types, fr.box.matrix, params=params)
            am = _CACHE.get(key)
            if am is None:
                yield "Glass attention: running the network"
                am = attention_map(clf, fr, side=side, step=step, threshold=threshold, b_type=self.b_type,
                                   a_type=self.a_type)
                _CACHE.put(key, am)
            yield 0.8
            classes = ((getattr(clf, "metadata_", {}) or {}).get("extra") or {}).get("classes") or ["class0", "class1"]
            attach(data, {"Attention": am.atom, "Attention Max": am.atom_max, "Attention Tile": am.window,
                          f"Probability {classes[1]}": am.probability}, frame=fr)
            if self.create_bonds and len(am.pairs):
                frac = fr.box.to_fractional(fr.positions)
                d = frac[am.pairs[:, 1]] - frac[am.pairs[:, 0]]
                shift = -np.rint(d).astype(np.int64)          # minimum image: the bonds join wrapped neighbours
                if shift.shape[1] == 2:
                    shift = np.column_stack([shift, np.zeros(len(shift), np.int64)])
                bonds = data.particles_.create_bonds(count=len(am.pairs))
                bonds.create_property("Topology", data=am.pairs)
                bonds.create_property("Periodic Image", data=shift)
                bonds.create_property("Attention", data=am.bond)
                bonds.create_property("High Attention", data=am.high.astype(np.int32))
            for name, value in am.counts().items():
                data.attributes[f"GlassAttention.{name}"] = float(value)
        yield 1.0
