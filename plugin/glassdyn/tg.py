"""Glass transition temperature from the inherent-structure energy E_IS(T) of a cooling ramp.

Swanson et al.: E_IS(T) has a supercooled-liquid branch (E_IS falls with T) and a glass
branch (nearly flat); Tg is where two straight lines fitted to the branches cross.
"""
from __future__ import annotations

import numpy as np

from .errors import InputError

__all__ = ["two_line_fit", "tg_from_eis"]


def _line(x: np.ndarray, y: np.ndarray):
    a, b = np.polyfit(x, y, 1)
    return float(a), float(b), float(np.sum((a * x + b - y) ** 2))


def two_line_fit(temperature, energy, *, min_points: int = 3) -> dict:
    """Fit two straight lines to E(T), choosing the break point with the least total squared residual.

    Parameters
    ----------
    temperature : array_like, shape (n,)
        Temperatures (LJ units), any order.
    energy : array_like, shape (n,)
        E_IS per particle at those temperatures (energy units).
    min_points : int
        Minimum number of points on each branch.

    Returns
    -------
    dict
        ``tg`` (intersection of the lines; NaN if they are parallel), ``low`` and ``high``
        (``slope``, ``intercept`` of the glass and liquid branches), ``t_break`` (the lowest
        temperature of the liquid branch), ``residual`` (total squared residual), ``min_points``.
    """
    t = np.asarray(temperature, dtype=float).ravel()
    e = np.asarray(energy, dtype=float).ravel()
    if t.shape != e.shape:
        raise InputError(f"temperature ({t.size}) and energy ({e.size}) must have the same length")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(e))):
        raise InputError("temperature and energy must be finite")
    if t.size < 2 * min_points:
        raise InputError(f"a two-line fit needs at least {2 * min_points} points, got {t.size}")
    order = np.argsort(t, kind="stable")
    t, e = t[order], e[order]
    best = None
    for k in range(min_points, t.size - min_points + 1):  # loop over break points, not atoms
        lo = _line(t[:k], e[:k])
        hi = _line(t[k:], e[k:])
        total = lo[2] + hi[2]
        if best is None or total < best[0]:
            best = (total, k, lo, hi)
    total, k, lo, hi = best
    tg = (hi[1] - lo[1]) / (lo[0] - hi[0]) if lo[0] != hi[0] else float("nan")
    return {"tg": float(tg), "low": {"slope": lo[0], "intercept": lo[1]},
            "high": {"slope": hi[0], "intercept": hi[1]}, "t_break": float(t[k]),
            "residual": float(total), "min_points": int(min_points)}


def tg_from_eis(path, *, min_points: int = 3) -> dict:
    """Two-line fit of an ``eis.txt`` table written by ``cool.in`` (columns index step T_set T_kin E_pot E_IS)."""
    data = np.loadtxt(path, comments="#", ndmin=2)
    return two_line_fit(data[:, 2], data[:, 5], min_points=min_points)
