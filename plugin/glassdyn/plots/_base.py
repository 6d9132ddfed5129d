"""The figure factory and writer every glassdyn plot uses (matplotlib's object API, Agg, no pyplot state)."""
from __future__ import annotations

import os
from pathlib import Path

from .._atomic import savefig_atomic
from ..errors import GlassdynError

__all__ = ["new_figure", "save_figure", "parse_size", "colormap"]


def parse_size(size) -> tuple[int, int]:
    """``"WxH"`` or ``(w, h)`` in pixels, checked (16 to 10000 pixels per side)."""
    if isinstance(size, str):
        try:
            w, h = (int(v) for v in size.lower().split("x"))
        except ValueError:
            raise GlassdynError(f"image size '{size}' is not of the form WIDTHxHEIGHT, e.g. 800x600") from None
    else:
        w, h = (int(v) for v in size)
    if w < 16 or h < 16 or w > 10000 or h > 10000:
        raise GlassdynError(f"image size {w}x{h} is out of range (16 to 10000 pixels per side)")
    return w, h


def new_figure(size=None, *, figsize: tuple[float, float] | None = None, dpi: int = 100, layout: str | None = None):
    """A :class:`matplotlib.figure.Figure` (not registered with pyplot, so nothing to close).

    Parameters
    ----------
    size : "WxH" or (w, h), optional
        Size in pixels (at ``dpi``).
    figsize : (float, float), optional
        Size in inches, when ``size`` is not given (default 6 x 4.5).
    dpi : int
    layout : str, optional
        matplotlib layout engine (``"constrained"``, ``"tight"``).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise GlassdynError("plots need matplotlib: pip install 'glassdyn[plots]' (or pip install matplotlib)") from None
    if size is not None:
        w, h = parse_size(size)
        figsize = (w / dpi, h / dpi)
    return Figure(figsize=figsize or (6.0, 4.5), dpi=dpi, layout=layout)


def save_figure(fig, path: str | os.PathLike, *, tight: bool = False, **savefig_kwargs) -> Path:
    """Write ``fig`` atomically (format from the suffix, PNG by default), white background; returns the path.

    ``tight=True`` crops to the drawn area (``bbox_inches="tight"``); otherwise the image has the
    figure's exact pixel size.
    """
    kw = {"dpi": fig.dpi, "facecolor": "white", **savefig_kwargs}
    if tight:
        kw["bbox_inches"] = "tight"
    return savefig_atomic(fig, path, parents=True, **kw)


def colormap(name: str):
    """A matplotlib colour map by name, or a GlassdynError listing what to use."""
    import matplotlib

    try:
        return matplotlib.colormaps[name]
    except KeyError:
        raise GlassdynError(f"unknown colour map '{name}'; use e.g. viridis, magma, jet, hot, gray or bwr") from None
