"""Pictures: per-atom property maps rendered with OVITO, and matplotlib figures.

This module is a front end: it colours and draws what the core computed; it never computes
physics itself (Pearson r in a figure title is the one number it derives, for the caption).

* :func:`render_property` renders one per-atom column of a LAMMPS dump (or of a
  :class:`~glassdyn.frame.Frame`) with OVITO: colour coding with a gradient, a colour legend,
  top view for 2D systems. OpenGL renderer (headless through Vulkan/Mesa), Tachyon as fallback.
* :func:`side_by_side` draws true and predicted maps next to each other with matplotlib, on
  one shared colour scale.
* :func:`plot_imbalance_plane`, :func:`plot_fs` and :func:`plot_learning_curve` draw the
  information-imbalance plane, F_s(q, t) curves and learning curves from arrays.

Every picture is written to a temporary file in the target folder and renamed, so a picture on
disk is never half written.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .._atomic import atomic_path, savefig_atomic
from ..errors import GlassdynError, InputError
from ..frame import Frame

__all__ = ["render_property", "side_by_side", "plot_imbalance_plane", "plot_fs", "plot_learning_curve",
           "find_property", "OVITO_GRADIENTS"]

#: colour-map names that OVITO provides natively (others are built from matplotlib)
OVITO_GRADIENTS = {
    "viridis": "Viridis", "magma": "Magma", "rainbow": "Rainbow", "jet": "Jet", "hot": "Hot",
    "gray": "Grayscale", "grey": "Grayscale", "grayscale": "Grayscale", "bwr": "BlueWhiteRed",
    "bluewhitered": "BlueWhiteRed",
}


# ----------------------------------------------------------------------------- helpers
def _normalise(name: str) -> str:
    """Name as OVITO's dump reader spells a column: lower case, non-alphanumerics -> '_'."""
    return "".join(c if c.isalnum() else "_" for c in str(name).lower())


def find_property(available: Sequence[str], name: str, *, source: str | None = None,
                  frame: int | None = None) -> str:
    """Find ``name`` among per-atom property names, tolerating OVITO's renaming.

    OVITO cannot store '.' in a property name and its dump reader writes column names in lower
    case with '_' for punctuation (``Theta_L2.0`` becomes ``theta_l2_0``); spaces and
    underscores are interchangeable (``Predicted Propensity`` / ``Predicted_Propensity``).

    Parameters
    ----------
    available : sequence of str
        Property names present.
    name : str
        Requested name.

    Returns
    -------
    str
        The matching entry of ``available``.

    Raises
    ------
    InputError
        If nothing matches; the message lists the available names.
    """
    available = list(available)
    if name in available:
        return name
    key = _normalise(name)
    matches = [a for a in available if _normalise(a) == key]
    if len(matches) >= 1:
        return matches[0]
    raise InputError(f"no per-atom property '{name}'; available: {', '.join(available) or 'none'}. "
                     "Compute it first (e.g. `glassdyn describe` or `glassdyn predict`) or pick one of these",
                     source=source, frame=frame)


def _parse_size(size) -> tuple[int, int]:
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


def _load_frame(source, frame: int, dimension: int | None) -> Frame:
    if isinstance(source, Frame):
        return source
    from ..adapters.lammps_dump import read_dump
    path = Path(source)
    if not path.exists():
        raise InputError("file not found; give the path of a LAMMPS dump", source=str(path))
    return read_dump(path, index=frame, dimension=dimension)


def _ovito_name(name: str) -> str:
    """A legal OVITO property name (OVITO refuses '.', which separates vector components)."""
    return str(name).replace(".", "_")


def frame_to_datacollection(frame: Frame, radii: Mapping[int, float] | float | None = None):
    """An OVITO ``DataCollection`` holding ``frame`` (positions, types, ids, box, properties).

    2D frames become a cell flagged ``is2D`` with z = 0. Property names containing '.' are
    stored with '_' (OVITO forbids '.'); an (N, k) column becomes k columns ``name_1`` .. ``name_k``.

    Parameters
    ----------
    frame : Frame
    radii : float or dict type -> radius, optional
        Display radii (length units); 0.5 for every type by default.
    """
    from ovito.data import DataCollection, ParticleType

    d = frame.dimension
    data = DataCollection()
    cell = np.zeros((3, 4))
    cell[:d, :d] = frame.box.matrix.T          # OVITO stores cell vectors as columns
    cell[:d, 3] = frame.box.origin
    if d == 2:
        cell[2, 2] = 1.0
        cell[2, 3] = -0.5
    c = data.create_cell(cell, pbc=(True, True, True))
    c.is2D = d == 2
    n = frame.n_atoms
    parts = data.create_particles(count=n)
    pos = np.zeros((n, 3))
    pos[:, :d] = frame.positions
    parts.create_property("Position", data=pos)
    parts.create_property("Particle Identifier", data=frame.ids)
    tprop = parts.create_property("Particle Type", data=frame.types)
    for t in np.unique(frame.types):
        if isinstance(radii, Mapping):
            r = float(radii.get(int(t), 0.5))
        else:
            r = 0.5 if radii is None else float(radii)
        tprop.types.append(ParticleType(id=int(t), name=chr(ord("A") + int(t) - 1) if t <= 26 else str(t),
                                        radius=r))
    for key, col in frame.properties.items():
        col = np.asarray(col)
        if col.ndim == 1:
            if np.issubdtype(col.dtype, np.number):
                parts.create_property(_ovito_name(key), data=col.astype(float))
        else:
            for k in range(col.shape[1]):
                parts.create_property(_ovito_name(f"{key}_{k + 1}"), data=col[:, k].astype(float))
    return data


def _gradient(cmap: str, workdir: str):
    from ovito.modifiers import ColorCodingModifier

    native = OVITO_GRADIENTS.get(cmap.lower().replace("-", "").replace("_", ""))
    if native is not None:
        return getattr(ColorCodingModifier, native)()
    try:
        import matplotlib
        colormap = matplotlib.colormaps[cmap]
    except (ImportError, KeyError):
        raise GlassdynError(f"unknown colour map '{cmap}'; use one of {', '.join(sorted(OVITO_GRADIENTS))} "
                            "or a matplotlib colour-map name (matplotlib installed)") from None
    from PIL import Image
    rgb = (colormap(np.linspace(0.0, 1.0, 256))[:, :3] * 255).astype(np.uint8)[None, :, :]
    path = os.path.join(workdir, "gradient.png")
    Image.fromarray(np.repeat(rgb, 4, axis=0)).save(path)
    return ColorCodingModifier.Image(path)


# ----------------------------------------------------------------------------- OVITO rendering
def render_property(source, property: str, png: str | os.PathLike, *, frame: int = 0, cmap: str = "viridis",
                    size=(800, 600), value_range: tuple[float, float] | None = None,
                    dimension: int | None = None, radii: Mapping[int, float] | float | None = None,
                    title: str | None = None, renderer: str = "auto", background=(1.0, 1.0, 1.0)) -> Path:
    """Render one per-atom property as a colour map with OVITO and save a PNG.

    Parameters
    ----------
    source : str, path or Frame
        A LAMMPS dump (read with :func:`glassdyn.adapters.lammps_dump.read_dump`, so column
        names are kept exactly) or a frame already in memory.
    property : str
        Per-atom column to colour by (e.g. ``Propensity``, ``Theta_L2.0``).
    png : path
        Output image (written atomically).
    frame : int
        Frame index in the dump (0-based; negative counts from the end is not supported).
    cmap : str
        OVITO gradient (``viridis``, ``magma``, ``jet``, ``hot``, ``rainbow``, ``gray``, ``bwr``)
        or any matplotlib colour-map name.
    size : (int, int) or "WxH"
        Image size in pixels.
    value_range : (float, float), optional
        Colour scale limits; the property's min and max by default.
    dimension : int, optional
        Force 2 or 3; auto-detected by the dump reader otherwise.
    radii : float or dict type -> radius, optional
        Display radii in length units (0.5 by default).
    title : str, optional
        Legend title (the property name by default).
    renderer : {"auto", "opengl", "tachyon"}
        ``auto`` tries OpenGL (headless through Vulkan) and falls back to Tachyon.
    background : RGB tuple
        Background colour, components in [0, 1].

    Returns
    -------
    pathlib.Path
        The written PNG.

    Raises
    ------
    InputError
        Missing file or property (the message lists the available properties).
    """
    from ovito.modifiers import ColorCodingModifier
    from ovito.pipeline import Pipeline, StaticSource
    from ovito.vis import ColorLegendOverlay, OpenGLRenderer, ParticlesVis, TachyonRenderer, Viewport

    width, height = _parse_size(size)
    fr = _load_frame(source, frame, dimension)
    name = find_property(list(fr.properties), property, source=fr.source, frame=fr.index)
    values = np.asarray(fr.properties[name], dtype=float)
    if values.ndim != 1:
        raise InputError(f"property '{name}' has {values.shape[1]} components per atom; render one of them",
                         source=fr.source, frame=fr.index)
    finite = np.isfinite(values)
    if not finite.any():
        raise InputError(f"property '{name}' has no finite value", source=fr.source, frame=fr.index)
    lo, hi = (float(np.min(values[finite])), float(np.max(values[finite]))) if value_range is None \
        else (float(value_range[0]), float(value_range[1]))
    if hi <= lo:
        hi = lo + 1e-12
    data = frame_to_datacollection(fr, radii)
    ovname = _ovito_name(name)
    is2d = fr.dimension == 2

    data.particles_.vis.shape = ParticlesVis.Shape.Circle if is2d else ParticlesVis.Shape.Sphere
    final = Path(png)
    pipeline = Pipeline(source=StaticSource(data=data))
    with atomic_path(final, suffix=final.suffix or ".png", parents=True) as tmp, \
            tempfile.TemporaryDirectory() as workdir:
        cc = ColorCodingModifier(property=ovname, gradient=_gradient(cmap, workdir), start_value=lo,
                                 end_value=hi, auto_adjust_range=False)
        pipeline.modifiers.append(cc)
        pipeline.add_to_scene()
        try:
            vp = Viewport(type=Viewport.Type.Top if is2d else Viewport.Type.Ortho,
                          camera_dir=(0, 0, -1) if is2d else (-1, -0.7, -0.6))
            vp.zoom_all(size=(width, height))
            vp.overlays.append(ColorLegendOverlay(
                modifier=cc, title=title or name, orientation=0x2,  # Qt.Vertical
                alignment=0x0002 | 0x0080, legend_size=0.45, offset_x=0.0, font_size=0.08,
                format_string="%.3g"))
            choices = {"opengl": [OpenGLRenderer], "tachyon": [TachyonRenderer],
                       "auto": [OpenGLRenderer, TachyonRenderer]}
            if renderer not in choices:
                raise GlassdynError(f"unknown renderer '{renderer}'; use auto, opengl or tachyon")
            last_error = None
            for cls in choices[renderer]:
                try:
                    vp.render_image(size=(width, height), filename=str(tmp), background=tuple(background),
                                    renderer=cls())
                    last_error = None
                    break
                except Exception as exc:  # OpenGL may be unavailable on a headless machine
                    last_error = exc
            if last_error is not None:
                raise GlassdynError(f"OVITO could not render {final}: {last_error}. On a headless Linux "
                                    "machine install libvulkan1 and mesa-vulkan-drivers, or use "
                                    "--renderer tachyon") from last_error
        finally:
            pipeline.remove_from_scene()
    return final


# ----------------------------------------------------------------------------- matplotlib figures
def _figure(size):
    """A matplotlib figure of ``size`` pixels (``"WxH"`` or ``(w, h)``, see :func:`_parse_size`) at 100 dpi."""
    from matplotlib.figure import Figure
    w, h = _parse_size(size)
    return Figure(figsize=(w / 100, h / 100), dpi=100)


def _save(fig, png) -> Path:
    return savefig_atomic(fig, png, parents=True, dpi=fig.dpi, facecolor="white")


def _values(frame: Frame | None, v, what: str) -> np.ndarray:
    if isinstance(v, str):
        if frame is None:
            raise GlassdynError(f"{what} is given by name ('{v}') but no frame holds it")
        return np.asarray(frame.properties[find_property(list(frame.properties), v, source=frame.source,
                                                         frame=frame.index)], dtype=float)
    return np.asarray(v, dtype=float).reshape(-1)


def side_by_side(frame: Frame, true, predicted, png: str | os.PathLike, *, cmap: str = "viridis",
                 titles: tuple[str, str] = ("True propensity", "Predicted propensity"),
                 radii: Mapping[int, float] | float | None = None, size=(1200, 560),
                 common_scale: bool = False) -> Path:
    """True and predicted per-atom maps next to each other (matplotlib), Pearson r in the title.

    Parameters
    ----------
    frame : Frame
        Supplies positions (2D; a 3D frame is projected on x-y), box and types.
    true, predicted : str or array_like, shape (N,)
        Per-atom values, or names of ``frame.properties`` columns.
    png : path
        Output image (written atomically).
    cmap : str
        Matplotlib colour map.
    titles : (str, str)
        Panel titles.
    radii : float or dict type -> radius, optional
        Disc radii in length units (0.5 by default).
    size : (int, int) or "WxH"
        Figure size in pixels.
    common_scale : bool
        One colour scale for both panels. The default scales each panel to its own 2nd-98th
        percentile range, since a model's predictions are usually narrower than the truth and
        what matters is whether the same regions light up.

    Returns
    -------
    pathlib.Path
    """
    from matplotlib.collections import EllipseCollection

    t = _values(frame, true, "true")
    p = _values(frame, predicted, "predicted")
    n = frame.n_atoms
    for arr, what in ((t, "true"), (p, "predicted")):
        if arr.shape != (n,):
            raise InputError(f"{what} values have {arr.size} entries for {n} atoms", source=frame.source,
                             frame=frame.index)
    ok = np.isfinite(t) & np.isfinite(p)
    r = float(np.corrcoef(t[ok], p[ok])[0, 1]) if ok.sum() > 2 else float("nan")
    fig = _figure(size)
    pos = frame.box.wrap(frame.positions)[:, :2]
    if isinstance(radii, Mapping):
        rad = np.array([radii.get(int(ty), 0.5) for ty in frame.types], dtype=float)
    else:
        rad = np.full(n, 0.5 if radii is None else float(radii))
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], float) @ frame.box.matrix[:2, :2] \
        + frame.box.origin[:2]
    if common_scale:
        lo, hi = np.nanpercentile(np.concatenate([t, p]), [2, 98])
        scales = [(lo, hi), (lo, hi)]
    else:
        scales = [tuple(np.nanpercentile(v, [2, 98])) for v in (t, p)]
    for k, (vals, name, (lo, hi)) in enumerate(zip((t, p), titles, scales)):
        ax = fig.add_subplot(1, 2, k + 1)
        coll = EllipseCollection(2 * rad, 2 * rad, np.zeros(n), units="xy", offsets=pos,
                                 offset_transform=ax.transData, cmap=cmap)
        coll.set_array(vals)
        coll.set_clim(lo, hi if hi > lo else lo + 1e-12)
        ax.add_collection(coll)
        ax.plot(corners[:, 0], corners[:, 1], color="0.3", lw=0.8)
        ax.set_aspect("equal")
        ax.set_xlim(corners[:, 0].min() - 1, corners[:, 0].max() + 1)
        ax.set_ylim(corners[:, 1].min() - 1, corners[:, 1].max() + 1)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(coll, ax=ax, shrink=0.8)
    fig.suptitle(f"Pearson r = {r:.3f}  ({frame.label})")
    fig.tight_layout()
    return _save(fig, png)


def plot_imbalance_plane(delta_x_to_y, delta_y_to_x, png: str | os.PathLike, *, labels: Sequence[str] | None = None,
                         highlight: Sequence[int] | None = None, target: str = "p", size=(700, 600)) -> Path:
    """The information-imbalance plane: Delta(X -> target) against Delta(target -> X).

    Parameters
    ----------
    delta_x_to_y, delta_y_to_x : array_like, shape (F,)
        Imbalances of each feature (or feature set) towards the target and back.
    png : path
        Output image.
    labels : sequence of str, optional
        Feature names; annotated when ``F <= 30`` or for highlighted points.
    highlight : sequence of int, optional
        Indices drawn in red (e.g. the selected features).
    target : str
        Name of the target space in the axis labels.
    """
    a = np.asarray(delta_x_to_y, dtype=float).reshape(-1)
    b = np.asarray(delta_y_to_x, dtype=float).reshape(-1)
    if a.shape != b.shape:
        raise GlassdynError(f"imbalance arrays differ in length ({a.size} vs {b.size})")
    fig = _figure(size)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    ax.scatter(a, b, s=18, color="tab:blue")
    hl = [] if highlight is None else list(highlight)
    if hl:
        ax.scatter(a[hl], b[hl], s=30, color="tab:red", zorder=3)
    if labels is not None:
        for k, name in enumerate(labels):
            if len(labels) <= 30 or k in hl:
                ax.annotate(str(name), (a[k], b[k]), fontsize=7, xytext=(3, 2), textcoords="offset points")
    ax.set_xlim(0, 1.05)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(rf"$\Delta(X \to {target})$")
    ax.set_ylabel(rf"$\Delta({target} \to X)$")
    ax.set_title("Information-imbalance plane")
    fig.tight_layout()
    return _save(fig, png)


def plot_fs(times, fs, png: str | os.PathLike, *, labels: Sequence[str] | None = None,
            tau_alpha: Sequence[float] | float | None = None, size=(700, 500)) -> Path:
    """Self-intermediate scattering function F_s(q, t) on a log time axis.

    Parameters
    ----------
    times : array_like, shape (T,)
        Lag times (LJ time units), positive.
    fs : array_like, shape (T,) or (C, T)
        One curve or C curves (e.g. temperatures).
    labels : sequence of str, optional
        One per curve.
    tau_alpha : float or sequence, optional
        Marked with vertical dotted lines.
    """
    t = np.asarray(times, dtype=float).reshape(-1)
    f = np.atleast_2d(np.asarray(fs, dtype=float))
    if f.shape[1] != t.size:
        raise GlassdynError(f"F_s has {f.shape[1]} points per curve for {t.size} times")
    fig = _figure(size)
    ax = fig.add_subplot(1, 1, 1)
    pos = t > 0
    for k, curve in enumerate(f):
        ax.plot(t[pos], curve[pos], marker="o", ms=3, label=None if labels is None else labels[k])
    ax.axhline(np.exp(-1), color="0.6", lw=0.8, ls="--")
    if tau_alpha is not None:
        for ta in np.atleast_1d(tau_alpha):
            if np.isfinite(ta):
                ax.axvline(ta, color="0.4", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("t (LJ time)")
    ax.set_ylabel(r"$F_s(q, t)$")
    if labels is not None:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, png)


def plot_learning_curve(n_train, scores, png: str | os.PathLike, *, spread=None, label: str = "Pearson r",
                        xlabel: str = "training configurations", size=(700, 500)) -> Path:
    """Held-out score against training-set size, with an optional spread band.

    Parameters
    ----------
    n_train : array_like, shape (K,)
        Training-set sizes.
    scores : array_like, shape (K,) or (C, K)
        Mean held-out scores (one row per curve).
    spread : array_like, same shape as ``scores``, optional
        Standard deviation over held-out configurations (drawn as a band).
    """
    x = np.asarray(n_train, dtype=float).reshape(-1)
    y = np.atleast_2d(np.asarray(scores, dtype=float))
    s = None if spread is None else np.atleast_2d(np.asarray(spread, dtype=float))
    if y.shape[1] != x.size:
        raise GlassdynError(f"{y.shape[1]} scores per curve for {x.size} training sizes")
    fig = _figure(size)
    ax = fig.add_subplot(1, 1, 1)
    for k, row in enumerate(y):
        ax.plot(x, row, marker="o")
        if s is not None:
            ax.fill_between(x, row - s[k], row + s[k], alpha=0.25)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, png)
