"""OVITO modifier "Glass descriptors": per-particle structural descriptors from glassdyn's core.

Adds one particle property per feature (``rho_L1.0`` becomes ``rho_L1_0``: OVITO forbids '.'
in property names), computed by :func:`glassdyn.descriptors.compute_features`.

Usage in a script::

    from ovito.io import import_file
    from glassdyn.ovito.descriptors_modifier import GlassDescriptorsModifier
    pipeline = import_file("run.dump")
    pipeline.modifiers.append(GlassDescriptorsModifier(potential="ka2d", lengths="1:3:1"))
    data = pipeline.compute()
"""
from __future__ import annotations

from ovito.data import DataCollection
from ovito.pipeline import ModifierInterface
from traits.api import Bool, Enum, Float, Str

from ..descriptors import compute_features
from ..potentials import PRESETS
from ._common import (SHARED_CACHE, attach, content_key, frame_from_data, glassdyn_errors, ovito_name, parse_floats,
                      parse_names)

__all__ = ["GlassDescriptorsModifier"]

#: the shared, byte-bounded cache of every glassdyn modifier (see ``_common.SHARED_CACHE``)
_CACHE = SHARED_CACHE


class GlassDescriptorsModifier(ModifierInterface):
    """Per-particle glass descriptors (rho, phi, e, psi6/q6, Theta, z, coarse-grained over L).

    Parameters (traits)
    -------------------
    descriptors : str
        Comma-separated descriptor names; empty = the default set (rho, phi, e, psi6 or q6,
        Theta, z).
    lengths : str
        Coarse-graining lengths L (sigma units): ``0.5, 1.0, 2.0`` or ``start:stop:step``.
    potential : str
        Potential preset (ka2d, ka3d, ternary2d) for e, phi and Theta; ``auto`` (default) by
        dimension and number of types, as everywhere in glassdyn.
    cutoff : float
        Neighbour cutoff (sigma units); 0 = the core's default (first minimum of g_ab(r)).
    weighting : str
        Coarse-graining weights: ``hard`` (mean within L) or ``exponential`` (exp(-r/L)).
    force_2d : bool
        Treat the data as 2D (a 2D LAMMPS dump loads as a height-1 3D cell).
    """

    descriptors = Str("", label="Descriptors (comma-separated; empty = default set)")
    lengths = Str("0.5:5.0:0.5", label="Coarse-graining lengths L (list or start:stop:step)")
    potential = Enum("auto", *sorted(PRESETS), label="Potential preset")
    cutoff = Float(0.0, label="Neighbour cutoff (0 = first minimum of g(r))")
    weighting = Enum("hard", "exponential", label="Coarse-graining weights")
    force_2d = Bool(False, label="Treat as 2D (height-1 dump cell)")

    def _params(self) -> dict:
        return dict(potential=self.potential,
                    lengths=parse_floats(self.lengths, "coarse-graining lengths"),
                    descriptors=parse_names(self.descriptors),
                    cutoffs=None if self.cutoff <= 0 else float(self.cutoff),
                    weighting=self.weighting)

    def modify(self, data: DataCollection, *, frame: int, **kwargs):
        yield "Glass descriptors: reading particles"
        with glassdyn_errors("Glass descriptors"):
            params = self._params()
            fr = frame_from_data(data, force_2d=self.force_2d, index=frame)
            key = content_key(fr.positions, fr.types, fr.ids, fr.box.matrix, params=("descriptors", sorted(params.items(), key=str)))
            table = _CACHE.get(key)
            if table is None:
                yield "Glass descriptors: computing"
                yield 0.1
                table = compute_features(fr, **params)
                _CACHE.put(key, table)
            yield 0.9
            attach(data, table.feature_columns(), frame=fr)
            # the names (OVITO spelling) tell downstream modifiers (Information imbalance) what was added
            data.attributes["GlassDescriptors.names"] = ",".join(ovito_name(n) for n in table.names)
        yield 1.0
