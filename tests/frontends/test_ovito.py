"""OVITO modifiers: discovered through entry points, run in real pipelines on LAMMPS dumps,
giving the core's per-atom values; bad input gives a one-line status error."""
from __future__ import annotations

import importlib.metadata
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

ovito = pytest.importorskip("ovito")

from ovito.io import import_file  # noqa: E402

from glassdyn.adapters.lammps_dump import read_dump, write_dump  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))  # the shared test helpers in tests/
from frontend_synthetic import configuration, replicas, write_ensemble  # noqa: E402

pytestmark = pytest.mark.ovito

ENTRY_POINTS = {
    "Glass descriptors": "glassdyn.ovito.descriptors_modifier:GlassDescriptorsModifier",
    "Dynamic propensity": "glassdyn.ovito.propensity_modifier:DynamicPropensityModifier",
    "Propensity prediction": "glassdyn.ovito.prediction_modifier:PropensityPredictionModifier",
    "Glass graph metrics": "glassdyn.ovito.graph_modifier:GlassGraphModifier",
    "Information imbalance": "glassdyn.ovito.imbalance_modifier:InformationImbalanceModifier",
    "Graph attention (D-MPNN)": "glassdyn.ovito.attention_modifier:GlassAttentionModifier",
}
LENGTHS = (1.0, 2.0, 3.0)


def _modifier_class(label):
    """The class behind an entry point label, loaded the way OVITO does (importlib.metadata)."""
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group="OVITO.Modifier")}
    if label in eps:
        return eps[label].load()
    assert not _declared_in_pyproject(), (f"'{label}' is declared in pyproject.toml but not installed: "
                                          "run pip install -e . again")
    module, cls = ENTRY_POINTS[label].split(":")  # not declared yet: import directly
    return getattr(__import__(module, fromlist=[cls]), cls)


def _declared_in_pyproject() -> bool:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    return pyproject.exists() and '[project.entry-points."OVITO.Modifier"]' in pyproject.read_text()


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ensemble")
    ref = configuration(n_side=14, seed=0)
    reps = replicas(ref, n_replicas=4, steps=(0, 100, 200, 400), seed=1)
    ref_path, paths = write_ensemble(folder, ref, reps)
    return folder, ref_path, paths


@pytest.fixture(scope="module")
def core_propensity(ensemble):
    from glassdyn.dynamics import analyze_ensemble
    from glassdyn.adapters import load_ensemble

    _, ref_path, paths = ensemble
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return analyze_ensemble(load_ensemble(paths, ref_path), potential="ka2d", compute_bond_breaking=False)


# ----------------------------------------------------------------------------- discovery
def test_entry_points_declared_and_loadable():
    if not _declared_in_pyproject():
        pytest.skip("OVITO.Modifier entry points are not declared in pyproject.toml yet")
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group="OVITO.Modifier")}
    for label, target in ENTRY_POINTS.items():
        assert label in eps, f"entry point '{label}' not installed (pip install -e . after editing pyproject)"
        assert eps[label].value == target
        cls = eps[label].load()
        from ovito.pipeline import ModifierInterface
        assert issubclass(cls, ModifierInterface)
        cls()  # instantiable with default parameters


def test_every_modifier_has_labelled_traits():
    for label in ENTRY_POINTS:
        cls = _modifier_class(label)
        inst = cls()
        traits = {n: t for n, t in inst.traits().items()
                  if not n.startswith("_") and n not in ("trait_added", "trait_modified")}
        assert traits, label
        for name, trait in traits.items():
            if name == "replicas":  # an OvitoObject input slot: OVITO shows the object itself
                continue
            assert trait.label, f"{label}: trait '{name}' has no label"


# ----------------------------------------------------------------------------- descriptors
def test_descriptors_modifier_matches_core(ensemble):
    from glassdyn.descriptors import compute_features

    _, ref_path, _ = ensemble
    pipeline = import_file(ref_path)
    pipeline.modifiers.append(_modifier_class("Glass descriptors")(lengths="1:3:1", potential="ka2d"))
    data = pipeline.compute()
    assert data.cell.is2D, "a 2D dump (equal z) must be flagged 2D"
    table = compute_features(read_dump(ref_path), potential="ka2d", lengths=LENGTHS)
    assert len(table.names) == 18
    for k, name in enumerate(table.names):
        np.testing.assert_allclose(np.asarray(data.particles[name.replace(".", "_")]), table.values[:, k],
                                   rtol=1e-12, atol=1e-12, err_msg=name)
    assert data.attributes["GlassDescriptors.names"].split(",")[0] == "rho_L1_0"


def test_descriptors_modifier_3d_and_cache(tmp_path):
    from glassdyn.descriptors import compute_features
    from glassdyn.ovito import descriptors_modifier

    fr = configuration(n_side=7, dimension=3, seed=4)
    path = tmp_path / "c3.dump"
    write_dump(path, fr)
    mod = _modifier_class("Glass descriptors")(descriptors="rho, q6, z", lengths="1.5, 2.5", potential="ka3d")
    pipeline = import_file(str(path))
    pipeline.modifiers.append(mod)
    data = pipeline.compute()
    assert not data.cell.is2D
    table = compute_features(read_dump(path), potential="ka3d", lengths=(1.5, 2.5), descriptors=("rho", "q6", "z"))
    for k, name in enumerate(table.names):
        np.testing.assert_allclose(np.asarray(data.particles[name.replace(".", "_")]), table.values[:, k],
                                   rtol=1e-12, atol=1e-12, err_msg=name)
    hits = descriptors_modifier._CACHE.hits
    again = import_file(str(path))  # same frame in another pipeline (or re-evaluated): a cache hit
    again.modifiers.append(_modifier_class("Glass descriptors")(descriptors="rho,q6,z", lengths="1.5:2.5:1",
                                                                potential="ka3d"))
    np.testing.assert_allclose(np.asarray(again.compute().particles["q6_L2_5"]), table.column("q6_L2.5"), rtol=1e-12)
    assert descriptors_modifier._CACHE.hits == hits + 1


def test_force_2d_flags_height_one_cell(tmp_path):
    """A 2D dump whose atoms are not at one z (e.g. written with small noise) needs force_2d."""
    fr = configuration(n_side=10, seed=2)
    path = tmp_path / "noisy2d.dump"
    write_dump(path, fr)
    text = path.read_text().splitlines()
    start = text.index(next(line for line in text if line.startswith("ITEM: ATOMS"))) + 1
    cols = text[start - 1].split()[2:]
    iz = cols.index("z")
    for k in range(start, len(text)):  # jitter z by 1e-7: no longer "all z equal"
        parts = text[k].split()
        parts[iz] = repr(1e-7 * ((k % 3) - 1))
        text[k] = " ".join(parts)
    path.write_text("\n".join(text) + "\n")
    mod = _modifier_class("Glass descriptors")(descriptors="rho", lengths="2", force_2d=True)
    pipeline = import_file(str(path))
    pipeline.modifiers.append(mod)
    data = pipeline.compute()
    assert data.cell.is2D
    from glassdyn.descriptors import compute_features
    table = compute_features(read_dump(path, dimension=2), "auto", descriptors=("rho",), lengths=(2.0,))
    np.testing.assert_allclose(np.asarray(data.particles["rho_L2_0"]), table.values[:, 0], rtol=1e-12)


def test_descriptors_3d_only_on_2d_is_concise_error(ensemble):
    _, ref_path, _ = ensemble
    pipeline = import_file(ref_path)
    pipeline.modifiers.append(_modifier_class("Glass descriptors")(descriptors="q6", lengths="1"))
    with pytest.raises(RuntimeError) as info:
        pipeline.compute()
    msg = str(info.value)
    assert msg.startswith("Glass descriptors: ")
    assert "q4/q6 are 3D descriptors; use psi6 for a 2D frame" in msg
    assert "reference.dump" in msg and "Traceback" not in msg and "\n" not in msg.strip()


def test_missing_types_is_concise_error():
    from ovito.data import DataCollection
    from ovito.pipeline import Pipeline, StaticSource

    data = DataCollection()
    data.create_cell(np.array([[5.0, 0, 0, 0], [0, 5.0, 0, 0], [0, 0, 5.0, 0]]), pbc=(True, True, True))
    parts = data.create_particles(count=20)
    parts.create_property("Position", data=np.random.default_rng(0).uniform(0, 5, (20, 3)))
    for label, kwargs in (("Glass descriptors", {}), ("Glass graph metrics", {}),
                          ("Propensity prediction", {})):
        pipeline = Pipeline(source=StaticSource(data=data))
        pipeline.modifiers.append(_modifier_class(label)(**kwargs))
        with pytest.raises(RuntimeError) as info:
            pipeline.compute()
        msg = str(info.value)
        assert msg.startswith(label + ": ")
        if label == "Propensity prediction":
            assert "no model file" in msg
        else:
            assert "no 'Particle Type' property" in msg


# ----------------------------------------------------------------------------- propensity
def _import_replicas(folder):
    """All replica files as one trajectory (16 frames).

    With two pytest workers busy, OVITO 3.17's import of a file sequence sometimes lists only the
    first file's 4 frames although every file is there (measured: 16 times in 4 runs, never in one
    process); waiting does not change it, importing again does. This is OVITO's, not glassdyn's.
    """
    pattern = os.path.join(str(folder), "replica_*.dump")
    pipeline = import_file(pattern)
    for _ in range(20):
        if pipeline.num_frames == 16:
            break
        time.sleep(0.1)
        pipeline = import_file(pattern)
    return pipeline


def test_propensity_from_trajectory_matches_core(ensemble, core_propensity):
    folder, _, _ = ensemble
    pipeline = _import_replicas(folder)
    assert pipeline.num_frames == 16
    pipeline.modifiers.append(_modifier_class("Dynamic propensity")())
    for frame in (0, 7):
        data = pipeline.compute(frame)
        ids = np.asarray(data.particles["Particle Identifier"])
        expected = core_propensity.propensity[-1][np.searchsorted(core_propensity.ids, ids)]
        # 2D: the default ("auto") is the cage-relative propensity, named after its kind
        np.testing.assert_allclose(np.asarray(data.particles["Propensity CR"]), expected, rtol=1e-12, atol=1e-14)
        assert "Propensity" not in data.particles
        assert data.attributes["Propensity.kind"] == core_propensity.column == "propensity_cr"
        assert data.attributes["Propensity.property"] == "Propensity CR"
        assert data.attributes["Propensity.replicas"] == 4
        assert data.attributes["Propensity.time"] == pytest.approx(2.0)  # step 400 * dt 0.005
    assert expected.std() > 0.1 * expected.mean()  # the synthetic mobility field has structure


def test_propensity_from_input_slot_matches_core(ensemble, core_propensity):
    from glassdyn.dynamics import analyze_ensemble
    from glassdyn.adapters import load_ensemble

    folder, ref_path, paths = ensemble
    mod = _modifier_class("Dynamic propensity")(replica_source="files", time_index=2, displacement="cage-relative")
    mod.replicas.load(os.path.join(str(folder), "replica_*.dump"))
    pipeline = import_file(ref_path)
    pipeline.modifiers.append(mod)
    data = pipeline.compute()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        core = analyze_ensemble(load_ensemble(paths, ref_path), potential="ka2d", cage_relative=True,
                                compute_bond_breaking=False)
    np.testing.assert_allclose(np.asarray(data.particles["Propensity CR"]), core.propensity[2], rtol=1e-12, atol=1e-14)
    assert data.attributes["Propensity.kind"] == "propensity_cr"
    plain = analyze_ensemble(load_ensemble(paths, ref_path), potential="ka2d", cage_relative=False,
                             compute_bond_breaking=False)
    assert not np.allclose(core.propensity[2], plain.propensity[2])  # cage-relative differs


def test_propensity_bad_replicas_are_concise_errors(ensemble):
    folder, ref_path, paths = ensemble
    # files mode without files
    pipeline = import_file(ref_path)
    pipeline.modifiers.append(_modifier_class("Dynamic propensity")(replica_source="files"))
    with pytest.raises(RuntimeError, match=r"^Dynamic propensity: no replica files"):
        pipeline.compute()
    # a single replica
    pipeline = import_file(paths[0])
    pipeline.modifiers.append(_modifier_class("Dynamic propensity")())
    with pytest.raises(RuntimeError, match=r"found 1 replica\(s\), need at least 2"):
        pipeline.compute()
    # time index out of range
    pipeline = _import_replicas(folder)
    pipeline.modifiers.append(_modifier_class("Dynamic propensity")(time_index=9))
    with pytest.raises(RuntimeError, match=r"time index 9 is out of range: the replicas share 4 times"):
        pipeline.compute()


# ----------------------------------------------------------------------------- graph metrics
def test_graph_modifier_matches_core(ensemble):
    from glassdyn.graph import graph_metrics

    _, ref_path, _ = ensemble
    pipeline = import_file(ref_path)
    mod = _modifier_class("Glass graph metrics")()
    pipeline.modifiers.append(mod)
    data = pipeline.compute()
    gm = graph_metrics(read_dump(ref_path))
    for name, values in gm.per_particle().items():
        np.testing.assert_array_equal(np.asarray(data.particles[name]), values, err_msg=name)
    for name, value in gm.counts().items():
        assert data.attributes[f"GlassGraph.{name}"] == value
    mod.b_type = 5  # a parameter change re-evaluates the pipeline
    with pytest.raises(RuntimeError, match=r"^Glass graph metrics: no particle of type 5 \(types present: 1, 2\)"):
        pipeline.compute()


# ----------------------------------------------------------------------------- prediction
@pytest.fixture(scope="module")
def models(ensemble, core_propensity, tmp_path_factory):
    from glassdyn.descriptors import compute_features
    from glassdyn.learn import PropensityModel
    from glassdyn.modelfile import save_model

    _, ref_path, _ = ensemble
    table = compute_features(read_dump(ref_path), potential="ka2d", lengths=LENGTHS, descriptors=("rho", "phi", "z"))
    y = core_propensity.propensity[-1]
    folder = tmp_path_factory.mktemp("models")
    out = {}
    for kind in ("ridge", "gp"):
        model = PropensityModel(model=kind, gp_max_samples=80).fit(table, y)
        out[kind] = (save_model(model, folder / f"{kind}.gdm", descriptor_params=table.params), model, table)
    # a model whose features cannot be found in the data
    bogus = PropensityModel(model="ridge").fit(table.values[:, :2], y, feature_names=["foo_L1.0", "bar_L1.0"])
    out["bogus"] = (save_model(bogus, folder / "bogus.gdm", descriptor_params=table.params), bogus, None)
    (folder / "junk.gdm").write_bytes(b"this is not a model")
    out["junk"] = (folder / "junk.gdm", None, None)
    return out


def test_prediction_modifier_matches_core(ensemble, models):
    _, ref_path, _ = ensemble
    for kind in ("ridge", "gp"):
        path, model, table = models[kind]
        pipeline = import_file(ref_path)
        pipeline.modifiers.append(_modifier_class("Propensity prediction")(model_file=str(path)))
        data = pipeline.compute()
        if kind == "gp":
            mean, std = model.predict(table, return_std=True)
            np.testing.assert_allclose(np.asarray(data.particles["Propensity Std"]), std, rtol=1e-9, atol=1e-12)
            assert np.all(std > 0)
        else:
            mean = model.predict(table)
            assert "Propensity Std" not in data.particles
        np.testing.assert_allclose(np.asarray(data.particles["Predicted Propensity"]), mean, rtol=1e-9, atol=1e-12)


def test_prediction_from_upstream_descriptor_properties(ensemble, models):
    _, ref_path, _ = ensemble
    path, model, table = models["ridge"]
    pipeline = import_file(ref_path)
    pipeline.modifiers.append(_modifier_class("Glass descriptors")(descriptors="rho,phi,z", lengths="1:3:1"))
    pipeline.modifiers.append(_modifier_class("Propensity prediction")(model_file=str(path), features="properties"))
    data = pipeline.compute()
    np.testing.assert_allclose(np.asarray(data.particles["Predicted Propensity"]), model.predict(table),
                               rtol=1e-9, atol=1e-12)


def test_prediction_bad_models_are_concise_errors(ensemble, models):
    _, ref_path, _ = ensemble
    cases = [
        (dict(model_file=str(models["bogus"][0]), features="properties"),
         r"^Propensity prediction: bogus.gdm, frame 0: the particles lack 2 feature\(s\) the model needs: "
         r"foo_L1.0, bar_L1.0"),
        (dict(model_file=str(models["bogus"][0])), r"^Propensity prediction: .*reference.dump, frame 0: features do not match model file .*bogus.gdm.*"
         r"missing foo_L1.0, bar_L1.0"),
        (dict(model_file=str(models["junk"][0])), r"^Propensity prediction: .*junk.gdm: not a glassdyn model file"),
        (dict(model_file="/nonexistent/model.gdm"), r"^Propensity prediction: /nonexistent/model.gdm: model file not found"),
    ]
    for kwargs, pattern in cases:
        pipeline = import_file(ref_path)
        pipeline.modifiers.append(_modifier_class("Propensity prediction")(**kwargs))
        with pytest.raises(RuntimeError, match=pattern):
            pipeline.compute()


# ----------------------------------------------------------------------------- information imbalance
def test_imbalance_modifier_table_matches_core(ensemble, core_propensity):
    from glassdyn.descriptors import compute_features
    from glassdyn.imbalance import imbalance_plane
    from glassdyn.ovito.imbalance_modifier import FEATURE_TABLE, PLANE_TABLE

    folder, ref_path, _ = ensemble
    pipeline = _import_replicas(folder)
    pipeline.modifiers.append(_modifier_class("Dynamic propensity")())
    pipeline.modifiers.append(_modifier_class("Glass descriptors")(descriptors="rho,phi,Theta", lengths="1:3:1"))
    pipeline.modifiers.append(_modifier_class("Information imbalance")())
    data = pipeline.compute(0)  # frame 0 = the reference configuration (t = 0 of replica 0)
    table = compute_features(read_dump(ref_path), potential="ka2d", lengths=LENGTHS, descriptors=("rho", "phi", "Theta"))
    names = [n.replace(".", "_") for n in table.names]
    # descriptors and propensity agree with the core to round-off (tested above); near-tied
    # values can swap ranks at round-off level, so the plane is checked on the pipeline's own columns
    X = np.column_stack([np.asarray(data.particles[n]) for n in names])
    np.testing.assert_allclose(X, table.values, rtol=1e-10, atol=1e-12)
    p = np.asarray(data.particles["Propensity CR"])   # the default target: the Dynamic propensity output
    np.testing.assert_allclose(p, core_propensity.propensity[-1], rtol=1e-12)
    assert data.attributes["InformationImbalance.target"] == "Propensity CR"
    plane = imbalance_plane(X, p, feature_names=names)
    xy = data.tables[PLANE_TABLE].xy()
    np.testing.assert_allclose(xy[:, 0], plane.forward_mean, rtol=1e-12)
    np.testing.assert_allclose(xy[:, 1], plane.backward_mean, rtol=1e-12)
    bars = data.tables[FEATURE_TABLE]
    assert [t.name for t in bars.x.types] == [n.replace(".", "_") for n in table.names]
    best = int(np.argmin(plane.forward_mean))
    assert data.attributes["InformationImbalance.best_feature"] == table.names[best].replace(".", "_")


def test_imbalance_modifier_missing_target_or_features(ensemble):
    _, ref_path, _ = ensemble
    pipeline = import_file(ref_path)
    pipeline.modifiers.append(_modifier_class("Information imbalance")())
    with pytest.raises(RuntimeError, match=r"^Information imbalance: .*no particle property 'Propensity' to use as target"):
        pipeline.compute()
    pipeline = import_file(ref_path)
    pipeline.modifiers.append(_modifier_class("Information imbalance")(target="Particle Identifier"))
    with pytest.raises(RuntimeError, match=r"no features: insert the 'Glass descriptors' modifier"):
        pipeline.compute()


# ----------------------------------------------------------------------------- propensity outputs (issue 14)
def test_propensity_publishes_fs_table_and_tau_alpha(ensemble, core_propensity):
    """F_s(q, t) of all particles and per type as a plotted data table, tau_alpha and q as attributes:
    the numbers of glassdyn.dynamics.analyze_ensemble on the same replicas."""
    from ovito.data import DataTable
    from glassdyn.ovito.propensity_modifier import FS_TABLE

    folder, _, _ = ensemble
    pipeline = _import_replicas(folder)
    pipeline.modifiers.append(_modifier_class("Dynamic propensity")())
    data = pipeline.compute(3)
    table = data.tables[FS_TABLE]
    assert table.plot_mode == DataTable.PlotMode.Line
    np.testing.assert_allclose(np.asarray(table.x), core_propensity.times)
    assert list(table.y.component_names) == ["all", "type 1", "type 2"]
    np.testing.assert_allclose(np.asarray(table.y), core_propensity.fs[[0, 1, 2]].T, rtol=1e-12, atol=1e-14)
    assert data.attributes["Propensity.q"] == pytest.approx(core_propensity.q, rel=1e-12)
    for key, k in (("Propensity.tau_alpha", 0), ("Propensity.tau_alpha.type1", 1), ("Propensity.tau_alpha.type2", 2)):
        want = core_propensity.tau_alpha[k]
        got = data.attributes[key]
        assert (np.isnan(want) and np.isnan(got)) or got == pytest.approx(want, rel=1e-12), key
    assert np.all(np.diff(core_propensity.fs[0]) < 0)  # F_s decays: the table plots a real curve


def test_propensity_time_in_lj_units_and_kind_names(ensemble):
    """``time`` picks the nearest replica time; the property is named after the kind (plain, cr, abs)."""
    from glassdyn.adapters import load_ensemble
    from glassdyn.dynamics import analyze_ensemble

    folder, ref_path, paths = ensemble
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ens = load_ensemble(paths, ref_path)
        plain = analyze_ensemble(ens, potential="ka2d", cage_relative=False, compute_bond_breaking=True)
        cr_abs = analyze_ensemble(ens, potential="ka2d", cage_relative=True, absolute=True,
                                  compute_bond_breaking=False)
    pipeline = _import_replicas(folder)
    mod = _modifier_class("Dynamic propensity")(time=0.9, displacement="plain", bond_breaking=True)
    pipeline.modifiers.append(mod)
    data = pipeline.compute(0)
    k = plain.time_index(0.9)
    assert plain.times[k] == pytest.approx(1.0)          # times 0, 0.5, 1, 2: t = 0.9 -> 1.0
    assert data.attributes["Propensity.time"] == pytest.approx(1.0)
    assert data.attributes["Propensity.kind"] == "propensity" and data.attributes["Propensity.property"] == "Propensity"
    ids = np.asarray(data.particles["Particle Identifier"])
    rows = np.searchsorted(plain.ids, ids)
    np.testing.assert_allclose(np.asarray(data.particles["Propensity"]), plain.propensity[k][rows], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(data.particles["Bond Breaking"]), plain.bond_breaking[k][rows],
                               rtol=1e-12, equal_nan=True)
    mod.displacement, mod.absolute, mod.bond_breaking, mod.time = "cage-relative", True, False, 100.0
    data = pipeline.compute(0)
    assert data.attributes["Propensity.property"] == "Propensity CR Abs"
    assert data.attributes["Propensity.time"] == pytest.approx(2.0)  # beyond the last time: the last one
    np.testing.assert_allclose(np.asarray(data.particles["Propensity CR Abs"]), cr_abs.propensity[-1][rows], rtol=1e-12)
    assert "Propensity" not in data.particles and "Bond Breaking" not in data.particles


def test_propensity_result_lives_in_the_pipeline_cache(ensemble, monkeypatch):
    """The ensemble is analysed once per pipeline and parameter set, held by OVITO's data_cache (not by a
    module-level cache) and freed with the pipeline."""
    import gc
    import weakref
    from glassdyn.ovito import propensity_modifier as pm

    calls = []
    real = pm.analyze_ensemble

    def counting(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(weakref.ref(result))
        return result

    monkeypatch.setattr(pm, "analyze_ensemble", counting)
    folder, _, _ = ensemble
    pipeline = _import_replicas(folder)
    mod = _modifier_class("Dynamic propensity")()
    pipeline.modifiers.append(mod)
    for frame in (0, 5, 9, 0):
        pipeline.compute(frame)
    assert len(calls) == 1                  # every frame served from the one analysed ensemble
    mod.absolute = True                     # a parameter change: OVITO empties the cache, glassdyn recomputes
    assert "Propensity CR Abs" in pipeline.compute(2).particles
    assert len(calls) == 2
    del pipeline, mod
    gc.collect()
    assert all(ref() is None for ref in calls), "the analysed ensembles must be freed with their pipeline"


def test_shared_cache_is_bounded_by_bytes(tmp_path):
    """The per-frame cache of every modifier holds at most its byte budget (LRU by bytes)."""
    from glassdyn.ovito import _common, descriptors_modifier

    cache = _common.ResultCache(max_bytes=10_000, name="test")
    for k in range(20):
        assert cache.put(f"k{k}", np.zeros(300))     # 2400 bytes of data each
        assert cache.nbytes <= 10_000
    assert 1 <= len(cache) <= 4 and "k19" in cache and "k0" not in cache
    assert cache.get("k19") is not None and cache.get("k0") is None
    assert not cache.put("huge", np.zeros(2000))    # alone larger than the budget: not stored
    assert "huge" not in cache and cache.nbytes <= 10_000
    assert _common.nbytes_of({"a": np.zeros(100), "b": (np.zeros(50), "x")}) >= 1200

    frames = [configuration(n_side=12, seed=s) for s in range(6)]
    for k, f in enumerate(frames):
        f.timestep = k
    path = tmp_path / "traj.dump"
    write_dump(path, frames)
    shared = _common.SHARED_CACHE
    saved = shared.max_bytes
    try:
        shared.clear()
        pipeline = import_file(str(path))
        pipeline.modifiers.append(_modifier_class("Glass descriptors")(lengths="1:3:1", potential="ka2d"))
        pipeline.compute(0)
        one = shared.nbytes                         # one frame's feature table
        assert one > 144 * 18 * 8
        _common.set_cache_limit(2.5 * one / 2 ** 20)  # room for two frames
        for k in range(6):
            pipeline.compute(k)
            assert shared.nbytes <= shared.max_bytes
        assert len(shared) == 2
        assert descriptors_modifier._CACHE is shared
    finally:
        _common.set_cache_limit(saved / 2 ** 20)
        shared.clear()


def test_property_pickers_and_patterns(ensemble, core_propensity, models):
    """Target and comparison properties are OVITO property pickers; features take names or patterns."""
    from ovito.traits import PropertyReference
    from glassdyn.imbalance import imbalance_plane
    from glassdyn.ovito.imbalance_modifier import PLANE_TABLE
    from glassdyn.stats import pearson

    imb = _modifier_class("Information imbalance")
    pred = _modifier_class("Propensity prediction")
    assert isinstance(imb.class_traits()["target"].handler, PropertyReference)
    assert isinstance(pred.class_traits()["compare_with"].handler, PropertyReference)

    folder, _, _ = ensemble
    path, model, table = models["ridge"]
    pipeline = _import_replicas(folder)
    pipeline.modifiers.append(_modifier_class("Dynamic propensity")())
    pipeline.modifiers.append(_modifier_class("Glass descriptors")(descriptors="rho,phi,z,Theta", lengths="1:3:1"))
    pipeline.modifiers.append(imb(target="Propensity CR", features="rho_*, z_L2_0"))
    pipeline.modifiers.append(pred(model_file=str(path), features="properties", compare_with="Propensity CR"))
    data = pipeline.compute(0)
    names = ["rho_L1_0", "rho_L2_0", "rho_L3_0", "z_L2_0"]
    X = np.column_stack([np.asarray(data.particles[n]) for n in names])
    p = np.asarray(data.particles["Propensity CR"])
    plane = imbalance_plane(X, p, feature_names=names)
    np.testing.assert_allclose(data.tables[PLANE_TABLE].xy()[:, 0], plane.forward_mean, rtol=1e-12)
    assert data.attributes["PropensityPrediction.pearson_r"] == pytest.approx(
        pearson(p, np.asarray(data.particles["Predicted Propensity"])), rel=1e-12)
    bad = _import_replicas(folder)
    bad.modifiers.append(_modifier_class("Glass descriptors")(descriptors="rho", lengths="1"))
    bad.modifiers.append(imb(target="Particle Identifier", features="nothing_*"))
    with pytest.raises(RuntimeError, match=r"^Information imbalance: no particle property matches 'nothing_\*'"):
        bad.compute(0)
