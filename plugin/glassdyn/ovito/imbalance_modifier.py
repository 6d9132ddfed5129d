"""OVITO modifier "Information imbalance": the imbalance plane of per-particle features vs a target.

For every feature X_j (a particle property) and the target p (a property picked in the panel;
by default the one the "Dynamic propensity" modifier upstream added, e.g. ``Propensity CR``), the
modifier computes ``Delta(X_j -> p)`` and ``Delta(p -> X_j)`` with
:func:`glassdyn.imbalance.imbalance_plane` (features and target z-scored within the
configuration) and outputs two data tables that OVITO's data inspector shows and plots:

``information-imbalance-plane``
    scatter plot, x = ``Delta(X -> p)``, y = ``Delta(p -> X)``, one point per feature;
``information-imbalance-features``
    bar chart of ``Delta(X -> p)`` with the feature names as labels, and ``Delta(p -> X)``.

The features are the properties listed in ``features`` (names or shell-style patterns such as
``Theta_*``; OVITO has no multi-property picker) or, when that is empty, the ones the "Glass
descriptors" modifier added upstream (its ``GlassDescriptors.names`` attribute). The best
feature and its imbalance are also stored as global attributes
(``InformationImbalance.best_feature``, ``InformationImbalance.best_delta``,
``InformationImbalance.target``).
"""
from __future__ import annotations

import numpy as np
from ovito.data import DataCollection, DataTable, ElementType
from ovito.pipeline import ModifierInterface
from ovito.traits import PropertyReference
from traits.api import Enum, Int, Str

from ..errors import GlassdynError, InputError
from ._common import (SHARED_CACHE, content_key, glassdyn_errors, match_properties, ovito_name, parse_names,
                      scalar_property_filter)

__all__ = ["InformationImbalanceModifier", "PLANE_TABLE", "FEATURE_TABLE"]

PLANE_TABLE = "information-imbalance-plane"
FEATURE_TABLE = "information-imbalance-features"

#: the shared, byte-bounded cache of every glassdyn modifier (see ``_common.SHARED_CACHE``)
_CACHE = SHARED_CACHE


class InformationImbalanceModifier(ModifierInterface):
    """Information-imbalance plane of single features against a per-particle target.

    Parameters (traits)
    -------------------
    target : str (property picker)
        Particle property holding the target. Empty (default): the property the "Dynamic
        propensity" modifier upstream wrote (its ``Propensity.property`` attribute, e.g.
        ``Propensity CR`` in 2D), else ``Propensity``.
    features : str
        Comma-separated particle properties or shell-style patterns (``Theta_*, rho_L2_0``);
        empty = those added by "Glass descriptors".
    ties : {"average", "strict", "random"}
        Rank rule for ties (see :mod:`glassdyn.imbalance`).
    seed : int
        Seed of the random tie rules.
    """

    target = PropertyReference(default_value="", filter=scalar_property_filter,
                               mode=PropertyReference.Mode.Properties,
                               label="Target property (empty: the Dynamic propensity output)")
    features = Str("", label="Feature properties (names or patterns like Theta_*; empty = from Glass descriptors)")
    ties = Enum("average", "strict", "random", label="Tie rule for ranks")
    seed = Int(0, label="Random seed (random tie rule)")

    def _target_name(self, data) -> str:
        if self.target:
            return ovito_name(self.target)
        return str(data.attributes.get("Propensity.property", "Propensity"))

    def _feature_names(self, data, available) -> list[str]:
        names = parse_names(self.features)
        if names is None:
            listed = str(data.attributes.get("GlassDescriptors.names", ""))
            names = tuple(n for n in listed.split(",") if n)
            if not names:
                raise GlassdynError("no features: insert the 'Glass descriptors' modifier before this one, or list "
                                    "feature properties (or patterns such as Theta_*) in 'Feature properties'")
            missing = [n for n in names if n not in available]
            if missing:
                raise GlassdynError(f"missing feature properties: {', '.join(missing)}; insert 'Glass descriptors' "
                                    "upstream or fix the list")
            return list(names)
        return match_properties(names, available)

    def modify(self, data: DataCollection, *, frame: int, **kwargs):
        from ..imbalance import imbalance_plane

        yield "Information imbalance: collecting features"
        with glassdyn_errors("Information imbalance"):
            parts = data.particles
            if parts is None or parts.count == 0:
                raise GlassdynError("the pipeline holds no particles")
            available = list(parts.keys())
            target = self._target_name(data)
            if target not in available:
                raise InputError(f"no particle property '{target}' to use as target (have: "
                                 f"{', '.join(available)}); compute it first, e.g. with the 'Dynamic propensity' "
                                 "modifier, load a dump with a propensity column, or pick the target property",
                                 frame=frame)
            names = [n for n in self._feature_names(data, available) if n != target]
            if not names:
                raise GlassdynError("no features left once the target is excluded")
            cols = []
            for n in names:
                col = np.asarray(parts[n], dtype=float)
                if col.ndim != 1:
                    raise InputError(f"feature property '{n}' has {col.shape[1]} components; give scalar properties",
                                     frame=frame)
                cols.append(col)
            X = np.column_stack(cols)
            p = np.asarray(parts[target], dtype=float)
            if p.ndim != 1:
                raise InputError(f"target property '{target}' must be a scalar property", frame=frame)
            key = content_key(X, p, params=("imbalance", tuple(names), self.ties, self.seed))
            plane = _CACHE.get(key)
            if plane is None:
                yield f"Information imbalance: {len(names)} features"
                plane = imbalance_plane(X, p, feature_names=names, ties=self.ties, seed=self.seed)
                _CACHE.put(key, plane)
            fwd = np.asarray(plane.forward_mean, dtype=float)
            bwd = np.asarray(plane.backward_mean, dtype=float)

            t = data.tables.create(identifier=PLANE_TABLE, title=f"Information imbalance plane ({target})",
                                   plot_mode=DataTable.PlotMode.Scatter)
            t.x = t.create_property(f"Delta(X -> {target})", data=fwd)
            t.y = t.create_property(f"Delta({target} -> X)", data=bwd)

            b = data.tables.create(identifier=FEATURE_TABLE, title=f"Information imbalance per feature ({target})",
                                   plot_mode=DataTable.PlotMode.BarChart)
            xp = b.create_property("Feature", data=np.arange(len(names), dtype=np.int32))
            for k, n in enumerate(names):
                xp.types.append(ElementType(id=k, name=n))
            b.x = xp
            b.y = b.create_property(f"Delta(X -> {target})", data=fwd)
            b.create_property(f"Delta({target} -> X)", data=bwd)

            best = int(np.argmin(fwd))
            data.attributes["InformationImbalance.best_feature"] = names[best]
            data.attributes["InformationImbalance.best_delta"] = float(fwd[best])
            data.attributes["InformationImbalance.target"] = target
        yield 1.0
