"""The D-MPNN attention attached back to atoms and bonds: the OVITO modifier "Glass attention" and the
MDAnalysis class ``glassdyn.mdanalysis.attention.GlassAttention`` give the core's
:func:`glassdyn.deep.attention_map` numbers (a tiny attention model trained here in about a second)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glassdyn.adapters.lammps_dump import read_dump, write_dump  # noqa: E402
from glassdyn.frame import Box, Frame  # noqa: E402


def _frames(n, seed):
    rng = np.random.default_rng(seed)
    cells = 14
    L = float(cells)
    grid = np.stack(np.meshgrid(np.arange(cells), np.arange(cells)), -1).reshape(-1, 2) + 0.5
    out, y = [], []
    for i in range(n):
        lab = i % 2
        pos = grid + rng.normal(0, 0.08, grid.shape) if lab else rng.uniform(0, L, grid.shape)
        out.append(Frame(pos % L, np.where(rng.random(len(grid)) < 0.65, 1, 2), Box.orthorhombic([L, L]),
                         ids=np.arange(1, len(grid) + 1)))
        y.append(lab)
    return out, np.array(y)


@pytest.fixture(scope="module")
def model_and_dump(tmp_path_factory):
    from glassdyn.deep import TrainConfig, cnn_classifier, mpnn_classifier
    folder = tmp_path_factory.mktemp("attention")
    frames, y = _frames(10, 3)
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        clf = mpnn_classifier(k=2, side=(0.3, 0.5), hidden=12, steps=2, attention=True, attention_steps=1, seed=0,
                              distance_offset=1.0, distance_scale=0.1)
        clf.fit(frames[:6], y[:6], frames[6:], y[6:], config=TrainConfig(epochs=1, batch_size=8))
        path = folder / "att.gdnn"
        clf.save(path, extra={"classes": ["poisson", "lattice"]})
        cnn = cnn_classifier(pixels=16, side=0.4, fc=4, seed=0)
        cnn.fit(frames[:6], y[:6], frames[6:], y[6:], config=TrainConfig(epochs=1, batch_size=8))
        cnn_path = folder / "cnn.gdnn"
        cnn.save(cnn_path)
    finally:
        torch.set_num_threads(old)
    dump = folder / "config.lammpstrj"
    write_dump(dump, frames[1])
    return path, cnn_path, dump


def _core(path, dump, **kw):
    from glassdyn.deep import attention_map, load_model
    return attention_map(load_model(path), read_dump(dump), **kw)


@pytest.mark.ovito
def test_ovito_attention_modifier_matches_core(model_and_dump):
    pytest.importorskip("ovito")
    from ovito.io import import_file

    from glassdyn.ovito.attention_modifier import GlassAttentionModifier
    path, cnn_path, dump = model_and_dump
    ref = _core(path, dump)
    pipeline = import_file(str(dump))
    mod = GlassAttentionModifier(model_file=str(path))
    pipeline.modifiers.append(mod)
    data = pipeline.compute()
    np.testing.assert_allclose(np.asarray(data.particles["Attention"]), ref.atom, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np.asarray(data.particles["Probability lattice"]), ref.probability, rtol=1e-6)
    bonds = data.particles.bonds
    assert bonds.count == len(ref.pairs)
    np.testing.assert_array_equal(np.asarray(bonds["Topology"]), ref.pairs)
    np.testing.assert_allclose(np.asarray(bonds["Attention"]), ref.bond, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(bonds["High Attention"]) > 0, ref.high)
    # periodic images give every bond its short (minimum-image) length
    vec = np.asarray(bonds.pbc_vectors if hasattr(bonds, "pbc_vectors") else [])
    if vec.size:
        assert np.linalg.norm(vec, axis=1).max() < 3.0
    assert data.attributes["GlassAttention.probability"] == pytest.approx(ref.counts()["probability"])
    assert "GlassAttention.n_bb_edges" in data.attributes
    mod.threshold = 1.0                                      # a parameter change re-evaluates the pipeline
    data = pipeline.compute()
    np.testing.assert_array_equal(np.asarray(data.particles.bonds["High Attention"]) > 0,
                                  _core(path, dump, threshold=1.0).high)
    mod.model_file = str(cnn_path)
    with pytest.raises(RuntimeError, match=r"^Glass attention: .*cnn model without edge attention"):
        pipeline.compute()
    mod.model_file = ""
    with pytest.raises(RuntimeError, match=r"^Glass attention: no model file"):
        pipeline.compute()


@pytest.mark.mdanalysis
def test_mdanalysis_glass_attention_matches_core(model_and_dump):
    pytest.importorskip("MDAnalysis")
    from glassdyn.mdanalysis import attach_results, universe_from_dump
    from glassdyn.mdanalysis.attention import GlassAttention
    path, cnn_path, dump = model_and_dump
    ref = _core(path, dump)
    u = universe_from_dump(str(dump))
    att = GlassAttention(u.atoms, path).run()
    r = att.results
    # MDAnalysis keeps float32 coordinates: the same graph, attention equal to float32 round-off
    np.testing.assert_array_equal(r.bonds[0], read_dump(dump).ids[ref.pairs])
    np.testing.assert_allclose(r.attention[0], ref.atom, rtol=1e-4, atol=1e-6)
    assert r.probability.shape == (1,) and r.classes == ["poisson", "lattice"]
    names = attach_results(u.atoms, att)
    assert set(names) == {"Attention", "Attention_Max", "Probability"}
    np.testing.assert_allclose(u.atoms.Attention, r.attention[0])
    values = att.add_bonds(u.atoms)
    assert len(u.bonds) == len(ref.pairs) and np.all(np.isfinite(values))
    np.testing.assert_allclose(np.sort(values), np.sort(r.bond_attention[0]), rtol=1e-6)
    from glassdyn.errors import InputError
    with pytest.raises(InputError, match="trained with attention"):
        GlassAttention(u.atoms, cnn_path)
