"""OVITO modifier "Information imbalance": the imbalance plane of per-particle features vs a target.

For every feature X_j (a particle property) and the target p (default ``Propensity``), the
modifier computes ``Delta(X_j -> p)`` and ``Delta(p -> X_j)`` with
:func:`glassdyn.imbalance.imbalance_plane` (features and target z-scored within the
configuration) and outputs two data tables that OVITO's data inspector shows and plots:

``information-imbalance-plane``
    scatter plot, x = ``Delta(X -> p)``, y = ``Delta(p -> X)``, one point per feature;
``information-imbalance-features``
    bar chart of ``Delta(X -> p)`` with the feature names as labels, and ``Delta(p -> X)``.

The features are the properties listed in ``features`` or, when that is empty, the ones the
"Glass descriptors" modifier added upstream (its ``GlassDescriptors.names`` attribute). The
best feature and its imbalance are also stored as global attributes
(``InformationImbalance.best_feature``, ``InformationImbalance.best_delta``).
"""
from __future__ import annotations

import numpy as np
from ovito.data import DataCollection, DataTable, ElementType
from ovito.pipeline import ModifierInterface
from traits.api import Enum, Int, Str

from ..errors import GlassdynError, InputError
from ._common import ResultCache, content_key, glassdyn_errors, ovito_name, parse_names

__all__ = ["InformationImbalanceModifier", "PLANE_TABLE", "FEATURE_TABLE"]

PLANE_TABLE = "information-imbalance-plane"
FEATURE_TABLE = "information-imbalance-features"

_CACHE = ResultCache(maxsize=16)


class InformationImbalanceModifier(ModifierInterface):
    """Information-imbalance plane of single features against a per-particle target.

    Parameters (traits)
    -------------------
    target : str
        Particle property holding the target (``Propensity`` by default).
    features : str
        Comma-separated particle properties; empty = those added by "Glass descriptors".
    ties : {"strict", "average", "random"}
        Rank rule for ties (see :mod:`glassdyn.imbalance`).
    seed : int
        Seed of the random tie rules.
    """

    target = Str("Propensity", label="Target property")
    features = Str("", label="Feature properties (comma-separated; empty = from Glass descriptors)")
    ties = Enum("average", "strict", "random", label="Tie rule for ranks")
    seed = Int(0, label="Random seed (random tie rule)")

    def _feature_names(self, data) -> list[str]:
        names = parse_names(self.features)
        if names is None:
            listed = str(data.attributes.get("GlassDescriptors.names", ""))
            names = tuple(n for n in listed.split(",") if n)
        if not names:
            raise GlassdynError("no features: insert the 'Glass descriptors' modifier before this one, or list "
                                "feature properties in 'Feature properties'")
        return [ovito_name(n) for n in names]

    def modify(self, data: DataCollection, *, frame: int, **kwargs):
        from ..imbalance import imbalance_plane

        yield "Information imbalance: collecting features"
        with glassdyn_errors("Information imbalance"):
            parts = data.particles
            if parts is None or parts.count == 0:
                raise GlassdynError("the pipeline holds no particles")
            available = list(parts.keys())
            target = ovito_name(self.target)
            if target not in available:
                raise InputError(f"no particle property '{self.target}' to use as target (have: "
                                 f"{', '.join(available)}); compute it first, e.g. with the 'Dynamic propensity' "
                                 "modifier or by loading a dump with a Propensity column", frame=frame)
            names = self._feature_names(data)
            missing = [n for n in names if n not in available]
            if missing:
                raise InputError(f"missing feature properties: {', '.join(missing)}; insert 'Glass descriptors' "
                                 "upstream or fix the list", frame=frame)
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
            key = content_key(X, p, params=(tuple(names), self.ties, self.seed))
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
        yield 1.0
