"""Deep-learning liquid/glass classifiers (Swanson et al.): a CNN on images of configurations and
a directed message-passing network (D-MPNN) with optional edge self-attention on
k-nearest-neighbour graphs of random windows.

This subpackage is the only part of glassdyn that imports PyTorch; it needs the ``deep`` extra
(``pip install 'glassdyn[deep]'``). Importing it without torch raises :class:`ImportError`.
Submodules are imported on first use of a name::

    from glassdyn.deep import cnn_classifier, TrainConfig, save_model, load_model

Modules
-------
``cnn``        the LeNet-style CNN (:class:`~glassdyn.deep.cnn.CNN`)
``mpnn``       the D-MPNN (:class:`~glassdyn.deep.mpnn.DMPNN`) and its batch (:class:`~glassdyn.deep.mpnn.GraphBatch`)
``data``       frames + windows -> images / graphs, augmentation, batching
``train``      :class:`~glassdyn.deep.train.DeepClassifier`, the training loop and its learning-rate schedule
``modelfile``  safe save/load (zip of ``meta.json`` + ``weights.npz``; no pickle, no ``torch.load``)
``evaluate``   nested cross-validation fold by fold (:func:`~glassdyn.deep.evaluate.evaluate_fold`,
               hyperparameter :class:`~glassdyn.deep.evaluate.Candidate` sets)
``attention``  the D-MPNN's edge attention per particle and per bond, high-attention graph metrics
               (:func:`~glassdyn.deep.attention.attention_map`)
"""
from __future__ import annotations

import importlib
import importlib.util
import sys

MISSING_TORCH = "the deep-learning models need the 'deep' extra: pip install 'glassdyn[deep]'"


def _torch_available() -> bool:
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


if not _torch_available():
    raise ImportError(MISSING_TORCH, name="torch")

_EXPORTS = {
    "CNN": "cnn",
    "DMPNN": "mpnn", "GraphBatch": "mpnn",
    "ImageFeaturizer": "data", "GraphFeaturizer": "data", "Graph": "data", "graph_from_points": "data",
    "collate_graphs": "data", "augment_images": "data", "images_to_tensor": "data",
    "DeepClassifier": "train", "TrainConfig": "train", "cnn_classifier": "train",
    "mpnn_classifier": "train", "lr_schedule": "train", "resolve_device": "train",
    "save_model": "modelfile", "load_model": "modelfile", "read_meta": "modelfile",
    "Candidate": "evaluate", "evaluate_fold": "evaluate", "nested_cv": "evaluate", "fit_candidate": "evaluate",
    "score_configurations": "evaluate",
    "AttentionMap": "attention", "attention_map": "attention", "high_attention": "attention",
    "window_attention_metrics": "attention",
}

__all__ = [  # noqa: RUF022 (grouped by module)
    "CNN", "DMPNN", "GraphBatch", "ImageFeaturizer", "GraphFeaturizer", "Graph", "graph_from_points",
    "collate_graphs", "augment_images", "images_to_tensor", "DeepClassifier", "TrainConfig", "cnn_classifier",
    "mpnn_classifier", "lr_schedule", "resolve_device", "save_model", "load_model", "read_meta", "MISSING_TORCH",
    "Candidate", "evaluate_fold", "nested_cv", "fit_candidate", "score_configurations", "AttentionMap",
    "attention_map", "high_attention", "window_attention_metrics",
]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    except ImportError as exc:
        if getattr(exc, "name", None) == "torch" or "torch" in str(exc).split("'"):
            raise ImportError(MISSING_TORCH, name="torch") from exc
        raise
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
