"""Model files of the deep classifiers that are safe to share: loading never executes code.

A file (suffix ``.gdnn`` suggested) is a zip archive with exactly two members:

``meta.json``
    ``format`` ("glassdyn-deep-model"), ``format_version``, ``glassdyn_version``,
    ``torch_version``, ``numpy_version``, ``architecture`` (``kind`` "cnn" or "mpnn" and every
    constructor argument of the network), ``input`` (the featurizer: kind and parameters),
    ``arrays`` (name, shape and dtype of every weight array, for information), ``training``
    (configuration, per-epoch history, best epoch) and ``extra`` (user data).
``weights.npz``
    every tensor of the network's ``state_dict`` as a plain numpy array (``np.savez``).

Loading is safe by construction: ``meta.json`` is parsed with :mod:`json`; the network is
rebuilt from the architecture it describes (only known constructor arguments, JSON scalars and
lists); ``weights.npz`` must hold exactly the arrays of that network (``<name>.npy`` members
only), each with the expected shape and dtype, checked from its ``.npy`` header before the data
are read, and is then read with ``allow_pickle=False``. Neither :func:`torch.load` nor pickle is
used anywhere. Any other member, a missing or extra array, a wrong shape or dtype, non-finite
weights, or a file that is not a zip archive is refused with
:class:`~glassdyn.errors.InputError` naming the file.
"""
from __future__ import annotations

import inspect
import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._atomic import write_bytes_atomic
from .._util import glassdyn_version, to_jsonable
from ..errors import InputError
from .train import INPUT_OF, ARCHITECTURES, DeepClassifier, TrainConfig

__all__ = ["FORMAT", "FORMAT_VERSION", "SUFFIX", "load_model", "read_meta", "save_model"]

FORMAT = "glassdyn-deep-model"
FORMAT_VERSION = 1
SUFFIX = ".gdnn"
MEMBERS = ("meta.json", "weights.npz")
_MAX_META_BYTES = 4 << 20


def _to_json(o) -> Any:
    """Plain JSON of ``o`` (numpy values converted; anything else not JSON is a TypeError)."""
    return json.loads(json.dumps(to_jsonable(o)))


# ============================================================================ writing
def save_model(clf: DeepClassifier, path, *, extra: Mapping | None = None) -> Path:
    """Write a :class:`~glassdyn.deep.train.DeepClassifier` to a model file (atomically).

    Parameters
    ----------
    clf : DeepClassifier
    path : str or Path
        Output file (suffix ``.gdnn`` suggested).
    extra : mapping, optional
        JSON-serialisable user information stored in ``meta.json``.
    """
    path = Path(path)
    state = {k: v.detach().cpu().numpy() for k, v in clf.model.state_dict().items()}
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "glassdyn_version": glassdyn_version(), "torch_version": torch.__version__, "numpy_version": np.__version__,
        "architecture": clf.architecture(),
        "input": clf.input_description(),
        "seed": clf.seed,
        "arrays": {k: {"shape": list(a.shape), "dtype": a.dtype.str} for k, a in state.items()},
        "training": _to_json(clf.training_description()),
        "extra": _to_json(dict(extra or {})),
    }
    wbuf = io.BytesIO()
    np.savez(wbuf, **state)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("meta.json", json.dumps(meta, indent=1))
        z.writestr("weights.npz", wbuf.getvalue())
    write_bytes_atomic(path, buf.getvalue(), fsync=True, parents=True)
    return path


# ============================================================================ reading
def _refuse(path, why: str) -> InputError:
    return InputError(f"refusing to load the deep model file: {why}", source=str(path))


def _open(path) -> tuple[zipfile.ZipFile, Path]:
    path = Path(path)
    if not path.is_file():
        raise InputError("model file not found", source=str(path))
    if not zipfile.is_zipfile(path):
        raise _refuse(path, "it is not a zip archive (a glassdyn deep model holds meta.json and weights.npz)")
    try:
        z = zipfile.ZipFile(path)
        names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refuse(path, f"damaged zip archive: {exc}") from exc
    if sorted(names) != sorted(MEMBERS):
        extra = sorted(set(names) - set(MEMBERS))
        missing = sorted(set(MEMBERS) - set(names))
        dup = sorted({n for n in names if names.count(n) > 1})
        z.close()
        parts = []
        if extra:
            parts.append(f"unexpected members {extra}")
        if missing:
            parts.append(f"missing members {missing}")
        if dup:
            parts.append(f"duplicated members {dup}")
        raise _refuse(path, "; ".join(parts) + f" (expected exactly {list(MEMBERS)}); it may have been tampered with")
    return z, path


def _parse_meta(z: zipfile.ZipFile, path: Path) -> dict:
    info = z.getinfo("meta.json")
    if info.file_size > _MAX_META_BYTES:
        raise _refuse(path, f"meta.json is implausibly large ({info.file_size} bytes)")
    try:
        meta = json.loads(z.read("meta.json").decode("utf-8"))
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError) as exc:
        raise _refuse(path, f"meta.json is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _refuse(path, f"meta.json does not declare format {FORMAT!r}")
    fv = meta.get("format_version")
    if not isinstance(fv, int) or isinstance(fv, bool) or fv < 1:
        raise _refuse(path, f"bad format_version {fv!r}")
    if fv > FORMAT_VERSION:
        raise InputError(f"model file format version {fv} is newer than this glassdyn reads ({FORMAT_VERSION}); "
                         f"it was written by glassdyn {meta.get('glassdyn_version')}: upgrade glassdyn",
                         source=str(path))
    for key in ("architecture", "input"):
        if not isinstance(meta.get(key), dict) or not isinstance(meta[key].get("params"), dict):
            raise _refuse(path, f"meta.json lacks a valid '{key}' description")
    return meta


def read_meta(path) -> dict:
    """The parsed ``meta.json`` of a model file (architecture, input, versions, training history)."""
    z, path = _open(path)
    with z:
        return _parse_meta(z, path)


def _plain(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return False


def _rebuild(meta: dict, path: Path) -> DeepClassifier:
    arch, inp = meta["architecture"], meta["input"]
    kind = arch.get("kind")
    if kind not in ARCHITECTURES:
        raise _refuse(path, f"unknown architecture {kind!r} (expected one of {sorted(ARCHITECTURES)})")
    if inp.get("kind") != INPUT_OF[kind]:
        raise _refuse(path, f"input kind {inp.get('kind')!r} does not fit architecture {kind!r}")
    allowed = set(inspect.signature(ARCHITECTURES[kind]).parameters)
    for what, params, ok in (("architecture", arch["params"], allowed), ("input", inp["params"], None)):
        unknown = sorted(set(params) - ok) if ok is not None else []
        if unknown:
            raise _refuse(path, f"unknown {what} parameters {unknown}")
        bad = sorted(k for k, v in params.items() if not _plain(v))
        if bad:
            raise _refuse(path, f"{what} parameters {bad} are not plain JSON values")
    seed = meta.get("seed", 0)
    try:
        return DeepClassifier(kind, dict(arch["params"]), dict(inp["params"]),
                              seed=seed if isinstance(seed, int) else 0)
    except (TypeError, ValueError, RuntimeError) as exc:  # InputError is a ValueError
        raise _refuse(path, f"cannot rebuild the {kind} architecture from meta.json: {exc}") from exc


def _npy_header(data: zipfile.ZipExtFile):
    version = np.lib.format.read_magic(data)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(data)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(data)
    raise ValueError(f"unsupported .npy format version {version}")


def _read_weights(blob: bytes, expected: dict[str, torch.Tensor], path: Path) -> dict[str, np.ndarray]:
    try:
        inner = zipfile.ZipFile(io.BytesIO(blob))
        names = inner.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refuse(path, f"weights.npz is not a valid npz (zip) archive: {exc}") from exc
    want = {f"{k}.npy": k for k in expected}
    if sorted(names) != sorted(want):
        extra = sorted(set(names) - set(want))
        missing = sorted(want[n] for n in set(want) - set(names))
        dup = sorted({n for n in names if names.count(n) > 1})
        parts = []
        if extra:
            parts.append(f"unexpected arrays {extra}")
        if missing:
            parts.append(f"missing arrays {missing}")
        if dup:
            parts.append(f"duplicated arrays {dup}")
        raise _refuse(path, "weights.npz does not match the architecture: " + "; ".join(parts))
    with inner:
        for member, key in want.items():
            t = expected[key]
            exp_dtype = np.dtype(str(t.dtype).replace("torch.", ""))
            try:
                with inner.open(member) as fh:
                    shape, _fortran, dtype = _npy_header(fh)
            except (ValueError, OSError, zipfile.BadZipFile, SyntaxError) as exc:
                raise _refuse(path, f"array {key!r} in weights.npz has no valid .npy header: {exc}") from exc
            if dtype.hasobject:
                raise _refuse(path, f"array {key!r} holds Python objects (dtype {dtype}); pickled data are never loaded")
            if tuple(shape) != tuple(t.shape) or dtype != exp_dtype:
                raise _refuse(path, f"array {key!r} has shape {tuple(shape)} and dtype {dtype}, the architecture "
                                    f"needs shape {tuple(t.shape)} and dtype {exp_dtype}")
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
                arrays = {want[m]: np.array(npz[want[m]]) for m in want}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise _refuse(path, f"cannot read weights.npz: {exc}") from exc
    for key, a in arrays.items():
        if a.shape != tuple(expected[key].shape):  # header and data disagree
            raise _refuse(path, f"array {key!r} has shape {a.shape}, expected {tuple(expected[key].shape)}")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise _refuse(path, f"array {key!r} holds non-finite values")
    return arrays


def load_model(path) -> DeepClassifier:
    """Load a model file written by :func:`save_model` without executing code from it.

    Returns
    -------
    DeepClassifier
        On the CPU, in eval mode; ``predict_proba`` gives the saved model's numbers. Extra
        attributes: ``metadata_`` (the parsed ``meta.json``) and ``source_`` (the path).

    Raises
    ------
    InputError
        Naming the file, for a missing file, a file that is not a zip archive, a newer format,
        unexpected or missing members, an architecture that cannot be rebuilt, or arrays that
        do not match it (names, shapes, dtypes, object arrays, non-finite values).
    """
    z, path = _open(path)
    with z:
        meta = _parse_meta(z, path)
        clf = _rebuild(meta, path)
        expected = clf.model.state_dict()
        limit = sum(t.numel() * t.element_size() for t in expected.values()) + 256 * (len(expected) + 8) + (1 << 20)
        info = z.getinfo("weights.npz")
        if info.file_size > limit:
            raise _refuse(path, f"weights.npz is {info.file_size} bytes, more than the architecture's "
                                f"arrays can take ({limit})")
        try:
            blob = z.read("weights.npz")
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise _refuse(path, f"cannot read weights.npz: {exc}") from exc
    arrays = _read_weights(blob, expected, path)
    clf.model.load_state_dict({k: torch.from_numpy(a) for k, a in arrays.items()}, strict=True)
    clf.model.eval()
    training = meta.get("training") if isinstance(meta.get("training"), dict) else {}
    clf.history_ = list(training.get("history") or [])
    be = training.get("best_epoch")
    clf.best_epoch_ = be if isinstance(be, int) else None
    cfg = training.get("config")
    if isinstance(cfg, dict):
        try:
            clf.train_config_ = TrainConfig(**cfg)
        except (TypeError, ValueError):
            clf.train_config_ = None
    clf.metadata_ = meta
    clf.source_ = str(path)
    return clf
