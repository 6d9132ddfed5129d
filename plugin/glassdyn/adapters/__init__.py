"""Adapters: translate files and other programs' data to and from glassdyn's core objects.

Adapters read and write; they never compute physics. 2D detection happens here, once.

==============================  =====================================================================
module                          content
==============================  =====================================================================
:mod:`.lammps_dump`             native LAMMPS text dump reader/writer: ``iter_dump``, ``read_dump``,
                                ``count_frames``, ``write_dump``, ``dump_columns``
:mod:`.lammps_data`             ``read_data_file`` (LAMMPS data files)
:mod:`.lammps_live`             ``frame_from_lammps``, ``set_per_atom`` (live ``lammps`` instance)
:mod:`.ovito_data`              ``frame_from_ovito``, ``attach_to_ovito``, ``frames_from_ovito_file``
:mod:`.mdanalysis_data`         ``frame_from_mdanalysis``, ``attach_to_mdanalysis``,
                                ``frames_from_mdanalysis_file``, ``universe_from_dump``
:mod:`.replicas`                the ``glassdyn simulate`` folder layout, ``read_reference``,
                                ``load_ensemble``, ``find_ensembles``, ``write_propensity_outputs``
:mod:`.tables`                  feature tables (``save_table``, ``load_table``, ``to_dataframe``) and
                                configuration sets (``read_configurations``)
:mod:`.xarray_io`               labelled xarray datasets / netCDF / pandas tables of ensembles, feature
                                tables and cross-validation results (``propensity_dataset``,
                                ``features_dataset``, ``cv_dataset``, ``write_netcdf``, ``read_netcdf``,
                                ``propensity_dataframe``, ``fs_dataframe``, ``features_dataframe``,
                                ``cv_dataframe``)
==============================  =====================================================================

Only the OVITO and MDAnalysis modules need those packages, and they import them inside their
functions; importing :mod:`glassdyn.adapters` needs numpy alone.
"""
from __future__ import annotations

import os

from ..errors import InputError
from .lammps_data import read_data_file
from .lammps_dump import count_frames, dump_columns, iter_dump, read_dump, select_frames, write_dump
from .replicas import find_ensembles, load_ensemble, read_reference, write_propensity_outputs
from .tables import load_table, read_configurations, save_table, to_dataframe

__all__ = ["load_frames", "is_data_file", "iter_dump", "read_dump", "count_frames", "write_dump", "dump_columns",
           "read_data_file", "read_reference", "load_ensemble", "find_ensembles", "write_propensity_outputs",
           "save_table", "load_table", "to_dataframe", "read_configurations"]


def is_data_file(path) -> bool:
    """True if ``path`` looks like a LAMMPS data file rather than a dump (content sniffing)."""
    path = os.fspath(path)
    if path.endswith((".gz", ".bz2", ".xz")):
        return False
    with open(path, "rb") as fh:
        head = fh.read(8192)
    stripped = head.lstrip()
    if stripped.startswith(b"ITEM:"):
        return False
    return b"atoms" in head and (b"xlo xhi" in head or b"avec" in head)


def load_frames(path, frames=None, *, dimension: int | None = None, reader: str = "native") -> list:
    """Read frames from a LAMMPS dump or data file into a list of :class:`~glassdyn.Frame`.

    Parameters
    ----------
    path : str or path-like
        A LAMMPS text dump (``.gz``, ``.bz2``, ``.xz`` accepted) or a LAMMPS data file (recognised by content).
    frames : None, int, slice or list of int
        Frames of a dump to read (all by default); a data file has one frame (index 0).
    dimension : {None, 2, 3}
        None auto-detects 2D (all z equal); 2 or 3 forces it.
    reader : {"native", "ovito", "mdanalysis"}
        Which dump reader to use; the three give the same frames (MDAnalysis sorts atoms by id
        and keeps float32 precision).

    Returns
    -------
    list of Frame
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError("no such file", source=path)
    if is_data_file(path):
        if frames is not None and len(select_frames(frames, 1, path)) == 0:
            raise InputError(f"a data file holds one frame; frames={frames!r} selects none", source=path)
        return [read_data_file(path, dimension=dimension)]
    if reader == "native":
        return list(iter_dump(path, frames, dimension=dimension))
    if reader == "ovito":
        from .ovito_data import frames_from_ovito_file

        return list(frames_from_ovito_file(path, frames, dimension=dimension))
    if reader == "mdanalysis":
        from .mdanalysis_data import frames_from_mdanalysis_file

        return list(frames_from_mdanalysis_file(path, frames, dimension=dimension))
    raise InputError(f"unknown reader {reader!r}: use 'native', 'ovito' or 'mdanalysis'", source=path)
