"""OVITO modifier "Glass graph metrics": the B-particle graph of Swanson et al. (glassdyn core).

Every particle of the small species B is joined to its two nearest neighbours; the modifier
adds the per-particle flags of :func:`glassdyn.graph.graph_metrics` as particle properties
(``graph_degree``, ``graph_component``, ``graph_component_size``, ``graph_isolated_a``) and the
per-configuration counts as global attributes (``GlassGraph.n_components``,
``GlassGraph.n_bb_edges``, ``GlassGraph.n_isolated_a``, ``GlassGraph.n_edges``), which OVITO
shows in the data inspector and can plot over a trajectory.
"""
from __future__ import annotations

from ovito.data import DataCollection
from ovito.pipeline import ModifierInterface
from traits.api import Bool, Int

from ._common import SHARED_CACHE, attach, content_key, frame_from_data, glassdyn_errors

__all__ = ["GlassGraphModifier"]

#: the shared, byte-bounded cache of every glassdyn modifier (see ``_common.SHARED_CACHE``)
_CACHE = SHARED_CACHE


class GlassGraphModifier(ModifierInterface):
    """Graph metrics of Swanson et al. (Soft Matter 2020).

    Parameters (traits)
    -------------------
    b_type : int
        Type whose particles send edges (2 = B of Kob-Andersen).
    a_type : int
        Type counted as isolated when it touches no edge.
    n_neighbors : int
        Edges per B particle (2).
    force_2d : bool
        Treat the data as 2D (a 2D LAMMPS dump loads as a height-1 3D cell).
    """

    b_type = Int(2, label="Edge-sending type (B)")
    a_type = Int(1, label="Type counted when isolated (A)")
    n_neighbors = Int(2, label="Nearest neighbours per B particle")
    force_2d = Bool(False, label="Treat as 2D (height-1 dump cell)")

    def modify(self, data: DataCollection, *, frame: int, **kwargs):
        from ..graph import graph_metrics

        yield "Glass graph metrics"
        with glassdyn_errors("Glass graph metrics"):
            if self.n_neighbors < 1:
                raise ValueError(f"nearest neighbours per B particle must be at least 1, got {self.n_neighbors}")
            fr = frame_from_data(data, force_2d=self.force_2d, index=frame)
            if not (fr.types == self.b_type).any():
                present = ", ".join(str(t) for t in sorted(set(fr.types.tolist())))
                raise ValueError(f"no particle of type {self.b_type} (types present: {present}); set the "
                                 "edge-sending type to the small species")
            params = (self.b_type, self.a_type, self.n_neighbors)
            key = content_key(fr.positions, fr.types, fr.box.matrix, params=("graph", params))
            gm = _CACHE.get(key)
            if gm is None:
                gm = graph_metrics(fr, b_type=self.b_type, a_type=self.a_type, n_neighbors=self.n_neighbors)
                _CACHE.put(key, gm)
            yield 0.8
            attach(data, gm.per_particle(), frame=fr)
            for name, value in gm.counts().items():
                data.attributes[f"GlassGraph.{name}"] = int(value)
        yield 1.0
