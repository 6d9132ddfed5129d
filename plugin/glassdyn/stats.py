"""Column statistics shared by the analyses: Pearson r of many columns, and the constant-column test.

These are the one implementation of each; imbalance, selection, learning, the demo and the studies
all use them.
"""
from __future__ import annotations

import numpy as np

__all__ = ["pearson", "constant_columns", "CONSTANT_RTOL"]

#: A column whose standard deviation is at most this fraction of its largest magnitude is constant.
#: Rounding matters: a disc count at L = 0.5 holds only the particle itself, 1 / (pi L^2) with
#: ~1e-14 of noise, and z-scoring would turn that noise into a fake feature.
CONSTANT_RTOL = 1e-10


def pearson(x, y) -> np.ndarray | float:
    """Pearson correlation of every column of ``x`` with ``y``.

    Parameters
    ----------
    x : array_like, shape (N,) or (N, F)
    y : array_like, shape (N,)

    Returns
    -------
    float for 1-D ``x``, ndarray of shape (F,) otherwise; NaN where a column or ``y`` is constant.
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float).reshape(-1)
    one = xa.ndim == 1
    xa = xa.reshape(len(xa), -1)
    if len(xa) != len(ya):
        raise ValueError(f"pearson: x has {len(xa)} rows, y has {len(ya)}")
    xc = xa - xa.mean(axis=0)
    yc = ya - ya.mean()
    den = np.sqrt((xc * xc).sum(axis=0) * (yc @ yc))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 0, (xc.T @ yc) / np.where(den > 0, den, 1.0), np.nan)
    return float(r[0]) if one else r


def constant_columns(x) -> np.ndarray:
    """Boolean mask (F,) of the columns of ``x`` (N, F) that are constant up to rounding.

    A column is constant when its standard deviation is at most :data:`CONSTANT_RTOL` times its
    largest absolute value (an all-zero column included). Columns holding NaN or infinities are
    *not* reported as constant (they are undefined, which callers report separately).
    """
    xa = np.asarray(x, dtype=float)
    xa = xa.reshape(len(xa), -1)
    finite = np.isfinite(xa).all(axis=0)
    with np.errstate(invalid="ignore"):
        return finite & ~(xa.std(axis=0) > CONSTANT_RTOL * np.abs(xa).max(axis=0))
