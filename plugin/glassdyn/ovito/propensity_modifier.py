"""OVITO modifier "Dynamic propensity": per-particle propensity of an iso-configurational ensemble.

The replicas (runs started from one configuration with different random velocities) come
either

* as the frames of the pipeline's own trajectory (``replica_source="trajectory"``), e.g.
  ``import_file("ensemble/replica_*.dump")``: every file is one replica and its first frame
  (t = 0) is the reference configuration; or
* as extra files loaded through the modifier's input slot ``replicas`` (a ``FileSource``,
  ``replica_source="files"``): the pipeline's current frame is the reference configuration.

Frames are grouped into replicas by the file they come from (OVITO's ``SourceFile``
attribute) or, with ``frames_per_replica = n > 0``, in consecutive blocks of n frames (all
replicas concatenated in one dump). The ensemble is assembled and checked by
:func:`glassdyn.replicas.build_ensemble` and analysed by
:func:`glassdyn.dynamics.analyze_ensemble`, exactly as ``glassdyn propensity`` does. The
output particle property ``Propensity`` holds ``<|dr_i(t)|^2>`` over the replicas at the chosen
time (``time_index``, default the last one), on every frame of the pipeline.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
from ovito.data import DataCollection
from ovito.pipeline import FileSource, ModifierInterface
from ovito.traits import OvitoObject
from traits.api import Bool, Enum, Float, Int

from ..errors import GlassdynError, InputError
from ..dynamics import analyze_ensemble
from ..ensemble import build_ensemble
from ..potentials import PRESETS, resolve_potential
from ._common import ResultCache, attach, content_key, frame_from_data, glassdyn_errors

__all__ = ["DynamicPropensityModifier"]

_CACHE = ResultCache(maxsize=8)


def _node_key(node) -> tuple:
    """Identify an upstream pipeline node and the files behind it (with modification times)."""
    paths = []
    src = getattr(node, "source_path", None)
    if src:
        import glob
        from urllib.parse import urlparse
        pattern = urlparse(src).path if str(src).startswith("file:") else str(src)
        for p in sorted(glob.glob(pattern)) or [pattern]:
            try:
                st = os.stat(p)
                paths.append((p, st.st_mtime_ns, st.st_size))
            except OSError:
                paths.append((p, None, None))
    return (id(node), tuple(paths))


def _wait_for_frames(slot) -> None:
    """Block until the file source upstream of ``slot`` has listed every trajectory frame.

    OVITO lists the frames of a file sequence (``replica_*.dump``) in the background; on a busy
    machine a replicas slot could otherwise report only the first file's frames and merge every
    replica into one (seen with two busy pytest workers).
    """
    from ovito.pipeline import FileSource

    node = getattr(slot, "input_node", None)
    while node is not None and not isinstance(node, FileSource):
        node = getattr(node, "input", None)
    if node is not None:
        node.wait_for_frames_list()


class DynamicPropensityModifier(ModifierInterface):
    """Dynamic propensity ``<|dr_i(t)|^2>_iso`` from replicas (glassdyn core).

    Parameters (traits)
    -------------------
    replica_source : {"trajectory", "files"}
        Where the replicas are: the frames of this pipeline, or the files of the ``replicas``
        input slot.
    replicas : FileSource
        Replica dumps (e.g. ``replica_*.dump``) when ``replica_source="files"``.
    frames_per_replica : int
        0: group frames by source file; n > 0: consecutive blocks of n frames.
    time_index : int
        Which time of the replicas (index into their common times, -1 = the last).
    dt : float
        MD timestep, turns timesteps into times (LJ units).
    displacement : {"auto", "cage-relative", "plain"}
        Cage-relative displacements (remove 2D long-wavelength motion) or plain ones with the drift
        removed; ``auto`` (default): cage-relative in 2D, plain in 3D, as everywhere in glassdyn.
    absolute : bool
        ``<|dr|>`` instead of ``<|dr|^2>``.
    potential : str
        Preset whose sigma_ab sets the cage cutoff (1.5 sigma_ab).
    force_2d : bool
        Treat the data as 2D (a 2D LAMMPS dump loads as a height-1 3D cell).
    """

    replica_source = Enum("trajectory", "files", label="Replicas from")
    replicas = OvitoObject(FileSource)  # input slot "replicas" (OvitoObject takes no label)
    frames_per_replica = Int(0, label="Frames per replica (0 = one file per replica)")
    time_index = Int(-1, label="Time index (-1 = last)")
    dt = Float(0.005, label="MD timestep dt")
    displacement = Enum("auto", "cage-relative", "plain", label="Displacements (auto: cage-relative in 2D)")
    absolute = Bool(False, label="Mean |dr| instead of |dr|^2")
    potential = Enum("auto", *sorted(PRESETS), label="Potential preset (cage cutoff)")
    force_2d = Bool(False, label="Treat as 2D (height-1 dump cell)")

    # ------------------------------------------------------------------ OVITO hooks
    def _slot(self, input_slots):
        if self.replica_source == "files":
            slot = input_slots.get("replicas")
            if slot is None or not self.replicas.source_path or slot.num_frames == 0:
                raise GlassdynError("no replica files: load the replica dumps (e.g. replica_*.dump) into the "
                                    "'Replica files' input, or set 'Replicas from' to trajectory")
            return slot
        return input_slots["upstream"]

    def _groups(self, slot, out: list):
        """Fill ``out`` with (replica label, [Frame, ...]) per replica of ``slot``; yield progress."""
        _wait_for_frames(slot)
        n = slot.num_frames
        groups: dict[str, list] = {}
        order: list[str] = []
        for k in range(n):
            data = slot.compute(k)
            src = str(data.attributes.get("SourceFile", "")) or "pipeline"
            if self.frames_per_replica > 0:
                label = f"{os.path.basename(src)} block {k // self.frames_per_replica}"
            else:
                label = src
            fr = frame_from_data(data, force_2d=self.force_2d, source=os.path.basename(src),
                                 index=int(data.attributes.get("SourceFrame", k)))
            fr.timestep = int(data.attributes.get("Timestep", k))
            if label not in groups:
                groups[label] = []
                order.append(label)
            groups[label].append(fr)
            yield (k + 1) / n
        out.extend((lab, groups[lab]) for lab in order)

    def modify(self, data: DataCollection, *, frame: int, input_slots, **kwargs):
        yield "Dynamic propensity: collecting replicas"
        with glassdyn_errors("Dynamic propensity"):
            slot = self._slot(input_slots)
            params = (self.replica_source, self.frames_per_replica, self.time_index, self.dt,
                      self.displacement, self.absolute, self.potential, self.force_2d)
            current = frame_from_data(data, force_2d=self.force_2d, index=frame)
            key = (_node_key(slot.input_node), slot.num_frames, params)
            if self.replica_source == "files":
                key += (content_key(current.positions, current.ids, current.types),)
            key = repr(key)
            result = _CACHE.get(key)
            if result is None:
                groups: list = []
                for fraction in self._groups(slot, groups):
                    yield 0.8 * fraction
                if len(groups) < 2:
                    how = ("one file per replica (e.g. import replica_*.dump)" if self.frames_per_replica == 0
                           else f"blocks of {self.frames_per_replica} frames")
                    raise GlassdynError(f"found {len(groups)} replica(s), need at least 2: replicas are read as "
                                        f"{how}; {slot.num_frames} frame(s) in the input")
                reference = current if self.replica_source == "files" else groups[0][1][0]
                yield "Dynamic propensity: computing"
                ensemble = build_ensemble(reference, [frames for _, frames in groups],
                                          sources=[lab for lab, _ in groups], dt=self.dt)
                with warnings.catch_warnings():  # tau_alpha not reached: irrelevant for the propensity
                    warnings.simplefilter("ignore", RuntimeWarning)
                    result = analyze_ensemble(ensemble, potential=resolve_potential(self.potential, ensemble.reference),
                                              cage_relative={"auto": "auto", "cage-relative": True,
                                                             "plain": False}[self.displacement],
                                              absolute=self.absolute,
                                              compute_bond_breaking=False)
                _CACHE.put(key, result)
            T = len(result.times)
            if not -T <= self.time_index < T:
                raise GlassdynError(f"time index {self.time_index} is out of range: the replicas share {T} "
                                    f"times ({', '.join(f'{t:g}' for t in result.times)})")
            values = result.propensity[self.time_index]
            _attach_by_id(data, current, result.ids, {"Propensity": values})
            data.attributes["Propensity.time"] = float(result.times[self.time_index])
            data.attributes["Propensity.kind"] = result.column   # propensity, propensity_cr, ..._abs
            data.attributes["Propensity.replicas"] = int(result.params["n_replicas"])
        yield 1.0


def _attach_by_id(data, current, ids, columns):
    """Attach columns given in the order of ``ids`` to the particles of ``data`` (matched by id)."""
    order = np.argsort(ids)
    pos = np.searchsorted(ids[order], current.ids)
    pos = np.clip(pos, 0, len(ids) - 1)
    found = ids[order][pos] == current.ids
    if not np.all(found):
        raise InputError("atoms of this frame are not in the replicas", source=current.source,
                         frame=current.index, atom_ids=current.ids[~found])
    rows = order[pos]
    attach(data, {name: np.asarray(col)[rows] for name, col in columns.items()}, frame=current)
