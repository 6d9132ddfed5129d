"""Feature tables and configuration sets on disk.

* :func:`save_table`, :func:`load_table`: a :class:`~glassdyn.descriptors.FeatureTable` as
  ``.npz`` (names, values, ids, types, frame, params as JSON), ``.csv`` (header
  ``[frame,]id[,type],<names>``, ``%.17g``) or ``.parquet`` (needs pandas and pyarrow), written
  atomically; :func:`to_dataframe` gives a pandas DataFrame.
* :func:`read_configurations`: the inputs of ``glassdyn train``/``select``/``classify``: LAMMPS
  dumps (every frame is one configuration; features and target are per-atom columns, or the
  features are computed with recorded descriptor parameters) and feature tables (``.csv``
  with a header, ``.npz``); every file is one configuration unless it has a ``config`` column.
* :func:`load_descriptor_params`: descriptor parameters from a JSON file or the ``.npz`` table of
  ``glassdyn describe --table``.
"""
from __future__ import annotations

import fnmatch
import json
import os
from dataclasses import dataclass, field

import numpy as np

from .._atomic import atomic_path
from .._util import to_jsonable
from ..descriptors import FeatureTable, features_from_params
from ..errors import InputError
from ..potentials import resolve_potential
from .lammps_dump import iter_dump

__all__ = ["save_table", "load_table", "check_table_path", "to_dataframe", "Configuration", "read_configurations",
           "load_descriptor_params", "is_table_file", "NON_FEATURE_PREFIXES", "NON_FEATURE_NAMES", "TABLE_FORMATS"]

#: File endings of the feature-table formats.
TABLE_FORMATS = (".npz", ".csv", ".parquet")
#: Per-atom columns that are never features by default (outputs, dynamics, graph flags, LAMMPS extras).
NON_FEATURE_PREFIXES = ("propensity", "bond_breaking", "cb_", "graph_", "c_", "v_", "f_", "dr_", "disp")
NON_FEATURE_NAMES = frozenset({"vx", "vy", "vz", "fx", "fy", "fz", "mass", "q", "mol", "radius", "diameter",
                               "label", "mobility", "dr", "dr2", "config", "type", "types"})
_READABLE_TABLES = (".csv", ".npz")


# ============================================================================ FeatureTable files
def check_table_path(path) -> str:
    """Check that :func:`save_table` can write ``path``; return its extension.

    Raises :class:`~glassdyn.errors.InputError` for an unknown extension (not ``.npz``, ``.csv``
    or ``.parquet``), ``.parquet`` without pandas and pyarrow, or a folder that does not exist.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in TABLE_FORMATS:
        raise InputError(f"unknown table format '{ext}'; use .npz, .csv or .parquet", source=path)
    if ext == ".parquet":
        try:
            import pandas  # noqa: F401
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError("writing .parquet needs pandas and pyarrow (pip install pandas pyarrow); "
                             "or write .npz / .csv", source=path) from None
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"the folder {folder} does not exist", source=path)
    return ext


def to_dataframe(table: FeatureTable):
    """A pandas DataFrame of ``table.to_dict()`` (columns ``id``, [``type``, ``frame``,] features)."""
    import pandas as pd

    return pd.DataFrame(table.to_dict())


def save_table(table: FeatureTable, path) -> str:
    """Write ``table`` atomically as ``.npz``, ``.csv`` or ``.parquet`` (by extension); returns the path."""
    path = os.fspath(path)
    ext = check_table_path(path)
    with atomic_path(path, suffix=ext) as tmp:
        if ext == ".npz":
            extra = {}
            if table.types is not None:
                extra["types"] = table.types
            if table.frame is not None:
                extra["frame"] = table.frame
            with open(tmp, "wb") as fh:
                np.savez(fh, names=np.array(table.names), values=table.values, ids=table.ids,
                         params=np.array(json.dumps(to_jsonable(table.params))), **extra)
        elif ext == ".csv":
            d = table.to_dict()
            lead = [c for c in ("frame", "id", "type") if c in d]
            cols = lead + [c for c in d if c not in lead]
            arr = np.column_stack([d[c] for c in cols])
            fmt = ["%d"] * len(lead) + ["%.17g"] * (len(cols) - len(lead))
            np.savetxt(tmp, arr, fmt=fmt, delimiter=",", header=",".join(cols), comments="")
        else:
            df = to_dataframe(table)
            df.attrs["glassdyn_params"] = json.dumps(to_jsonable(table.params))
            df.to_parquet(tmp, index=False)
    return path


def load_table(path) -> FeatureTable:
    """Read a table written by :func:`save_table` (``.npz`` or ``.csv``, ``.parquet`` with pandas)."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if not os.path.exists(path):
        raise InputError("no such file", source=path)
    if ext == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return FeatureTable([str(n) for n in z["names"]], z["values"], z["ids"], json.loads(str(z["params"])),
                                z["types"] if "types" in z else None, z["frame"] if "frame" in z else None)
    if ext == ".csv":
        with open(path, encoding="utf-8") as fh:
            header = fh.readline().strip().split(",")
        data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        cols = {h: data[:, k] for k, h in enumerate(header)}
        names = [h for h in header if h not in ("frame", "id", "type")]
        return FeatureTable(names, data[:, [header.index(n) for n in names]], cols["id"], {},
                            cols.get("type"), cols.get("frame"))
    if ext == ".parquet":
        import pandas as pd

        df = pd.read_parquet(path)
        names = [c for c in df.columns if c not in ("frame", "id", "type")]
        return FeatureTable(names, df[names].to_numpy(float), df["id"].to_numpy(),
                            json.loads(df.attrs.get("glassdyn_params", "{}")),
                            df["type"].to_numpy() if "type" in df else None,
                            df["frame"].to_numpy() if "frame" in df else None)
    raise InputError(f"unknown table format '{ext}'; use .npz, .csv or .parquet", source=path)


# ============================================================================ configuration sets
@dataclass
class Configuration:
    """One configuration read from an input: feature matrix with names, optional target.

    Attributes
    ----------
    label : str
        ``file, frame k`` (or ``file config g``), for messages and reports.
    names : list of str
    values : ndarray, shape (N, F)
    target : ndarray, shape (N,) or None
    ids : ndarray, shape (N,) or None
    frame : glassdyn.frame.Frame or None
        The configuration itself (dump inputs).
    params : dict
        Descriptor parameters when the features were computed here.
    types : ndarray, shape (N,) or None
        Particle types (the dump's type column, a table's ``type``/``types`` column).
    """

    label: str
    names: list
    values: np.ndarray
    target: np.ndarray | None
    ids: np.ndarray | None = None
    frame: object = None
    params: dict = field(default_factory=dict)
    types: np.ndarray | None = None

    def feature_columns(self) -> dict[str, np.ndarray]:
        """``{name: column}`` of the features."""
        return {n: self.values[:, k] for k, n in enumerate(self.names)}


def is_table_file(path) -> bool:
    """True for the feature-table files :func:`read_configurations` reads (``.csv``, ``.npz``)."""
    return os.fspath(path).lower().endswith(_READABLE_TABLES)


def _is_feature_column(name: str, target: str | None) -> bool:
    if name == target:
        return False
    low = name.lower()
    return low not in NON_FEATURE_NAMES and not low.startswith(NON_FEATURE_PREFIXES)


def _pick_columns(props: dict, patterns, target, source, index) -> list[str]:
    one_d = [k for k, v in props.items() if np.ndim(v) == 1 and np.asarray(v).dtype.kind in "fiu"]
    if patterns:
        names = [k for k in one_d if any(fnmatch.fnmatchcase(k, p) for p in patterns) and k != target]
        if not names:
            raise InputError(f"no per-atom column matches --features {' '.join(patterns)}; columns are "
                             f"{', '.join(one_d) or '(none)'}", source=source, frame=index)
        return names
    return [k for k in one_d if _is_feature_column(k, target)]


def _read_table(path: str, target: str | None, patterns) -> list[Configuration]:
    if path.lower().endswith(".npz"):
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: np.asarray(z[k]) for k in z.files}
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the feature table ({exc})", source=path) from None
        if "names" not in data or "values" not in data:
            raise InputError("an .npz feature table needs arrays 'names' and 'values'", source=path)
        names = [str(n) for n in data["names"]]
        values = np.asarray(data["values"], float)
        cols = {n: values[:, k] for k, n in enumerate(names)}
        # save_table layout: ids, types, frame (-> configuration), params (JSON); other 1-D arrays
        # of the right length (e.g. a target) become columns
        types = next((np.asarray(data[k]) for k in ("types", "type") if k in data), None)
        for k, v in data.items():
            if k in ("names", "values", "params", "types", "type"):
                continue
            key = {"ids": "id", "frame": "config"}.get(k, k)
            if np.ndim(v) == 1 and len(v) == len(values):
                cols.setdefault(key, v)
    else:
        try:
            arr = np.genfromtxt(path, delimiter=",", names=True, dtype=float, comments="#",
                                deletechars="", replace_space="_")
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the CSV feature table ({exc})", source=path) from None
        if arr.dtype.names is None:
            raise InputError("a CSV feature table needs a header line of column names", source=path)
        arr = np.atleast_1d(arr)
        cols = {n: np.asarray(arr[n], float) for n in arr.dtype.names}
        types = next((cols[k] for k in ("type", "types") if k in cols), None)
    if types is not None:
        types = np.asarray(types).astype(np.int64)
    for k in ("type", "types"):
        cols.pop(k, None)
    groups = cols.pop("config", None)
    ids = cols.pop("id", None)
    y = None
    if target is not None:
        if target not in cols:
            raise InputError(f"no target column '{target}'; columns are {', '.join(cols)}", source=path)
        y = cols.pop(target)
    names = _pick_columns(cols, patterns, target, path, None)
    values = np.column_stack([cols[n] for n in names])
    if groups is None:
        return [Configuration(path, names, values, y, ids, types=types)]
    out = []
    for g in np.unique(groups):
        m = groups == g
        out.append(Configuration(f"{path} config {g:g}", names, values[m], None if y is None else y[m],
                                 None if ids is None else ids[m], types=None if types is None else types[m]))
    return out


def read_configurations(paths, *, target: str | None, patterns=None, compute: str = "auto",
                        descriptor_params: dict | None = None, potential: str | None = None,
                        frames=None) -> list[Configuration]:
    """Read configurations (features + target) from dumps and feature tables.

    Parameters
    ----------
    paths : sequence of str
    target : str or None
        Target column (required for training).
    patterns : sequence of str, optional
        Glob patterns of feature columns (default: every numeric column except the target and
        known non-features such as propensity, graph flags, velocities).
    compute : {"auto", "always", "never"}
        Compute descriptors for dumps: when no feature column is found / always / never.
    descriptor_params : dict, optional
        Parameters for :func:`glassdyn.descriptors.features_from_params`. Without given
        ``cutoffs`` (or with ``"rdf"``), one set of neighbour cutoffs is computed for all the
        configurations whose features are computed here (g_ab(r) pooled over them,
        :func:`glassdyn.structure.dataset_cutoffs`) and recorded in each configuration's
        ``params`` (the matrix and ``cutoff_method``), so that ``glassdyn predict`` reuses it.
    potential : str, optional
        Potential for computed descriptors (default: recorded, else ``"auto"``).
    frames : None, int, slice or list of int
        Frames of each dump (default all).
    """
    pending = []   # (Configuration, frame) whose features are computed below, with one set of cutoffs
    out: list[Configuration] = []
    for path in paths:
        path = os.fspath(path)
        if not os.path.exists(path):
            raise InputError("file not found", source=path)
        if is_table_file(path):
            out.extend(_read_table(path, target, patterns))
            continue
        for frame in iter_dump(path, frames):
            frame = frame.sorted_by_id()
            props = frame.properties
            y = None
            if target is not None:
                if target not in props:
                    raise InputError(f"no per-atom column '{target}' (the target); columns are "
                                     f"{', '.join(props) or '(none)'}: run glassdyn propensity first or "
                                     "choose --target", source=path, frame=frame.index)
                y = np.asarray(props[target], float)
            names = [] if compute == "always" else _pick_columns(props, patterns, target, path, frame.index)
            label = f"{path}, frame {frame.index}"
            if names:
                values = np.column_stack([np.asarray(props[n], float) for n in names])
                out.append(Configuration(label, names, values, y, frame.ids, frame, {}, frame.types))
            elif compute == "never":
                raise InputError("no feature columns in the dump; run glassdyn describe first",
                                 source=path, frame=frame.index)
            else:
                conf = Configuration(label, [], np.zeros((frame.n_atoms, 0)), y, frame.ids, frame, {}, frame.types)
                out.append(conf)
                pending.append(conf)
    if pending:
        params = dict(descriptor_params or {})
        if params.get("cutoffs") in (None, "rdf"):
            # one set of neighbour cutoffs for the data set (pooled g_ab(r)), recorded in params so
            # that a model trained on them recomputes the same features at prediction time
            from ..structure import dataset_cutoffs
            first = pending[0].frame
            recorded = params.get("potential")
            if isinstance(recorded, dict):  # a serialised potential
                recorded = recorded.get("name")
            pot = resolve_potential(potential or recorded or "auto", first)
            cut, info = dataset_cutoffs([c.frame for c in pending], pot)
            params["cutoffs"], params["cutoff_method"] = cut.tolist(), info
        for conf in pending:
            table = features_from_params(conf.frame, params, potential=potential)
            conf.names, conf.params = list(table.names), dict(table.params)
            conf.values = np.asarray(table.values, float)
            if not np.array_equal(np.asarray(table.ids), conf.frame.ids):
                conf.values = conf.values[np.argsort(np.asarray(table.ids))]
    if not out:
        raise InputError("no configurations found in the inputs")
    return out


def load_descriptor_params(path: str | None) -> dict | None:
    """Descriptor parameters from a JSON file, the ``.npz`` table of ``glassdyn describe --table`` or a
    model file (``.gdm``: the parameters its features were computed with, neighbour cutoffs included)."""
    if path is None:
        return None
    path = os.fspath(path)
    if path.lower().endswith(".gdm"):
        from ..modelfile import read_meta
        return dict(read_meta(path).get("descriptor_params") or {})
    if path.lower().endswith(".npz"):
        try:
            with np.load(path, allow_pickle=False) as z:
                return json.loads(str(z["params"]))
        except FileNotFoundError:
            raise InputError("descriptor parameter file not found", source=path) from None
        except (KeyError, ValueError, OSError) as exc:
            raise InputError(f"no descriptor parameters in this table ({exc})", source=path) from None
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise InputError("descriptor parameter file not found", source=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc})", source=path) from None
