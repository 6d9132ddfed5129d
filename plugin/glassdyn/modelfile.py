"""Model files that are safe to share: loading never executes code from the file.

A glassdyn model file (suffix ``.gdm``) is a zip archive holding

``meta.json``
    format name and version, glassdyn version, model kind and parameters, the feature names the
    model was trained on (in order), the selected features, the descriptor parameters needed to
    recompute those features, the training metrics and any user data.
``arrays.npz``
    plain float arrays (no object arrays; read with ``allow_pickle=False``): the scaler mean and
    scale and, for linear models, the weights and intercept.
``model.skops`` (MLP and Gaussian process only)
    the fitted scikit-learn regressor in the `skops <https://skops.readthedocs.io>`_ format.

Models fitted per particle type (:class:`~glassdyn.learn.PropensityModel` ``per_type``) are
format version 2 (older glassdyn refuses them with "upgrade glassdyn" instead of predicting
without the types); joint models stay version 1, readable by every glassdyn. ``meta.json`` then
holds ``per_type`` (the mode, the types and, for ``"separate"``, every type's support and
selected features). With ``"feature"`` the scaler and weights cover the selected features and
then the one-hot type columns; with ``"separate"`` every type ``k`` (its index in
``per_type.types``) has its own arrays ``t<k>_scaler_mean``, ... and, for MLP/GP, its own
``model_t<k>.skops`` member, checked like ``model.skops``.

Loading is safe by construction:

* no pickle anywhere: JSON is parsed with :mod:`json`, arrays with ``allow_pickle=False``;
* any other zip member (e.g. a pickle someone slipped in) or a member present twice is refused
  before anything is read, and the skops members must be exactly those ``meta.json`` declares
  (a ``model.skops`` inside a linear model is refused, not ignored);
* a damaged file (truncated, bad zip data, a member that is not what its name says, fields of the
  wrong type in ``meta.json``, arrays that are missing, extra, of the wrong shape or not finite)
  is refused with :class:`~glassdyn.errors.InputError` naming the file and the member: nothing
  in the file is ignored silently;
* the skops part is checked twice before it is loaded: every type named in its schema must be
  on :data:`ALLOWED_TYPES` (scikit-learn MLP/GP classes, their kernels and optimisers, numpy
  arrays and plain containers), and :func:`skops.io.get_untrusted_types` may only report types
  on :data:`TRUSTED_TYPES`, which is then passed to :func:`skops.io.loads` as the explicit
  trusted list. Anything else (``builtins.eval``, ``os.system``, ``functools.partial``, ...) is
  refused with :class:`~glassdyn.errors.InputError` naming it.

Files are written to a temporary file in the target folder and renamed.
"""
from __future__ import annotations

import io
import json
import numbers
import os
import re
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import write_bytes_atomic
from .errors import GlassdynError, InputError
from ._util import glassdyn_version, json_default, to_jsonable
from .learn import MODELS, PropensityModel, check_types

__all__ = ["FORMAT", "FORMAT_VERSION", "SUFFIX", "TRUSTED_TYPES", "ALLOWED_TYPES", "save_model",
           "load_model", "load_model_cached", "read_meta"]

FORMAT = "glassdyn-model"
FORMAT_VERSION = 2
#: Joint models are written as version 1 (the layout every glassdyn reads).
_JOINT_VERSION = 1
SUFFIX = ".gdm"
_MEMBERS = {"meta.json", "arrays.npz", "model.skops"}
_TYPE_MEMBER = re.compile(r"model_t[0-9]{1,4}\.skops")
_LINEAR = ("linear", "ridge", "lasso")

#: Types outside skops' default trust that glassdyn accepts (passed as ``trusted`` to skops).
TRUSTED_TYPES = frozenset({
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.gaussian_process.kernels.ConstantKernel",
    "sklearn.gaussian_process.kernels.Product",
    "sklearn.gaussian_process.kernels.Sum",
    "sklearn.gaussian_process.kernels.RBF",
    "sklearn.gaussian_process.kernels.WhiteKernel",
    "sklearn.gaussian_process.kernels.Matern",
    "sklearn.gaussian_process.kernels.RationalQuadratic",
    "sklearn.gaussian_process.kernels.DotProduct",
    "sklearn.gaussian_process.kernels.Exponentiation",
})

#: Every type that may appear anywhere in the skops schema of a glassdyn model.
ALLOWED_TYPES = TRUSTED_TYPES | frozenset({
    "sklearn.neural_network._multilayer_perceptron.MLPRegressor",
    "sklearn.gaussian_process._gpr.GaussianProcessRegressor",
    "builtins.dict", "builtins.list", "builtins.tuple", "builtins.str", "builtins.int",
    "builtins.float", "builtins.bool", "builtins.NoneType",
    "numpy.ndarray", "numpy.float64", "numpy.float32", "numpy.int64", "numpy.int32", "numpy.bool_",
    "numpy.random.mtrand.RandomState", "numpy.random._generator.Generator",
    "numpy.random._pcg64.PCG64", "numpy.random._mt19937.MT19937",
})

_EXPECTED_CLASS = {
    "mlp": "sklearn.neural_network._multilayer_perceptron.MLPRegressor",
    "gp": "sklearn.gaussian_process._gpr.GaussianProcessRegressor",
}


# ============================================================================ writing
def save_model(model: PropensityModel, path, *, descriptor_params: Mapping | None = None,
               metrics: Mapping | None = None, target: str | None = None,
               extra: Mapping | None = None) -> Path:
    """Write a fitted :class:`~glassdyn.learn.PropensityModel` to a ``.gdm`` file.

    Parameters
    ----------
    model : PropensityModel
        Fitted model.
    path : str or Path
        Output file (``.gdm`` suggested). Written atomically (temporary file + rename).
    descriptor_params : mapping, optional
        Parameters of the descriptors the features were computed with (e.g.
        ``FeatureTable.params``); ``glassdyn predict`` recomputes features with them.
    metrics : mapping, optional
        Training / cross-validation metrics (JSON-serialisable).
    target : str, optional
        Name of the target column (e.g. ``propensity``).
    extra : mapping, optional
        Any other JSON-serialisable information.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from glassdyn.learn import PropensityModel
    >>> rng = np.random.default_rng(0)
    >>> X, types = rng.normal(size=(300, 2)), np.repeat([1, 2], 150)
    >>> y = np.where(types == 1, X[:, 0], -X[:, 1])
    >>> m = PropensityModel("linear", per_type="separate").fit(X, y, types=types, feature_names=["a", "b"])
    >>> path = save_model(m, tempfile.mkdtemp() + "/m.gdm", target="propensity")
    >>> m2 = load_model(path)
    >>> m2.per_type_, bool(np.array_equal(m2.predict(X, types=types), m.predict(X, types=types)))
    ('separate', True)
    """
    if not hasattr(model, "support_"):
        raise GlassdynError("cannot save an unfitted model; call fit() first")
    path = Path(path)
    kind = model.model
    mode = getattr(model, "per_type_", "joint")
    params = {k: to_jsonable(v) for k, v in model.get_params().items()}
    if callable(model.select):
        params["select"] = getattr(model.select, "__name__", "custom")
    types = getattr(model, "types_", None)
    type_list = None if types is None else [to_jsonable(t) for t in types]
    meta: dict[str, Any] = {
        "format": FORMAT, "format_version": _JOINT_VERSION if mode == "joint" else FORMAT_VERSION,
        "glassdyn_version": glassdyn_version(),
        "model": kind, "params": params,
        "feature_names": _names_of(model),
        "support": [int(i) for i in model.support_],
        "selected_features": list(model.selected_features_),
        "n_train": int(model.n_train_), "train_groups": [to_jsonable(g) for g in model.train_groups_],
        "per_type": {"mode": mode, "types": type_list},
        "target": target,
        "descriptor_params": json.loads(json.dumps(descriptor_params or {}, default=json_default)),
        "metrics": json.loads(json.dumps(metrics or {}, default=json_default)),
        "extra": json.loads(json.dumps(extra or {}, default=json_default)),
    }
    if getattr(model, "n_train_by_type_", None):
        meta["per_type"]["n_train_by_type"] = {str(k): int(v) for k, v in model.n_train_by_type_.items()}
    arrays: dict[str, np.ndarray] = {}
    members: dict[str, bytes] = {}
    if mode == "separate":
        meta["per_type"]["models"] = []
        for k, t in enumerate(types):
            sub = model.models_[t.item() if hasattr(t, "item") else t]
            meta["per_type"]["models"].append({
                "type": type_list[k], "support": [int(i) for i in sub.support_],
                "selected_features": list(sub.selected_features_), "n_train": int(sub.n_train_)})
            _core_parts(sub, kind, f"t{k}_", f"model_t{k}.skops", arrays, members)
    else:
        if mode == "feature":
            meta["per_type"]["type_columns"] = list(model.type_columns_)
        _core_parts(model, kind, "", "model.skops", arrays, members)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("meta.json", json.dumps(meta, indent=1, sort_keys=False))
        abuf = io.BytesIO()
        np.savez(abuf, **arrays)
        z.writestr("arrays.npz", abuf.getvalue())
        for name, data in members.items():
            z.writestr(name, data)
    write_bytes_atomic(path, buf.getvalue(), fsync=True, parents=True)
    return path


def _names_of(model) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return [f"x{i}" for i in range(int(model.n_features_in_))]
    return [str(n) for n in names]


def _core_parts(model, kind: str, prefix: str, member: str, arrays: dict, members: dict) -> None:
    """Scaler (and linear weights) of one fitted scaler + regressor as arrays; MLP/GP as skops."""
    arrays[prefix + "scaler_mean"] = np.asarray(model.scaler_.mean_, float)
    arrays[prefix + "scaler_scale"] = np.asarray(model.scaler_.scale_, float)
    arrays[prefix + "scaler_var"] = np.asarray(model.scaler_.var_, float)
    if kind in _LINEAR:
        arrays[prefix + "coef"] = np.asarray(model.estimator_.coef_, float).reshape(-1)
        arrays[prefix + "intercept"] = np.asarray([model.estimator_.intercept_], float).reshape(-1)
    else:
        import skops.io as sio
        members[member] = sio.dumps(model.estimator_)


# ============================================================================ reading
def _not_a_model(path, why: str) -> InputError:
    return InputError(f"not a glassdyn model file ({why}); give a .gdm file written by "
                      "'glassdyn train' or glassdyn.modelfile.save_model", source=str(path))


def _damaged(path, why: str) -> InputError:
    return InputError(f"the model file is damaged ({why}); train the model again or restore the file",
                      source=str(path))


def _open(path) -> tuple[zipfile.ZipFile, Path]:
    path = Path(path)
    if not path.is_file():
        raise InputError("model file not found" if not path.is_dir() else "this is a folder, not a model file",
                         source=str(path))
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise InputError(f"cannot read the model file ({exc.strerror or exc})", source=str(path)) from None
    if not zipfile.is_zipfile(path):
        raise _not_a_model(path, "it is not a zip archive: empty, truncated or another kind of file")
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _damaged(path, f"bad zip archive: {exc}") from exc
    listed = z.namelist()
    names = set(listed)
    unknown = sorted(n for n in names - _MEMBERS if not _TYPE_MEMBER.fullmatch(n))
    if unknown:
        z.close()
        raise InputError(f"refusing to load: the model file holds unexpected members {unknown} "
                         f"(a glassdyn model holds only {sorted(_MEMBERS)} and per-type model_t<k>.skops); "
                         "it may have been tampered with", source=str(path))
    twice = sorted({n for n in listed if listed.count(n) > 1})
    if twice:
        z.close()
        raise InputError(f"refusing to load: the model file holds {', '.join(twice)} more than once (only one copy "
                         "would be read); it may have been tampered with", source=str(path))
    if "meta.json" not in names:
        z.close()
        raise _not_a_model(path, "no meta.json")
    return z, path


def _read_member(z: zipfile.ZipFile, name: str, path: Path) -> bytes:
    """The bytes of one member; bad zip data (CRC, truncation, encryption) is an InputError."""
    try:
        return z.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError) as exc:
        raise _damaged(path, f"{name} cannot be read: {exc}") from exc


def _int_like(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _check_params(params, path: Path) -> None:
    """``meta.json`` ``params``: a dict of the known PropensityModel parameters, each of its type."""
    if not isinstance(params, dict):
        raise _damaged(path, f"meta.json 'params' is a {type(params).__name__}, not an object")
    number = (lambda v: v is None or (isinstance(v, numbers.Real) and not isinstance(v, bool)))
    integer = (lambda v: v is None or _int_like(v))
    checks = {
        "model": lambda v: v in MODELS, "alpha": number, "select": lambda v: v is None or isinstance(v, str),
        "n_features": integer, "hidden_layer_sizes": lambda v: isinstance(v, (list, tuple)) and all(
            _int_like(h) and h > 0 for h in v), "max_iter": integer, "gp_max_samples": integer,
        "gp_ard": lambda v: isinstance(v, bool), "random_state": integer, "seed": integer,
        "per_type": lambda v: isinstance(v, str), "min_type_rows": integer,
    }
    for key, value in params.items():
        if key not in checks:
            raise _damaged(path, f"meta.json 'params' holds an unknown parameter '{key}'; if the file was written "
                                 "by a newer glassdyn, upgrade glassdyn")
        if not checks[key](value):
            raise _damaged(path, f"meta.json parameter '{key}' has the invalid value {value!r}")


def _check_fields(meta: dict, path: Path) -> None:
    """The types of the fields of ``meta.json`` that loading and predicting use."""
    names = meta["feature_names"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise _damaged(path, "meta.json 'feature_names' is not a non-empty list of names")
    if len(set(names)) != len(names):
        raise _damaged(path, "meta.json 'feature_names' lists a name twice")
    if not isinstance(meta["support"], list) or not all(_int_like(i) for i in meta["support"]):
        raise _damaged(path, "meta.json 'support' is not a list of feature indices")
    _check_params(meta["params"], path)
    for key, kind in (("n_train", numbers.Integral), ("train_groups", list), ("target", str),
                      ("descriptor_params", dict), ("metrics", dict), ("extra", dict), ("selected_features", list)):
        if meta.get(key) is not None and (not isinstance(meta[key], kind) or isinstance(meta[key], bool)):
            raise _damaged(path, f"meta.json '{key}' has the wrong type ({type(meta[key]).__name__})")
    pt = meta.get("per_type") or {}
    for k, entry in enumerate(pt.get("models") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("support"), list) or \
                not all(_int_like(i) for i in entry["support"]) or not _int_like(entry.get("n_train", 0)):
            raise _damaged(path, f"meta.json: per-type model {k} lacks a valid support or n_train")


def _parse_meta(z: zipfile.ZipFile, path: Path) -> dict:
    try:
        meta = json.loads(_read_member(z, "meta.json", path).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _not_a_model(path, f"meta.json is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _not_a_model(path, "meta.json does not declare format 'glassdyn-model'")
    fv = meta.get("format_version")
    if not isinstance(fv, int) or fv > FORMAT_VERSION:
        raise InputError(f"model file format version {fv} is newer than this glassdyn reads ({FORMAT_VERSION}); "
                         f"it was written by glassdyn {meta.get('glassdyn_version')}: upgrade glassdyn",
                         source=str(path))
    if meta.get("model") not in MODELS:
        raise InputError(f"unknown model kind {meta.get('model')!r} in the model file", source=str(path))
    for key in ("feature_names", "support", "params"):
        if key not in meta:
            raise _not_a_model(path, f"meta.json lacks '{key}'")
    pt = meta.get("per_type") or {"mode": "joint"}
    if not isinstance(pt, dict) or pt.get("mode") not in ("joint", "separate", "feature"):
        raise InputError(f"unknown per-type mode {pt!r} in meta.json", source=str(path))
    if pt["mode"] != "joint":
        types = pt.get("types")
        if not isinstance(types, list) or not types or not all(isinstance(t, (int, str)) for t in types) \
                or len(set(types)) != len(types):
            raise InputError("meta.json lists no valid particle types for a per-type model", source=str(path))
        if pt["mode"] == "separate" and (not isinstance(pt.get("models"), list) or len(pt["models"]) != len(types)):
            raise InputError("meta.json lacks the per-type models of a per_type='separate' model", source=str(path))
    _check_fields(meta, path)
    return meta


def read_meta(path) -> dict:
    """The metadata of a model file (feature names, descriptor parameters, metrics, versions)."""
    z, path = _open(path)
    with z:
        return _parse_meta(z, path)


def _schema_types(schema) -> set[str]:
    found: set[str] = set()
    stack = [schema]
    while stack:
        o = stack.pop()
        if isinstance(o, dict):
            mod, cls = o.get("__module__"), o.get("__class__")
            if mod is not None or cls is not None:
                found.add(f"{mod}.{cls}")
            if o.get("__loader__") in ("TypeNode", "FunctionNode", "MethodNode", "OperatorFuncNode") \
                    and isinstance(o.get("content"), dict):
                c = o["content"]
                if "__module__" in c or "__class__" in c:
                    found.add(f"{c.get('__module__')}.{c.get('__class__')}")
            stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(o)
    return found


def _load_skops(data: bytes, kind: str, path: Path, member: str = "model.skops"):
    try:
        import skops.io as sio
    except ImportError as exc:  # pragma: no cover
        raise GlassdynError("loading an MLP or GP model needs skops: pip install 'glassdyn[models]' "
                            "(or pip install skops)") from exc
    try:
        inner = zipfile.ZipFile(io.BytesIO(data))
        schema = json.loads(inner.read("schema.json").decode("utf-8"))
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, UnicodeDecodeError, RuntimeError,
            NotImplementedError) as exc:
        raise InputError(f"the model part ({member}) is damaged: {exc}", source=str(path)) from exc
    found = _schema_types(schema)
    refused = sorted(t for t in found if t not in ALLOWED_TYPES)
    if refused:
        raise InputError(f"refusing to load: the model part references types that are not allowed: "
                         f"{', '.join(refused)}; the file may have been tampered with", source=str(path))
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # noqa: BLE001 - any failure to read the schema: a damaged part
        raise InputError(f"the model part ({member}) is damaged: {type(exc).__name__}: {exc}",
                         source=str(path)) from exc
    bad = sorted(t for t in untrusted if t not in TRUSTED_TYPES)
    if bad:
        raise InputError(f"refusing to load: skops reports untrusted types {', '.join(bad)}; "
                         "the file may have been tampered with", source=str(path))
    try:
        obj = sio.loads(data, trusted=sorted(untrusted))
    except Exception as exc:  # noqa: BLE001 - only allowed types are built: a failure means damaged data
        raise InputError(f"the model part ({member}) is damaged: {type(exc).__name__}: {exc}",
                         source=str(path)) from exc
    full = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if full != _EXPECTED_CLASS[kind]:
        raise InputError(f"the model part holds a {full}, expected {_EXPECTED_CLASS[kind]}", source=str(path))
    return obj


def load_model(path) -> PropensityModel:
    """Load a ``.gdm`` model file without executing any code from it.

    Returns
    -------
    PropensityModel
        Fitted; ``predict`` gives the same numbers as the saved model (per type, for a model
        fitted per type). Extra attributes:
        ``metadata_`` (the parsed ``meta.json``: feature names, descriptor parameters,
        metrics, glassdyn version) and ``source_`` (the path).

    Raises
    ------
    InputError
        For a missing file, a file that is not a glassdyn model, a newer format, or a file
        with unexpected members or types (possible tampering).

    Notes
    -----
    Files written before per-type models (format version 1, parameters ``seed``) load as joint
    models (``per_type_ == "joint"``), ``seed`` becoming ``random_state``. A per-type model
    (version 2) needs the particle types in ``predict``.

    Examples
    --------
    >>> model = load_model("model.gdm")                     # doctest: +SKIP
    >>> model.metadata_["feature_names"][:3], model.per_type_  # doctest: +SKIP
    (['rho_L0.5', 'rho_L1.0', 'rho_L1.5'], 'separate')
    """
    z, path = _open(path)
    with z:
        meta = _parse_meta(z, path)
        kind = meta["model"]
        if "arrays.npz" not in z.namelist():
            raise _not_a_model(path, "no arrays.npz")
        arrays = _read_arrays(_read_member(z, "arrays.npz", path), path)
        pt = meta.get("per_type") or {"mode": "joint"}
        mode = pt["mode"]
        wanted = set() if kind in _LINEAR else (
            {f"model_t{k}.skops" for k in range(len(pt["types"]))} if mode == "separate" else {"model.skops"})
        present = {n for n in z.namelist() if n.endswith(".skops")}
        if present - wanted:
            raise InputError(f"refusing to load: the model file holds unexpected members {sorted(present - wanted)} "
                             f"(this '{kind}' model declares {sorted(wanted) or 'none'}); it may have been "
                             "tampered with", source=str(path))
        if wanted - present:
            raise InputError(f"the '{kind}' model file has no {', '.join(sorted(wanted - present))} part",
                             source=str(path))
        skops_data = {n: _read_member(z, n, path) for n in sorted(wanted)}
        _check_array_names(arrays, kind, mode, len(pt.get("types") or []), path)

    names = [str(n) for n in meta["feature_names"]]
    support = _support(meta["support"], len(names), path)
    params = dict(meta["params"])
    if "seed" in params and "random_state" not in params:  # files written before glassdyn used random_state
        params["random_state"] = params.pop("seed")
    known = PropensityModel().get_params()
    params = {p: v for p, v in params.items() if p in known}
    if isinstance(params.get("hidden_layer_sizes"), list):
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    if params.get("select") is not None and params["select"] not in ("imbalance", "lasso", "pearson"):
        params["select"] = None  # a custom callable cannot be restored; the fitted support is kept
    model = PropensityModel(**params)
    model.model = kind
    n_train = int(meta.get("n_train", 0))
    model.per_type_ = mode
    model.types_ = None if not pt.get("types") else check_types(list(pt["types"]))
    nbt = pt.get("n_train_by_type")
    model.n_train_by_type_ = None if not nbt or model.types_ is None else \
        {t.item(): int(nbt.get(str(t.item()), 0)) for t in model.types_}
    model.models_ = None
    model.type_columns_ = []
    model.selected_features_by_type_ = None
    if mode == "separate":
        model.models_ = {}
        for k, t in enumerate(model.types_):
            entry = pt["models"][k]
            if not isinstance(entry, dict) or "support" not in entry:
                raise InputError(f"meta.json: per-type model {k} lacks its support", source=str(path))
            sub = PropensityModel(**{**params, "per_type": "joint"})
            sub.model = kind
            sub_support = _support(entry["support"], len(names), path)
            sub.scaler_, sub.estimator_ = _core(kind, len(sub_support), arrays, f"t{k}_",
                                                skops_data.get(f"model_t{k}.skops"), int(entry.get("n_train", 0)), path,
                                                member=f"model_t{k}.skops")
            _set_common(sub, names, sub_support, int(entry.get("n_train", 0)), meta)
            sub.per_type_, sub.types_, sub.models_, sub.type_columns_ = "joint", None, None, []
            sub.selected_features_by_type_ = sub.n_train_by_type_ = None
            model.models_[t.item()] = sub
        if not set(support.tolist()) >= set().union(*(set(s.support_.tolist()) for s in model.models_.values())):
            raise InputError("meta.json: the support does not cover the per-type supports", source=str(path))
        model.selector_ = model.scaler_ = model.estimator_ = None
        model.selected_features_by_type_ = {k: list(s.selected_features_) for k, s in model.models_.items()}
    else:
        n_in = len(support)
        if mode == "feature":
            n_in += len(model.types_)
            model.type_columns_ = [str(c) for c in pt.get("type_columns") or
                                   [f"type={t.item()}" for t in model.types_]]
        model.scaler_, model.estimator_ = _core(kind, n_in, arrays, "", skops_data.get("model.skops"), n_train, path)
        model.selector_ = None
    _set_common(model, names, support, n_train, meta)
    model.metadata_ = meta
    model.source_ = str(path)
    v, now = meta.get("glassdyn_version"), glassdyn_version()
    model.provenance_ = (f"model file {path} (trained with glassdyn {v}" +
                         (f"; this is glassdyn {now})" if v != now else ")"))
    return model


def _read_arrays(data: bytes, path: Path) -> dict:
    """The plain float arrays of ``arrays.npz`` (no pickle), each checked to be finite."""
    if not data.startswith(b"PK"):
        raise _damaged(path, "arrays.npz is not an .npz archive")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k]) for k in npz.files}
    except ValueError as exc:  # object arrays need pickle: refused
        raise InputError(f"refusing to load arrays.npz: {exc}", source=str(path)) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, RuntimeError, NotImplementedError) as exc:
        raise _damaged(path, f"arrays.npz cannot be read: {exc}") from exc
    for name, a in arrays.items():
        if a.dtype.kind != "f":
            raise _damaged(path, f"arrays.npz '{name}' holds {a.dtype} values, not floats")
        if not np.all(np.isfinite(a)):
            raise _damaged(path, f"arrays.npz '{name}' holds NaN or infinite values")
        if name.endswith("scaler_scale") and np.any(a <= 0):
            raise _damaged(path, f"arrays.npz '{name}' holds a scale <= 0")
    return arrays


def _check_array_names(arrays: dict, kind: str, mode: str, n_types: int, path: Path) -> None:
    """``arrays.npz`` holds exactly the arrays of this kind of model (none missing, none extra)."""
    parts = ["scaler_mean", "scaler_scale", "scaler_var"] + (["coef", "intercept"] if kind in _LINEAR else [])
    prefixes = [f"t{k}_" for k in range(n_types)] if mode == "separate" else [""]
    expected = {p + a for p in prefixes for a in parts}
    extra = sorted(set(arrays) - expected)
    if extra:
        raise _damaged(path, f"arrays.npz holds arrays a '{kind}' model (per_type {mode}) does not have: "
                             f"{', '.join(extra)}")
    missing = sorted(expected - set(arrays))
    if missing:
        raise _damaged(path, f"arrays.npz lacks {', '.join(missing)}")


def _support(values, n_names: int, path) -> np.ndarray:
    support = np.asarray(values, dtype=np.int64)
    if support.ndim != 1 or support.size == 0 or support.min() < 0 or support.max() >= n_names:
        raise InputError("selected feature indices out of range in meta.json", source=str(path))
    return support


def _set_common(model, names, support, n_train: int, meta: dict) -> None:
    model.feature_names_in_ = np.asarray(names, dtype=object)
    model.n_features_in_ = len(names)
    model.support_ = support
    model.selected_features_ = [names[i] for i in support]
    model.n_train_ = n_train
    model.train_groups_ = list(meta.get("train_groups", []))
    est = getattr(model, "estimator_", None)
    if getattr(est, "n_iter_", None) is not None:
        model.n_iter_ = est.n_iter_


def _core(kind: str, k: int, arrays: dict, prefix: str, skops_data: bytes | None, n_train: int, path,
          member: str = "model.skops"):
    """The scaler and regressor of one part of a model file, checked against ``k`` inputs."""
    from sklearn.preprocessing import StandardScaler
    for key in ("scaler_mean", "scaler_scale", "scaler_var"):
        a = arrays.get(prefix + key)
        if a is None or a.shape != (k,) or a.dtype.kind != "f":
            raise InputError(f"arrays.npz lacks a float '{prefix + key}' of length {k}", source=str(path))
    scaler = StandardScaler()
    scaler.mean_, scaler.scale_ = arrays[prefix + "scaler_mean"], arrays[prefix + "scaler_scale"]
    scaler.var_ = arrays[prefix + "scaler_var"]
    scaler.n_features_in_ = k
    scaler.n_samples_seen_ = n_train
    if kind in _LINEAR:
        from sklearn import linear_model
        cls = {"linear": linear_model.LinearRegression, "ridge": linear_model.Ridge,
               "lasso": linear_model.Lasso}[kind]
        est = cls()
        coef = arrays.get(prefix + "coef")
        icpt = arrays.get(prefix + "intercept")
        if coef is None or icpt is None or coef.shape != (k,) or icpt.shape != (1,):
            raise InputError(f"arrays.npz lacks the linear weights ({prefix}coef of length {k}, {prefix}intercept)",
                             source=str(path))
        est.coef_ = coef.astype(float)
        est.intercept_ = float(icpt[0])
        est.n_features_in_ = k
        return scaler, est
    if skops_data is None:
        raise InputError(f"the '{kind}' model file has no model.skops part", source=str(path))
    est = _load_skops(skops_data, kind, path, member=member)
    if getattr(est, "n_features_in_", k) != k:
        raise InputError(f"the model part expects {est.n_features_in_} features, meta.json lists {k}",
                         source=str(path))
    return scaler, est


_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 4


def load_model_cached(path) -> PropensityModel:
    """:func:`load_model`, remembered by path, modification time and size (at most four files).

    The front ends (OVITO modifiers evaluated on every frame, MDAnalysis analyses) load the same
    file many times; a changed file on disk is loaded again.
    """
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    try:
        st = os.stat(path)
    except OSError:
        raise InputError("model file not found; choose a .gdm file written by 'glassdyn train'",
                         source=path) from None
    key = (path, st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        _CACHE[key] = load_model(path)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    return _CACHE[key]
