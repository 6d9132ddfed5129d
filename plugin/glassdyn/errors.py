"""Exceptions raised by glassdyn.

Every error about user input says *where* the problem is: the file, the frame and the
atom ids at fault, and what to do about it.
"""
from __future__ import annotations

from collections.abc import Iterable

__all__ = ["GlassdynError", "InputError", "format_ids"]


def format_ids(ids: Iterable[int], limit: int = 10) -> str:
    """Format a list of atom ids for an error message, truncated after ``limit``."""
    ids = [int(i) for i in ids]
    shown = ", ".join(str(i) for i in ids[:limit])
    if len(ids) > limit:
        shown += f", ... ({len(ids)} in all)"
    return shown


class GlassdynError(Exception):
    """Base class of all glassdyn errors."""


class InputError(GlassdynError, ValueError):
    """Bad input data: the message names the source, the frame and the atoms at fault.

    Parameters
    ----------
    message : str
        What is wrong and what to do.
    source : str, optional
        File name (or other description) of the input.
    frame : int, optional
        Index of the frame in that file (0-based) or its timestep.
    atom_ids : iterable of int, optional
        Ids of the atoms at fault (at most ten are printed).

    Attributes
    ----------
    detail : str
        ``message`` alone, without the location prefix and the atom-id suffix (for re-raising
        the same fault with another location).
    """

    def __init__(self, message: str, *, source: str | None = None, frame: int | None = None,
                 atom_ids: Iterable[int] | None = None):
        self.detail = message
        self.source = source
        self.frame = frame
        self.atom_ids = None if atom_ids is None else [int(i) for i in atom_ids]
        where = []
        if source is not None:
            where.append(f"{source}")
        if frame is not None:
            where.append(f"frame {frame}")
        prefix = (", ".join(where) + ": ") if where else ""
        suffix = f" (atom ids: {format_ids(self.atom_ids)})" if self.atom_ids else ""
        super().__init__(prefix + message + suffix)
