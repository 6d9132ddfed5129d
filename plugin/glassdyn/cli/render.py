"""``glassdyn render``: colour a LAMMPS dump by a per-atom property and save a PNG with OVITO.

Example::

    glassdyn render run.dump --property Propensity -o propensity.png --frame 0 --cmap viridis --size 800x600
"""
from __future__ import annotations

import argparse

from ..errors import GlassdynError

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``render`` arguments to ``parser``."""
    parser.add_argument("dump", help="LAMMPS dump file (text) holding the property as a column")
    parser.add_argument("--property", "-p", required=True,
                        help="per-atom column to colour by, e.g. Propensity or Theta_L2.0")
    parser.add_argument("-o", "--output", required=True, help="PNG file to write")
    parser.add_argument("--frame", type=int, default=0, help="frame index in the dump, 0-based (default 0)")
    parser.add_argument("--cmap", default="viridis",
                        help="colour map: viridis, magma, jet, hot, rainbow, gray, bwr or any matplotlib name")
    parser.add_argument("--size", default="800x600", help="image size WIDTHxHEIGHT in pixels (default 800x600)")
    parser.add_argument("--range", nargs=2, type=float, metavar=("MIN", "MAX"), default=None,
                        help="colour scale limits (default: the property's min and max)")
    parser.add_argument("--dimension", type=int, choices=(2, 3), default=None,
                        help="force 2D or 3D (default: 2D when every z is equal)")
    parser.add_argument("--radius", type=float, default=0.5, help="display radius of the atoms (default 0.5)")
    parser.add_argument("--renderer", choices=("auto", "opengl", "tachyon"), default="auto",
                        help="OVITO renderer (auto: OpenGL, falling back to Tachyon)")
    parser.add_argument("--title", default=None, help="colour legend title (default: the property name)")


def run(args: argparse.Namespace) -> int:
    """Render the picture; return 0 on success."""
    try:
        from ..plots.render import render_property
        import ovito  # noqa: F401
    except ModuleNotFoundError as exc:
        raise GlassdynError(f"glassdyn render needs OVITO ({exc}); install it with: pip install ovito") from None
    if args.frame < 0:
        raise GlassdynError(f"--frame must be 0 or positive, got {args.frame}")
    out = render_property(args.dump, args.property, args.output, frame=args.frame, cmap=args.cmap,
                          size=args.size, value_range=args.range, dimension=args.dimension,
                          radii=args.radius, title=args.title, renderer=args.renderer)
    print(f"glassdyn render: wrote {out}")
    return 0
