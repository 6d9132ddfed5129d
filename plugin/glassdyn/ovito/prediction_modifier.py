"""OVITO modifier "Propensity prediction": apply a trained glassdyn model (``.gdm``) per particle.

The model file (written by ``glassdyn train`` or :func:`glassdyn.modelfile.save_model`) holds
the feature names it was trained on and the descriptor parameters those features were computed
with. The modifier either recomputes the features with those parameters
(``features="compute"``, the default, as ``glassdyn predict`` does) or reads them from particle
properties already in the pipeline (``features="properties"``, e.g. added by the "Glass
descriptors" modifier upstream; OVITO spells ``Theta_L2.0`` as ``Theta_L2_0``).

Outputs: ``Predicted Propensity`` and, for a Gaussian-process model, ``Propensity Std`` (the
predictive standard deviation). With a property picked in ``compare_with`` (e.g. the measured
``Propensity CR`` of the "Dynamic propensity" modifier upstream) the Pearson correlation of the
prediction with it is stored as the attribute ``PropensityPrediction.pearson_r``.
"""
from __future__ import annotations

import os

import numpy as np
from ovito.data import DataCollection
from ovito.pipeline import ModifierInterface
from ovito.traits import FilePath, PropertyReference
from traits.api import Bool, Enum

from ..learn import features_for_model, predict_with_std
from ..modelfile import load_model_cached
from ..errors import GlassdynError, InputError
from ..stats import pearson
from ._common import SHARED_CACHE, attach, content_key, frame_from_data, glassdyn_errors, ovito_name, scalar_property_filter

__all__ = ["PropensityPredictionModifier"]

#: the shared, byte-bounded cache of every glassdyn modifier (see ``_common.SHARED_CACHE``)
_RESULTS = SHARED_CACHE


def _ovito_spelling(name: str) -> str:
    return str(name).replace(".", "_")


class PropensityPredictionModifier(ModifierInterface):
    """Predicted propensity from a trained model file.

    Parameters (traits)
    -------------------
    model_file : str
        Path of the ``.gdm`` model.
    features : {"compute", "properties"}
        Recompute the model's features, or read them from particle properties.
    compare_with : str (property picker)
        Optional measured propensity to correlate the prediction with (empty: none).
    force_2d : bool
        Treat the data as 2D (a 2D LAMMPS dump loads as a height-1 3D cell).
    """

    model_file = FilePath("", label="Model file (.gdm)")
    features = Enum("compute", "properties", label="Features from")
    compare_with = PropertyReference(default_value="", filter=scalar_property_filter,
                                     mode=PropertyReference.Mode.Properties,
                                     label="Compare with (optional measured propensity)")
    force_2d = Bool(False, label="Treat as 2D (height-1 dump cell)")

    def modify(self, data: DataCollection, *, frame: int, **kwargs):
        yield "Propensity prediction: loading model"
        with glassdyn_errors("Propensity prediction"):
            if not self.model_file:
                raise GlassdynError("no model file: choose a .gdm file written by 'glassdyn train'")
            model = load_model_cached(self.model_file)
            model_key = model.provenance_ + repr(getattr(model, "source_", ""))
            names = [str(n) for n in model.metadata_["feature_names"]]
            fr = frame_from_data(data, force_2d=self.force_2d, index=frame)
            if self.features == "properties":
                available = list(data.particles.keys())
                missing = [n for n in names if n not in available and _ovito_spelling(n) not in available]
                if missing:
                    shown = ", ".join(missing[:8]) + (f", ... ({len(missing)} in all)" if len(missing) > 8 else "")
                    raise InputError(f"the particles lack {len(missing)} feature(s) the model needs: {shown}; "
                                     "add them upstream with the Glass descriptors modifier (same parameters as "
                                     "in training) or set 'Features from' to compute",
                                     source=os.path.basename(self.model_file), frame=frame)
                X = np.column_stack([
                    np.asarray(data.particles[n if n in available else _ovito_spelling(n)], dtype=float)
                    for n in names])
                key = content_key(X, fr.types, params=("prediction", model_key, "properties"))
                out = _RESULTS.get(key)
                if out is None:
                    yield "Propensity prediction: predicting"
                    out = predict_with_std(model, X, names, types=fr.types)
                    _RESULTS.put(key, out)
            else:
                key = content_key(fr.positions, fr.types, fr.ids, fr.box.matrix, params=("prediction", model_key, "compute"))
                out = _RESULTS.get(key)
                if out is None:
                    yield "Propensity prediction: computing features"
                    X, names = features_for_model(model, fr, compute="always")
                    yield 0.7
                    out = predict_with_std(model, X, names, types=fr.types)
                    _RESULTS.put(key, out)
            mean, std = out
            attach(data, {"Predicted Propensity": mean}, frame=fr)
            if std is not None:
                attach(data, {"Propensity Std": std}, frame=fr)
            data.attributes["PropensityPrediction.model"] = str(model.model)
            if self.compare_with:
                ref = ovito_name(self.compare_with)
                if ref not in data.particles:
                    raise InputError(f"no particle property '{ref}' to compare the prediction with (have: "
                                     f"{', '.join(data.particles.keys())})", frame=frame)
                data.attributes["PropensityPrediction.pearson_r"] = float(
                    pearson(np.asarray(data.particles[ref], dtype=float), np.asarray(mean, dtype=float)))
        yield 1.0
