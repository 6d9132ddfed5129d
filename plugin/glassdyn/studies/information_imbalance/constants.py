"""Names shared by the pipeline, the figures and the report of the information-imbalance study."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

MODEL = "ternary2d"
DESCRIPTOR_ORDER = ("rho", "phi", "e", "psi6", "Theta", "z")
#: the paper's names of the descriptor blocks (reference arrays: block j // 10)
PAPER_NAMES = {"rho": "rho", "phi": "phi", "e": "u", "psi6": "psi6", "Theta": "Theta", "z": "z"}
LENGTHS = tuple(0.5 * k for k in range(1, 11))
REFERENCE_FILES = {
    "pearson": "descripotr_vs_propensity.npy",
    "single": "Innformation_imbalance_each_descripotr_vs_propensity.npy",
    "supervised": "Innformation_imbalance_supervised.npy",
    "unsupervised": "Innformation_imbalance_unsupervised.npy",
    "pred_supervised": "Info_imb_sup.npy",
    "pred_unsupervised": "Info_imb_unsup.npy",
    "pred_lasso": "Debias_result.npy",
    "pred_random": "Random_Results.npy",
}


def load_reference(reference_dir: str | os.PathLike | None) -> dict | None:
    """The published arrays of Sharma et al. (see the folder's README), or None when the folder or a
    file is missing. The location is always given by the caller (``glassdyn reproduce --reference``)."""
    if reference_dir is None:
        return None
    d = Path(reference_dir)
    if not d.is_dir():
        return None
    out = {}
    for key, name in REFERENCE_FILES.items():
        p = d / name
        if not p.is_file():
            return None
        out[key] = np.load(p, allow_pickle=False)
    return out
