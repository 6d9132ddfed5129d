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
        assert core.propensity[-1].std() > 0.1 * core.propensity[-1].mean()
    serial = Propensity(us).run()
    for backend, kw in _backends():
        par = Propensity(us).run(backend=backend, n_workers=2, **kw)
        np.testing.assert_array_equal(par.results.propensity, serial.results.propensity, err_msg=backend)
        np.testing.assert_array_equal(par.results.timesteps, serial.results.timesteps)


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
    assert names == ["Propensity", "rho_L1_0", "rho_L2_0", "Theta_L1_0", "Theta_L2_0"]
    np.testing.assert_array_equal(u.atoms.Propensity, prop.results.propensity[-1])
    # selections on the new attribute work
    mobile = u.select_atoms(f"prop Propensity > {np.median(prop.results.propensity[-1])}")
    assert 0 < mobile.n_atoms < u.atoms.n_atoms

    out = tmp_path / "annotated.dump"
    write_results(out, u.atoms, [prop, desc])
    back = read_dump(out)
    np.testing.assert_array_equal(back.properties["Propensity"], prop.results.propensity[-1])
    np.testing.assert_array_equal(back.properties["Theta_L2.0"], desc.results.features[0][:, 3])
    # MDAnalysis reads the extra columns back
    u2 = universe_from_dump(out)
    np.testing.assert_allclose(u2.trajectory.ts.data["Propensity"], prop.results.propensity[-1], rtol=1e-12)
    np.testing.assert_allclose(u2.trajectory.ts.data["Theta_L2.0"], desc.results.features[0][:, 3], rtol=1e-12)
    # and so does OVITO
    ovito_data = pytest.importorskip("glassdyn.adapters.ovito_data")
    pytest.importorskip("ovito")
    fr = next(ovito_data.frames_from_ovito_file(out))
    np.testing.assert_allclose(fr.properties["Propensity"], prop.results.propensity[-1], rtol=1e-12)


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
