"""Rendered pictures: per-atom property maps rendered with OVITO.

It colours and draws what the core computed; it never computes physics itself.

* :func:`render_property` renders one per-atom column of a LAMMPS dump (or of a
  :class:`~glassdyn.frame.Frame`) with OVITO: colour coding with a gradient, a colour legend,
  top view for 2D systems. OpenGL renderer (headless through Vulkan/Mesa), Tachyon as fallback;
  both need a working Vulkan driver. ``renderer="matplotlib"`` (or ``fallback="matplotlib"``,
  what ``glassdyn render`` uses) draws the same map with matplotlib discs instead, as the demo
  does on a machine without Vulkan.
* :func:`frame_to_datacollection` builds the OVITO ``DataCollection`` of a frame.
* :func:`side_by_side_images` puts rendered PNGs next to each other.
* matplotlib maps of true vs predicted values: :func:`glassdyn.plots.learn.propensity_maps`.

Every picture is written to a temporary file in the target folder and renamed, so a picture on
disk is never half written.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from ..errors import GlassdynError, InputError
from ..frame import Frame
from ._base import new_figure, parse_size, save_figure

__all__ = ["render_property", "frame_to_datacollection", "side_by_side_images", "find_property", "OVITO_GRADIENTS",
           "RENDERERS", "RendererFallbackWarning", "matplotlib_property_map"]

#: ``renderer`` values of :func:`render_property`
RENDERERS = ("auto", "opengl", "tachyon", "matplotlib")

#: what to do when OVITO cannot render (no Vulkan driver): the hint every message gives
_VULKAN_HINT = ("OVITO's renderers (OpenGL and Tachyon alike) need a working Vulkan driver: on a headless "
                "Linux machine install libvulkan1 and mesa-vulkan-drivers (Debian/Ubuntu), or draw the picture "
                "with matplotlib (--renderer matplotlib)")


class RendererFallbackWarning(UserWarning):
    """OVITO could not render; the picture was drawn with matplotlib instead."""

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
    underscores are interchangeable (``Predicted Propensity`` / ``Predicted_Propensity``), and
    OVITO's exporter's ``PropensityCR`` matches ``Propensity CR`` when nothing else does.

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
    # OVITO's dump exporter drops spaces (``Propensity CR`` -> ``PropensityCR``): compare the
    # alphanumerics alone, accepted only when that still names one property
    squeezed = [a for a in available if _normalise(a).replace("_", "") == key.replace("_", "")]
    if len(squeezed) == 1:
        return squeezed[0]
    raise InputError(f"no per-atom property '{name}'; available: {', '.join(available) or 'none'}. "
                     "Compute it first (e.g. `glassdyn describe` or `glassdyn predict`) or pick one of these",
                     source=source, frame=frame)


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
                    title: str | None = None, renderer: str = "auto", background=(1.0, 1.0, 1.0),
                    fallback: str | None = None) -> Path:
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
    renderer : {"auto", "opengl", "tachyon", "matplotlib"}
        ``auto`` tries OVITO's OpenGL renderer (headless through Vulkan) and then Tachyon;
        ``matplotlib`` draws discs with matplotlib (no OVITO, no Vulkan; 3D frames are projected
        on the x-y plane).
    background : RGB tuple
        Background colour, components in [0, 1].
    fallback : {None, "matplotlib"}
        What to do when OVITO cannot render (typically no Vulkan driver): raise (None, the
        default) or draw with matplotlib, with a :class:`RendererFallbackWarning` giving OVITO's
        reason.

    Returns
    -------
    pathlib.Path
        The written PNG.

    Raises
    ------
    InputError
        Missing file or property (the message lists the available properties).
    GlassdynError
        OVITO could not render and there is no fallback; the message says what to install.
    """
    if renderer not in RENDERERS:
        raise GlassdynError(f"unknown renderer '{renderer}'; use {', '.join(RENDERERS)}")
    if fallback not in (None, "matplotlib"):
        raise GlassdynError(f"unknown fallback '{fallback}'; use None or 'matplotlib'")
    width, height = parse_size(size)
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
    final = Path(png)
    draw = dict(cmap=cmap, size=(width, height), value_range=(lo, hi), radii=radii, title=title or name,
                background=background)
    if renderer == "matplotlib":
        return matplotlib_property_map(fr, values, final, **draw)
    try:
        return _render_ovito(fr, name, values, final, width, height, lo, hi, cmap, radii, title, renderer,
                             background)
    except ModuleNotFoundError as exc:
        if exc.name != "ovito" and not str(exc.name or "").startswith("ovito."):
            raise
        if fallback != "matplotlib":
            raise GlassdynError(f"rendering {final} with OVITO needs the ovito package, which is not installed: "
                                "pip install 'glassdyn[ovito]', or use --renderer matplotlib") from None
        warnings.warn(f"OVITO is not installed; drew {final} with matplotlib", RendererFallbackWarning, stacklevel=2)
        return matplotlib_property_map(fr, values, final, **draw)
    except _OvitoRenderError as exc:
        if fallback != "matplotlib":
            raise GlassdynError(f"OVITO could not render {final}: {exc}. {_VULKAN_HINT}") from exc.__cause__
        warnings.warn(f"OVITO could not render {final} ({_first_line(exc)}); drew it with matplotlib instead. "
                      f"{_VULKAN_HINT.split(', or draw')[0]}", RendererFallbackWarning, stacklevel=2)
        return matplotlib_property_map(fr, values, final, **draw)


class _OvitoRenderError(Exception):
    """OVITO failed in every renderer tried (the message is OVITO's last error)."""


def _first_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _render_ovito(fr, name, values, final, width, height, lo, hi, cmap, radii, title, renderer, background):
    from ovito.modifiers import ColorCodingModifier
    from ovito.pipeline import Pipeline, StaticSource
    from ovito.vis import ColorLegendOverlay, OpenGLRenderer, ParticlesVis, TachyonRenderer, Viewport

    data = frame_to_datacollection(fr, radii)
    ovname = _ovito_name(name)
    is2d = fr.dimension == 2

    data.particles_.vis.shape = ParticlesVis.Shape.Circle if is2d else ParticlesVis.Shape.Sphere
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
                raise _OvitoRenderError(str(last_error).strip().rstrip(".")) from last_error
        finally:
            pipeline.remove_from_scene()
    return final


# ----------------------------------------------------------------------------- matplotlib rendering
def matplotlib_property_map(frame: Frame, values, png: str | os.PathLike, *, cmap: str = "viridis", size=(800, 600),
                            value_range: tuple[float, float] | None = None,
                            radii: Mapping[int, float] | float | None = None, title: str | None = None,
                            background=(1.0, 1.0, 1.0)) -> Path:
    """A per-atom property map drawn with matplotlib: discs of the display radius, coloured by value.

    The picture :func:`render_property` draws without OVITO (``renderer="matplotlib"``, or as the
    fallback when OVITO cannot render): top view of the box (3D frames projected on x-y), the
    cell outline and a colour bar.

    Parameters
    ----------
    frame : Frame
    values : array_like, shape (N,)
        One value per atom (NaN drawn grey).
    png : path
        Output image (written atomically).
    cmap, size, value_range, radii, title, background
        As in :func:`render_property`.

    Returns
    -------
    pathlib.Path
    """
    from matplotlib.collections import EllipseCollection
    from matplotlib.colors import Normalize

    from ._base import colormap

    vals = np.asarray(values, dtype=float)
    if vals.shape != (frame.n_atoms,):
        raise InputError(f"{vals.shape} values for {frame.n_atoms} atoms", source=frame.source, frame=frame.index)
    finite = np.isfinite(vals)
    lo, hi = value_range if value_range is not None else (float(np.nanmin(vals)), float(np.nanmax(vals)))
    if not hi > lo:
        hi = lo + 1e-12
    if isinstance(radii, Mapping):
        r = np.array([float(radii.get(int(t), 0.5)) for t in frame.types])
    else:
        r = np.full(frame.n_atoms, 0.5 if radii is None else float(radii))
    xy = frame.positions[:, :2]
    cm = colormap(cmap).with_extremes(bad=(0.6, 0.6, 0.6))
    norm = Normalize(lo, hi)
    fig = new_figure(size, layout="constrained")
    fig.set_facecolor(tuple(background))
    ax = fig.add_subplot(1, 1, 1)
    coll = EllipseCollection(2 * r, 2 * r, np.zeros_like(r), units="xy", offsets=xy, offset_transform=ax.transData,
                             cmap=cm, norm=norm, linewidths=0)
    coll.set_array(np.where(finite, vals, np.nan))
    ax.add_collection(coll)
    m = frame.box.matrix
    o = frame.box.origin[:2]
    corners = np.array([o, o + m[0, :2], o + m[0, :2] + m[1, :2], o + m[1, :2], o])
    ax.plot(corners[:, 0], corners[:, 1], color="0.3", lw=0.8)
    pad = float(r.max())
    ax.set_xlim(corners[:, 0].min() - pad, corners[:, 0].max() + pad)
    ax.set_ylim(corners[:, 1].min() - pad, corners[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.axis("off")
    bar = fig.colorbar(coll, ax=ax, shrink=0.8)
    bar.set_label(title or "")
    return save_figure(fig, png, facecolor=tuple(background))


# ----------------------------------------------------------------------------- composing pictures
def side_by_side_images(images: Sequence[str | os.PathLike], titles: Sequence[str], path: str | os.PathLike, *,
                        suptitle: str | None = None, figsize=(14.0, 5.4)) -> Path:
    """Put rendered PNGs next to each other in one picture (each with its title)."""
    import matplotlib.image as mpimg

    fig = new_figure(figsize=figsize)
    for k, (img, name) in enumerate(zip(images, titles)):
        ax = fig.add_subplot(1, len(images), k + 1)
        ax.imshow(mpimg.imread(str(img)))
        ax.set_title(name)
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return save_figure(fig, path)
