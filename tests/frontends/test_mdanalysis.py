"""MDAnalysis front end: AnalysisBase classes give the core's values, identical with the serial,
multiprocessing and dask backends; results attach as attributes and write dumps that glassdyn,
MDAnalysis and OVITO read back; bad input gives the core's clear messages."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

mda = pytest.importorskip("MDAnalysis")

from glassdyn.adapters.lammps_dump import read_dump, write_dump  # noqa: E402
from glassdyn.adapters.mdanalysis_data import frame_from_mdanalysis  # noqa: E402
from glassdyn.errors import InputError  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))  # the shared test helpers in tests/
from frontend_synthetic import configuration, replicas, write_ensemble  # noqa: E402

pytestmark = [pytest.mark.mdanalysis,
              pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]

LENGTHS = (1.0, 2.0)
PARALLEL = [("multiprocessing", {}), ("dask", {})]


def _backends():
    out = [("multiprocessing", {})]
    try:
        import dask  # noqa: F401
        out.append(("dask", {}))
    except ImportError:
        pass
    return out


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mda_ensemble")
    ref = configuration(n_side=12, seed=5)
    reps = replicas(ref, n_replicas=3, steps=(0, 100, 200, 300, 400), seed=6)
    ref_path, paths = write_ensemble(folder, ref, reps)
    return folder, ref_path, paths


def _universes(paths):
    from glassdyn.mdanalysis import universe_from_dump
    return [universe_from_dump(p, unwrapped=True) for p in paths]


# ----------------------------------------------------------------------------- descriptors
def test_descriptors_match_core_and_backends(ensemble):
    from glassdyn.descriptors import compute_features
    from glassdyn.mdanalysis import GlassDescriptors, universe_from_dump

    _, _, paths = ensemble
    u = universe_from_dump(paths[1])
    assert GlassDescriptors.get_supported_backends() == ("serial", "multiprocessing", "dask")
    serial = GlassDescriptors(u.atoms, potential="ka2d", lengths=LENGTHS).run()
    feats = serial.results.features
    assert feats.shape == (5, 144, 12)
    for k in (0, 4):
        u.trajectory[k]
        table = compute_features(frame_from_mdanalysis(u.atoms), potential="ka2d", lengths=LENGTHS)
        assert serial.results.names == table.names
        np.testing.assert_allclose(feats[k], table.values, rtol=1e-12, atol=1e-12)
    # float32 coordinates vs the native float64 reader: round-off only (rho and phi average Voronoi cell
    # densities of the float32 positions; with the disc count, rho is a count and exact)
    native = compute_features(read_dump(paths[1], 4), potential="ka2d", lengths=LENGTHS)
    np.testing.assert_allclose(feats[4][:, :4], native.values[:, :4], rtol=2e-5)
    disc = compute_features(read_dump(paths[1], 4), potential="ka2d", lengths=LENGTHS, density="disc_count")
    u.trajectory[4]
    mda_disc = compute_features(frame_from_mdanalysis(u.atoms), potential="ka2d", lengths=LENGTHS, density="disc_count")
    np.testing.assert_array_equal(mda_disc.values[:, :2], disc.values[:, :2])
    for backend, kw in _backends():
        par = GlassDescriptors(u.atoms, potential="ka2d", lengths=LENGTHS).run(backend=backend, n_workers=2, **kw)
        np.testing.assert_array_equal(par.results.features, feats, err_msg=backend)
        assert par.results.names == serial.results.names
        np.testing.assert_array_equal(par.frames, serial.frames)


def test_descriptor_errors_are_the_core_messages(ensemble):
    from glassdyn.mdanalysis import GlassDescriptors, universe_from_dump

    _, ref_path, _ = ensemble
    u = universe_from_dump(ref_path)
    with pytest.raises(InputError, match=r"reference.dump, frame 0: q4/q6 are 3D descriptors; use psi6 for a 2D frame"):
        GlassDescriptors(u.atoms, descriptors=("q6",), lengths=LENGTHS).run()
    with pytest.raises(InputError, match=r"the local energy 'e' needs a pair potential"):
        GlassDescriptors(u.atoms, potential=None, descriptors=("e",), lengths=LENGTHS).run()


# ----------------------------------------------------------------------------- propensity
def test_propensity_matches_core_and_backends(ensemble):
    from glassdyn.dynamics import analyze_ensemble
    from glassdyn.mdanalysis import Propensity
    from glassdyn.adapters import load_ensemble

    _, ref_path, paths = ensemble
    us = _universes(paths)
    for cage in (False, True):
        serial = Propensity(us, cage_relative=cage).run()
        core = analyze_ensemble(load_ensemble(paths, ref_path), potential="ka2d", cage_relative=cage,
                                compute_bond_breaking=False)
        np.testing.assert_array_equal(serial.results.ids, core.ids)
        np.testing.assert_allclose(serial.results.times, core.times)
        # MDAnalysis reads float32 coordinates: agreement to float32 round-off
        np.testing.assert_allclose(serial.results.propensity, core.propensity, rtol=2e-5, atol=1e-6)
        assert serial.results.column == core.column
        assert core.propensity[-1].std() > 0.1 * core.propensity[-1].mean()
    serial = Propensity(us).run()
    for backend, kw in _backends():
        par = Propensity(us).run(backend=backend, n_workers=2, **kw)
        np.testing.assert_array_equal(par.results.propensity, serial.results.propensity, err_msg=backend)
        np.testing.assert_array_equal(par.results.timesteps, serial.results.timesteps)


def _core_from_mdanalysis(us, **kwargs):
    """analyze_ensemble on an Ensemble built from the very frames MDAnalysis reads (float32 positions)."""
    from glassdyn.dynamics import analyze_ensemble
    from glassdyn.ensemble import build_ensemble

    def frames(u):
        for _ in u.trajectory:
            yield frame_from_mdanalysis(u.atoms)

    us[0].trajectory[0]
    reference = frame_from_mdanalysis(us[0].atoms)
    ens = build_ensemble(reference, [list(frames(u)) for u in us], sources=[f"r{k}" for k in range(len(us))])
    return analyze_ensemble(ens, potential="ka2d", **kwargs)


@pytest.mark.parametrize("cage", ["auto", False])
def test_propensity_fs_tau_alpha_bond_breaking_equal_analyze_ensemble(ensemble, cage):
    """F_s(q, t) (all and per type), tau_alpha (per type), bond breaking and propensity equal
    glassdyn.dynamics.analyze_ensemble on the same replicas: exactly on the frames MDAnalysis reads,
    to float32 round-off against glassdyn's native reader, serial and with the multiprocessing backend."""
    from glassdyn.adapters import load_ensemble
    from glassdyn.dynamics import analyze_ensemble
    from glassdyn.mdanalysis import Propensity

    _, ref_path, paths = ensemble
    us = _universes(paths)
    q = 30.0   # large enough for F_s of the synthetic random walks to cross 1/e: tau_alpha is a number
    core = _core_from_mdanalysis(us, cage_relative=cage, q=q)
    native = analyze_ensemble(load_ensemble(paths, ref_path), potential="ka2d", cage_relative=cage, q=q)
    assert np.isfinite(core.tau_alpha).all() and core.fs.shape == (3, 5)
    for backend in ("serial", "multiprocessing"):
        kw = {} if backend == "serial" else {"n_workers": 2}
        res = Propensity(us, cage_relative=cage, q=q).run(backend=backend, **kw).results
        assert res.column == core.column == native.column
        assert res.q == core.q == q
        np.testing.assert_allclose(res.fs, core.fs, rtol=1e-12, atol=1e-14, err_msg=backend)
        np.testing.assert_allclose(res.fs_per_replica, core.fs_per_replica, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(res.tau_alpha, core.tau_alpha, rtol=1e-12)
        np.testing.assert_allclose(res.propensity, core.propensity, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(res.bond_breaking, core.bond_breaking, rtol=1e-12, equal_nan=True)
        np.testing.assert_array_equal(res.types, core.types)
        # and against the native float64 reader: float32 round-off only
        np.testing.assert_allclose(res.fs, native.fs, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(res.tau_alpha, native.tau_alpha, rtol=1e-4)
        np.testing.assert_allclose(res.bond_breaking, native.bond_breaking, atol=1e-12, equal_nan=True)
    # the default q is the core's: the first peak of S(q) of the reference
    default = Propensity(us, cage_relative=cage, compute_bond_breaking=False).run()
    from glassdyn.dynamics import first_peak_q
    assert default.results.q == pytest.approx(first_peak_q(read_dump(ref_path)))
    assert default.results.bond_breaking is None
    # the core's result object, for the xarray/pandas writers
    as_core = default.to_result()
    assert as_core.column == default.results.column and as_core.propensity.shape == (5, 144)


def test_propensity_results_to_netcdf(ensemble, tmp_path):
    """The MDAnalysis results, as the core's PropensityResult, go to a labelled netCDF file and back."""
    pytest.importorskip("xarray")
    from glassdyn.adapters import xarray_io
    from glassdyn.mdanalysis import Propensity

    _, _, paths = ensemble
    res = Propensity(_universes(paths), q=30.0).run().to_result()
    path = xarray_io.write_netcdf(xarray_io.propensity_dataset(res), tmp_path / "mda.nc")
    back = xarray_io.propensity_result(xarray_io.read_netcdf(path))
    assert back.column == res.column == "propensity_cr"
    for name in ("propensity", "bond_breaking", "fs", "fs_per_replica", "tau_alpha", "times", "ids", "types"):
        np.testing.assert_array_equal(getattr(back, name), getattr(res, name), err_msg=name)


def test_propensity_columns_named_after_the_kind(ensemble):
    from glassdyn.mdanalysis import Propensity, attach_results, propensity_attribute, universe_from_dump

    _, ref_path, paths = ensemble
    us = _universes(paths)
    assert [propensity_attribute(c) for c in ("propensity", "propensity_cr", "propensity_abs", "propensity_cr_abs")] \
        == ["Propensity", "Propensity_CR", "Propensity_Abs", "Propensity_CR_Abs"]
    cr = Propensity(us).run()                       # 2D: cage-relative by default
    assert list(cr.columns()) == ["Propensity_CR", "Bond_Breaking"]
    plain = Propensity(us, cage_relative=False, absolute=True, compute_bond_breaking=False).run()
    assert list(plain.columns(2)) == ["Propensity_Abs"]
    np.testing.assert_array_equal(plain.columns(2)["Propensity_Abs"], plain.results.propensity[2])
    u = universe_from_dump(ref_path)
    assert attach_results(u.atoms, cr) == ["Propensity_CR", "Bond_Breaking"]
    np.testing.assert_array_equal(u.atoms.Propensity_CR, cr.results.propensity[-1])


def test_universe_from_dump_passes_dt(ensemble):
    """dt reaches MDAnalysis' reader: ts.time = step * dt and no 'no dt information' warning."""
    import warnings
    from glassdyn.mdanalysis import universe_from_dump

    _, _, paths = ensemble
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        u = universe_from_dump(paths[0], unwrapped=True, dt=0.005)
        u.trajectory[3]
    assert not [w for w in caught if "dt information" in str(w.message)], [str(w.message) for w in caught]
    assert u.trajectory.dt == pytest.approx(0.005)
    assert u.trajectory.ts.time == pytest.approx(300 * 0.005)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        universe_from_dump(paths[0], dt=None)
    assert any("dt information" in str(w.message) for w in caught)   # MDAnalysis' own default, unchanged
    with pytest.raises(InputError, match="dt must be a positive MD timestep"):
        universe_from_dump(paths[0], dt=0)


def test_descriptors_dataset_cutoffs(ensemble):
    """cutoffs="dataset": one set of neighbour cutoffs for every analysed frame (the core's
    dataset_cutoffs over exactly those frames), the same with every backend; the default is per frame."""
    from glassdyn.descriptors import compute_features
    from glassdyn.mdanalysis import GlassDescriptors, universe_from_dump
    from glassdyn.structure import dataset_cutoffs, neighbor_cutoffs
    from glassdyn.potentials import get_potential

    _, _, paths = ensemble
    u = universe_from_dump(paths[1])
    frames_used = [0, 2, 4]

    def frames():
        for k in frames_used:
            u.trajectory[k]
            yield frame_from_mdanalysis(u.atoms)

    want, info = dataset_cutoffs(frames(), get_potential("ka2d"))
    desc = GlassDescriptors(u.atoms, potential="ka2d", lengths=LENGTHS, descriptors=("z", "Theta"),
                            cutoffs="dataset").run(step=2)
    np.testing.assert_allclose(desc.results.cutoffs, want, rtol=0, atol=0)
    np.testing.assert_allclose(np.asarray(desc.results.params["cutoffs"]), want)
    for i, k in enumerate(frames_used):
        u.trajectory[k]
        table = compute_features(frame_from_mdanalysis(u.atoms), potential="ka2d", lengths=LENGTHS,
                                 descriptors=("z", "Theta"), cutoffs=want)
        np.testing.assert_allclose(desc.results.features[i], table.values, rtol=1e-12, atol=1e-12)
    par = GlassDescriptors(u.atoms, potential="ka2d", lengths=LENGTHS, descriptors=("z", "Theta"),
                           cutoffs="dataset").run(step=2, backend="multiprocessing", n_workers=2)
    np.testing.assert_array_equal(par.results.features, desc.results.features)
    np.testing.assert_array_equal(par.results.cutoffs, want)
    # the default: each frame's own first minimum of g(r)
    default = GlassDescriptors(u.atoms, potential="ka2d", lengths=LENGTHS, descriptors=("z",)).run(stop=1)
    assert default.results.cutoffs is None
    u.trajectory[0]
    np.testing.assert_allclose(np.asarray(default.results.params["cutoffs"]),
                               neighbor_cutoffs(frame_from_mdanalysis(u.atoms), get_potential("ka2d")))


def test_propensity_bad_input(ensemble, tmp_path):
    from glassdyn.mdanalysis import Propensity, universe_from_dump

    _, ref_path, paths = ensemble
    us = _universes(paths)
    with pytest.raises(InputError, match="needs at least 2 replica Universes, got 1"):
        Propensity(us[:1])
    # a replica with other atoms
    other = configuration(n_side=11, seed=5)
    write_dump(tmp_path / "other.dump", replicas(other, n_replicas=1, steps=(0, 100, 200, 300, 400))[0])
    with pytest.raises(InputError, match=r"other.dump: replica 2 holds other atoms than replica 0"):
        Propensity(us[:2] + [universe_from_dump(tmp_path / "other.dump", unwrapped=True)])
    # wrapped coordinates only: no displacements possible
    wrapped = tmp_path / "wrapped.dump"
    write_dump(wrapped, read_dump(ref_path))
    with pytest.raises(InputError, match=r"wrapped.dump: the dump has neither unwrapped coordinates"):
        universe_from_dump(wrapped, unwrapped=True)


# ----------------------------------------------------------------------------- prediction
@pytest.fixture(scope="module")
def model_file(ensemble, tmp_path_factory):
    from glassdyn.descriptors import compute_features
    from glassdyn.dynamics import analyze_ensemble
    from glassdyn.learn import PropensityModel
    from glassdyn.modelfile import save_model
    from glassdyn.adapters import load_ensemble

    _, ref_path, paths = ensemble
    table = compute_features(read_dump(ref_path), potential="ka2d", lengths=LENGTHS, descriptors=("rho", "phi", "z"))
    y = analyze_ensemble(load_ensemble(paths, ref_path), potential="ka2d", compute_bond_breaking=False).propensity[-1]
    model = PropensityModel(model="gp", gp_max_samples=80).fit(table, y)
    return save_model(model, tmp_path_factory.mktemp("mda_model") / "gp.gdm", descriptor_params=table.params), model


def test_prediction_matches_core_and_backends(ensemble, model_file):
    from glassdyn.descriptors import compute_features
    from glassdyn.mdanalysis import PropensityPrediction, universe_from_dump

    _, _, paths = ensemble
    path, model = model_file
    u = universe_from_dump(paths[0])
    serial = PropensityPrediction(u.atoms, path).run(stop=3)
    assert serial.results.prediction.shape == (3, 144) and serial.results.std.shape == (3, 144)
    u.trajectory[2]
    # the model recomputes features with its training parameters, neighbour cutoffs included
    from glassdyn.modelfile import read_meta
    cutoffs = np.asarray(read_meta(path)["descriptor_params"]["cutoffs"])
    table = compute_features(frame_from_mdanalysis(u.atoms), potential="ka2d", lengths=LENGTHS,
                             descriptors=("rho", "phi", "z"), cutoffs=cutoffs)
    mean, std = model.predict(table, return_std=True)
    np.testing.assert_allclose(serial.results.prediction[2], mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(serial.results.std[2], std, rtol=1e-9, atol=1e-12)
    for backend, kw in _backends():
        par = PropensityPrediction(u.atoms, path).run(stop=3, backend=backend, n_workers=2, **kw)
        np.testing.assert_array_equal(par.results.prediction, serial.results.prediction, err_msg=backend)
        np.testing.assert_array_equal(par.results.std, serial.results.std, err_msg=backend)


def test_prediction_bad_model(ensemble, tmp_path):
    from glassdyn.mdanalysis import PropensityPrediction, universe_from_dump

    _, ref_path, _ = ensemble
    u = universe_from_dump(ref_path)
    junk = tmp_path / "junk.gdm"
    junk.write_bytes(b"not a model")
    with pytest.raises(InputError, match=r"junk.gdm: not a glassdyn model file"):
        PropensityPrediction(u.atoms, junk)
    with pytest.raises(InputError, match=r"model.gdm: model file not found"):
        PropensityPrediction(u.atoms, tmp_path / "model.gdm")


# ----------------------------------------------------------------------------- attach and write
def test_attach_and_write_read_back_everywhere(ensemble, tmp_path):
    from glassdyn.mdanalysis import GlassDescriptors, Propensity, attach_results, universe_from_dump, write_results

    _, ref_path, paths = ensemble
    us = _universes(paths)
    prop = Propensity(us).run()
    u = universe_from_dump(ref_path)
    desc = GlassDescriptors(u.atoms, potential="ka2d", lengths=LENGTHS, descriptors=("rho", "Theta")).run()
    u.trajectory[0]
    names = attach_results(u.atoms, prop) + attach_results(u.atoms, desc)
    assert names == ["Propensity_CR", "Bond_Breaking", "rho_L1_0", "rho_L2_0", "Theta_L1_0", "Theta_L2_0"]
    np.testing.assert_array_equal(u.atoms.Propensity_CR, prop.results.propensity[-1])
    # selections on the new attribute work
    mobile = u.select_atoms(f"prop Propensity_CR > {np.median(prop.results.propensity[-1])}")
    assert 0 < mobile.n_atoms < u.atoms.n_atoms

    out = tmp_path / "annotated.dump"
    write_results(out, u.atoms, [prop, desc])
    back = read_dump(out)
    np.testing.assert_array_equal(back.properties["Propensity_CR"], prop.results.propensity[-1])
    np.testing.assert_array_equal(back.properties["Theta_L2.0"], desc.results.features[0][:, 3])
    # MDAnalysis reads the extra columns back
    u2 = universe_from_dump(out)
    np.testing.assert_allclose(u2.trajectory.ts.data["Propensity_CR"], prop.results.propensity[-1], rtol=1e-12)
    np.testing.assert_allclose(u2.trajectory.ts.data["Theta_L2.0"], desc.results.features[0][:, 3], rtol=1e-12)
    # and so does OVITO
    ovito_data = pytest.importorskip("glassdyn.adapters.ovito_data")
    pytest.importorskip("ovito")
    fr = next(ovito_data.frames_from_ovito_file(out))
    np.testing.assert_allclose(fr.properties["Propensity_CR"], prop.results.propensity[-1], rtol=1e-12)


def test_attach_refuses_unanalysed_frame(ensemble):
    from glassdyn.mdanalysis import GlassDescriptors, attach_results, universe_from_dump

    _, _, paths = ensemble
    u = universe_from_dump(paths[0])
    desc = GlassDescriptors(u.atoms, descriptors=("rho",), lengths=LENGTHS).run(stop=2)
    u.trajectory[4]
    with pytest.raises(InputError, match=r"the universe is at frame 4, which the analysis did not analyse"):
        attach_results(u.atoms, desc)
    u.trajectory[1]
    attach_results(u.atoms, desc)
    np.testing.assert_array_equal(u.atoms.rho_L1_0, desc.results.features[1][:, 0])
