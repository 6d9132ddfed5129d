"""``glassdyn render``: colour a LAMMPS dump by a per-atom property and save a PNG (OVITO, or matplotlib).

Example::

    glassdyn render run.dump --property Propensity -o propensity.png --frame 0 --cmap viridis --size 800x600

OVITO renders through Vulkan (OpenGL, or Tachyon); where it cannot (no Vulkan driver, or OVITO
not installed) the default ``--renderer auto`` draws the same map with matplotlib and says so,
as ``glassdyn demo`` does. ``--renderer opengl`` / ``tachyon`` insist on OVITO.
"""
from __future__ import annotations

import argparse
import sys
import warnings

from ..errors import GlassdynError, UsageError
from ._common import check_inputs, check_output_file, nonnegative_int, positive_float

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``render`` arguments to ``parser``."""
    parser.add_argument("dump", help="LAMMPS dump file (text) holding the property as a column")
    parser.add_argument("--property", "-p", required=True,
                        help="per-atom column to colour by, e.g. Propensity or Theta_L2.0")
    parser.add_argument("-o", "--output", required=True, help="PNG file to write")
    parser.add_argument("--frame", type=nonnegative_int, default=0, help="frame index in the dump, 0-based (default 0)")
    parser.add_argument("--cmap", default="viridis",
                        help="colour map: viridis, magma, jet, hot, rainbow, gray, bwr or any matplotlib name")
    parser.add_argument("--size", default="800x600", help="image size WIDTHxHEIGHT in pixels (default 800x600)")
    parser.add_argument("--range", nargs=2, type=float, metavar=("MIN", "MAX"), default=None,
                        help="colour scale limits (default: the property's min and max)")
    parser.add_argument("--dimension", type=int, choices=(2, 3), default=None,
                        help="force 2D or 3D (default: 2D when every z is equal)")
    parser.add_argument("--radius", type=positive_float, default=0.5, help="display radius of the atoms (default 0.5)")
    parser.add_argument("--renderer", choices=("auto", "opengl", "tachyon", "matplotlib"), default="auto",
                        help="auto: OVITO (OpenGL, then Tachyon), matplotlib where OVITO cannot render (no Vulkan "
                             "driver); opengl/tachyon: OVITO only; matplotlib: matplotlib only")
    parser.add_argument("--title", default=None, help="colour legend title (default: the property name)")


def check_options(args: argparse.Namespace) -> None:
    """The options, the input and the output, before anything is rendered (UsageError: exit code 2)."""
    from ..plots import parse_size
    try:
        parse_size(args.size)
    except GlassdynError as exc:
        raise UsageError(f"--size: {exc}") from None
    if args.range is not None and not args.range[0] < args.range[1]:
        raise UsageError(f"--range {args.range[0]:g} {args.range[1]:g}: MIN must be smaller than MAX")
    check_inputs([args.dump], "dump file")
    check_output_file(args.output, suffixes=(".png",), inputs=[args.dump])


def run(args: argparse.Namespace) -> int:
    """Render the picture; return 0 on success."""
    check_options(args)  # before anything is imported or rendered
    from ..plots.render import RendererFallbackWarning, render_property

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RendererFallbackWarning)
        out = render_property(args.dump, args.property, args.output, frame=args.frame, cmap=args.cmap,
                              size=args.size, value_range=args.range, dimension=args.dimension,
                              radii=args.radius, title=args.title, renderer=args.renderer,
                              fallback="matplotlib" if args.renderer == "auto" else None)
    for w in caught:
        if issubclass(w.category, RendererFallbackWarning):
            print(f"glassdyn render: note: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    print(f"glassdyn render: wrote {out}")
    return 0
