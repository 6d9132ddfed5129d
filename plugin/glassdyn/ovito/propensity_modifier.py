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
:func:`glassdyn.ensemble.build_ensemble` and analysed by
:func:`glassdyn.dynamics.analyze_ensemble`, exactly as ``glassdyn propensity`` does.

Outputs, on every frame of the pipeline:

particle property named after the kind of propensity
    ``Propensity`` (plain ``<|dr_i(t)|^2>`` with the drift removed, the 3D default),
    ``Propensity CR`` (cage-relative displacements, the 2D default), ``Propensity Abs`` /
    ``Propensity CR Abs`` (``<|dr|>``), at the time ``time`` (LJ units; the nearest time the
    replicas hold) or, with ``time < 0``, at ``time_index`` (default: the last time). Optionally
    ``Bond Breaking`` (``C_B``).
data table ``propensity-fs``
    the self-intermediate scattering function F_s(q, t) of all particles and of each type
    (x = time, one y component per curve; OVITO plots it as lines).
global attributes
    ``Propensity.kind`` (``propensity``, ``propensity_cr``, ...), ``Propensity.property`` (the
    property name above; the "Information imbalance" modifier takes it as its default target),
    ``Propensity.time``, ``Propensity.replicas``, ``Propensity.q`` (wave number of F_s),
    ``Propensity.tau_alpha`` (all particles) and ``Propensity.tau_alpha.type<k>`` (NaN when
    F_s does not reach 1/e within the replicas).

The analysed ensemble is kept in OVITO's own per-pipeline cache (``data_cache``): OVITO empties
it whenever a parameter or the input changes and frees it with the pipeline, so no module-level
copy outlives the pipeline. ``input_caching_hints`` tells OVITO to keep only the current input
frame (glassdyn reads every replica frame once, then works from its own result).
"""
from __future__ import annotations

import os
import warnings

import numpy as np
from ovito.data import DataCollection, DataTable
from ovito.pipeline import FileSource, ModifierInterface
from ovito.traits import OvitoObject
from traits.api import Bool, Enum, Float, Int

from ..errors import GlassdynError, InputError
from ..dynamics import analyze_ensemble
from ..ensemble import build_ensemble
from ..potentials import PRESETS, resolve_potential
from ._common import attach, content_key, frame_from_data, glassdyn_errors, propensity_property_name

__all__ = ["DynamicPropensityModifier", "FS_TABLE"]

#: identifier of the F_s(q, t) data table
FS_TABLE = "propensity-fs"
#: keys of the ensemble result in OVITO's per-pipeline data cache
_CACHE_KEY = "glassdyn.propensity.key"
_CACHE_RESULT = "glassdyn.propensity.result"


def _node_key(node) -> tuple:
    """Identify the files behind an upstream pipeline node (with modification times and sizes).

    Not the node's Python ``id``: OVITO hands out a new wrapper object on every evaluation. The
    data cache this key guards belongs to one pipeline node, and OVITO empties it when the
    upstream pipeline changes; the file list catches files rewritten on disk.
    """
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
    return (type(node).__name__, str(src or ""), tuple(paths))


def _wait_for_frames(slot) -> None:
    """Block until the file source upstream of ``slot`` has listed every trajectory frame.

    OVITO lists the frames of a file sequence (``replica_*.dump``) in the background; on a busy
    machine a replicas slot could otherwise report only the first file's frames and merge every
    replica into one (seen with two busy pytest workers).
    """
    node = getattr(slot, "input_node", None)
    while node is not None and not isinstance(node, FileSource):
        node = getattr(node, "input", None)
    if node is not None:
        node.wait_for_frames_list()


class DynamicPropensityModifier(ModifierInterface):
    """Dynamic propensity ``<|dr_i(t)|^2>_iso`` from replicas, with F_s(q, t) and tau_alpha (glassdyn core).

    Parameters (traits)
    -------------------
    replica_source : {"trajectory", "files"}
        Where the replicas are: the frames of this pipeline, or the files of the ``replicas``
        input slot.
    replicas : FileSource
        Replica dumps (e.g. ``replica_*.dump``) when ``replica_source="files"``.
    frames_per_replica : int
        0: group frames by source file; n > 0: consecutive blocks of n frames.
    time : float
        Time at which the propensity is shown (LJ time units, ``timestep * dt``); the nearest
        time the replicas hold is used (``Propensity.time`` tells which). Negative (default):
        use ``time_index``.
    time_index : int
        Advanced: index into the replicas' common times (-1 = the last), used when ``time < 0``.
    dt : float
        MD timestep, turns timesteps into times (LJ units).
    displacement : {"auto", "cage-relative", "plain"}
        Cage-relative displacements (remove 2D long-wavelength motion) or plain ones with the drift
        removed; ``auto`` (default): cage-relative in 2D, plain in 3D, as everywhere in glassdyn.
        The output property is named after the choice (``Propensity CR`` / ``Propensity``).
    absolute : bool
        ``<|dr|>`` instead of ``<|dr|^2>`` (property ``... Abs``).
    bond_breaking : bool
        Also compute the bond-breaking propensity ``C_B`` (property ``Bond Breaking``; slower).
    potential : str
        Preset whose sigma_ab sets the cage cutoff (1.5 sigma_ab) and the bond cutoffs.
    force_2d : bool
        Treat the data as 2D (a 2D LAMMPS dump loads as a height-1 3D cell).
    """

    replica_source = Enum("trajectory", "files", label="Replicas from")
    replicas = OvitoObject(FileSource)  # input slot "replicas" (OvitoObject takes no label)
    frames_per_replica = Int(0, label="Frames per replica (0 = one file per replica)")
    time = Float(-1.0, label="Time t, LJ units (nearest replica time; < 0: use the time index)")
    time_index = Int(-1, label="Time index, advanced (-1 = last; used when t < 0)")
    dt = Float(0.005, label="MD timestep dt")
    displacement = Enum("auto", "cage-relative", "plain", label="Displacements (auto: cage-relative in 2D)")
    absolute = Bool(False, label="Mean |dr| instead of |dr|^2")
    bond_breaking = Bool(False, label="Also bond-breaking propensity (slower)")
    potential = Enum("auto", *sorted(PRESETS), label="Potential preset (cage and bond cutoffs)")
    force_2d = Bool(False, label="Treat as 2D (height-1 dump cell)")

    # ------------------------------------------------------------------ OVITO hooks
    def input_caching_hints(self, frame: int, **kwargs):
        """Only the current input frame: the replica frames are read once and not needed again."""
        return {"upstream": frame, "replicas": []}

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

    def _params(self) -> tuple:
        return (self.replica_source, self.frames_per_replica, self.dt, self.displacement, self.absolute,
                self.bond_breaking, self.potential, self.force_2d)

    def _analyse(self, slot, current, out: list):
        """Collect the replicas of ``slot`` and analyse them; append the result to ``out``; yield progress."""
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
        del groups
        with warnings.catch_warnings():  # tau_alpha not reached: reported as NaN attributes
            warnings.simplefilter("ignore", RuntimeWarning)
            out.append(analyze_ensemble(ensemble, potential=resolve_potential(self.potential, ensemble.reference),
                                        cage_relative={"auto": "auto", "cage-relative": True,
                                                       "plain": False}[self.displacement],
                                        absolute=self.absolute, compute_bond_breaking=self.bond_breaking))

    def _time_index(self, result) -> int:
        T = len(result.times)
        if self.time >= 0:
            return result.time_index(self.time)
        if not -T <= self.time_index < T:
            raise GlassdynError(f"time index {self.time_index} is out of range: the replicas share {T} "
                                f"times ({', '.join(f'{t:g}' for t in result.times)})")
        return self.time_index % T

    def modify(self, data: DataCollection, *, frame: int, input_slots, data_cache=None, **kwargs):
        yield "Dynamic propensity: collecting replicas"
        with glassdyn_errors("Dynamic propensity"):
            slot = self._slot(input_slots)
            current = frame_from_data(data, force_2d=self.force_2d, index=frame)
            key = (_node_key(slot.input_node), slot.num_frames, self._params())
            if self.replica_source == "files":
                key += (content_key(current.positions, current.ids, current.types),)
            key = repr(key)
            cache = data_cache.attributes if data_cache is not None else {}
            result = cache.get(_CACHE_RESULT) if cache.get(_CACHE_KEY) == key else None
            if result is None:
                out: list = []
                yield from self._analyse(slot, current, out)
                result = out[0]
                if data_cache is not None:
                    cache[_CACHE_KEY] = key
                    cache[_CACHE_RESULT] = result
            k = self._time_index(result)
            name = propensity_property_name(result.column)
            columns = {name: result.propensity[k]}
            if result.bond_breaking is not None:
                columns["Bond Breaking"] = result.bond_breaking[k]
            _attach_by_id(data, current, result.ids, columns)
            _publish_fs(data, result)
            data.attributes["Propensity.time"] = float(result.times[k])
            data.attributes["Propensity.kind"] = result.column   # propensity, propensity_cr, ..._abs
            data.attributes["Propensity.property"] = name
            data.attributes["Propensity.replicas"] = int(result.params["n_replicas"])
        yield 1.0


def _type_rows(result) -> list[int]:
    """Rows of ``result.fs`` to publish: 0 (all particles), then every type present."""
    return [0] + [t for t in range(1, result.fs.shape[0]) if np.any(result.types == t)]


def _publish_fs(data, result) -> None:
    """F_s(q, t) as a data table (x = time; components all, type 1, ...) and tau_alpha / q as attributes."""
    rows = _type_rows(result)
    table = data.tables.create(identifier=FS_TABLE, title=f"Self-intermediate scattering F_s(q = {result.q:.4g}, t)",
                               plot_mode=DataTable.PlotMode.Line)
    table.x = table.create_property("Time", data=np.asarray(result.times, dtype=float))
    comps = ["all" if r == 0 else f"type {r}" for r in rows]
    table.y = table.create_property("F_s", data=np.ascontiguousarray(result.fs[rows].T, dtype=float), components=comps)
    table.axis_label_x = "t (LJ time)"
    table.axis_label_y = "F_s(q, t)"
    data.attributes["Propensity.q"] = float(result.q)
    for r in rows:
        suffix = "" if r == 0 else f".type{r}"
        data.attributes[f"Propensity.tau_alpha{suffix}"] = float(result.tau_alpha[r])


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
