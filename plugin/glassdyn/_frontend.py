"""Helpers shared by the OVITO and MDAnalysis front ends (no ovito / MDAnalysis import here).

Front ends translate and present; the features a model needs are recomputed exactly as
``glassdyn predict`` does (:mod:`glassdyn.cli_learn`), and model files are loaded once per
(path, modification time, size).
"""
from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np

from .errors import InputError

__all__ = ["load_model_cached", "features_for_model", "predict_frame"]

_MODELS: OrderedDict = OrderedDict()


def load_model_cached(path) -> tuple[object, str]:
    """Load a ``.gdm`` model file (safe loader), cached by path, modification time and size.

    Returns
    -------
    (PropensityModel, str)
        The model and its cache key.
    """
    from .modelfile import load_model

    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    try:
        st = os.stat(path)
    except OSError:
        raise InputError("model file not found; choose a .gdm file written by 'glassdyn train'",
                         source=path) from None
    key = repr((path, st.st_mtime_ns, st.st_size))
    if key not in _MODELS:
        _MODELS[key] = load_model(path)
        while len(_MODELS) > 4:
            _MODELS.popitem(last=False)
    _MODELS.move_to_end(key)
    return _MODELS[key], key


def features_for_model(frame, model):
    """The model's feature matrix for ``frame``, recomputed with the descriptor parameters stored
    in the model file (as ``glassdyn predict --compute always`` does).

    Returns
    -------
    X : ndarray, shape (N, F)
        Columns in the model's training order, rows in frame order.
    names : list of str
    """
    from .cli_learn import _predict_frame

    meta = getattr(model, "metadata_", {}) or {}
    if not meta.get("descriptor_params"):
        raise InputError("the model file stores no descriptor parameters, so its features cannot be "
                         "recomputed; supply the feature columns instead", source=getattr(model, "source_", None))
    return _predict_frame(model, frame, "always")


def predict_frame(model, X, names) -> tuple[np.ndarray, np.ndarray | None]:
    """(prediction, standard deviation or None) for a feature matrix in the model's column order."""
    if model.model == "gp":
        mean, std = model.predict(X, return_std=True, feature_names=names)
        return np.asarray(mean, float), np.asarray(std, float)
    return np.asarray(model.predict(X, feature_names=names), float), None
