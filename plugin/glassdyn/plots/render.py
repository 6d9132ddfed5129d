"""Rendered pictures: per-atom property maps rendered with OVITO.

It colours and draws what the core computed; it never computes physics itself.

* :func:`render_property` renders one per-atom column of a LAMMPS dump (or of a
  :class:`~glassdyn.frame.Frame`) with OVITO: colour coding with a gradient, a colour legend,
  top view for 2D systems. OpenGL renderer (headless through Vulkan/Mesa), Tachyon as fallback.
* :func:`frame_to_datacollection` builds the OVITO ``DataCollection`` of a frame.
* :func:`side_by_side_images` puts rendered PNGs next to each other.
* matplotlib maps of true vs predicted values: :func:`glassdyn.plots.learn.propensity_maps`.

Every picture is written to a temporary file in the target folder and renamed, so a picture on
disk is never half written.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from ..errors import GlassdynError, InputError
from ..frame import Frame
from ._base import new_figure, parse_size, save_figure

__all__ = ["render_property", "frame_to_datacollection", "side_by_side_images", "find_property", "OVITO_GRADIENTS"]

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
