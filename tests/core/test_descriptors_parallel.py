"""The threaded neighbour search and sparse coarse-graining of compute_features: the same pairs as
neighbor_list, the same features for every n_jobs, and brute-force coarse-grained means."""
from __future__ import annotations

import os
import sys
from unittest import mock

import numpy as np
import pytest

from glassdyn import Box, Frame, InputError, neighbor_list
from glassdyn import descriptors as D
from glassdyn import neighbors as NB

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))  # the shared test helpers in tests/
from frontend_synthetic import relaxed  # noqa: E402


@pytest.fixture(scope="module")
def ka2d():
    return relaxed("ka2d", 1200, seed=4)


def canonical(chunks):
    a = np.concatenate([c[0] for c in chunks])
    b = np.concatenate([c[1] for c in chunks])
    v = np.concatenate([c[2] for c in chunks])
    d = np.concatenate([c[3] for c in chunks])
    o = np.lexsort((b, a))
    return a[o], b[o], v[o], d[o]


@pytest.mark.parametrize("d, n, L, r", [(2, 3000, 50.0, 5.0), (3, 3000, 15.0, 3.0), (2, 2000, 20.0, 5.0),
                                        (2, 400, 8.0, 3.9)])
def test_half_pairs_are_neighbor_list_pairs_for_any_threads(d, n, L, r):
    rng = np.random.default_rng(d * n)
    frame = Frame(rng.random((n, d)) * L - 2.0, np.ones(n, int), Box(np.diag([L] * d), origin=np.full(d, -2.0)))
    nl = neighbor_list(frame, r, sort=False)
    once = nl.i < nl.j
    ref = canonical([(nl.i[once], nl.j[once], nl.vectors[once], nl.distances[once])])
    with mock.patch.object(NB, "PARALLEL_MIN_ATOMS", 10):
        for jobs in (1, 2, 3, 5):
            got = canonical(NB.half_pairs(frame, r, n_jobs=jobs))
            for x, y in zip(got, ref):
                assert np.array_equal(x, y)  # bit for bit: the same pairs, vectors and distances
    with pytest.raises(InputError, match="n_jobs must be a positive number"):
        NB.half_pairs(frame, r, n_jobs=0)


def test_triclinic_half_pairs():
    rng = np.random.default_rng(3)
    box = Box(np.array([[9.0, 0.0], [2.5, 8.0]]))
    frame = Frame(box.to_cartesian(rng.random((500, 2))), np.ones(500, int), box)
    nl = neighbor_list(frame, 3.0, sort=False)
    once = nl.i < nl.j
    ref = canonical([(nl.i[once], nl.j[once], nl.vectors[once], nl.distances[once])])
    for x, y in zip(canonical(NB.half_pairs(frame, 3.0, n_jobs=2)), ref):
        assert np.array_equal(x, y)


def brute_cg(frame, X, lengths):
    """Mean of X_j over j with r_ij < L (i included, NaN skipped): O(N^2) with minimum images."""
    L = np.diag(frame.box.matrix)
    dv = frame.positions[None] - frame.positions[:, None]
    dv -= np.round(dv / L) * L
    r = np.linalg.norm(dv, axis=2)
    out = np.empty((frame.n_atoms, X.shape[1], len(lengths)))
    for k, length in enumerate(lengths):
        w = (r < length).astype(float)
        for c in range(X.shape[1]):
            ok = np.isfinite(X[:, c])
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, c, k] = (w @ np.where(ok, X[:, c], 0.0)) / (w @ ok)
    return out


def test_sparse_coarse_graining_matches_brute_force(ka2d):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ka2d.n_atoms, 3))
    X[rng.random(ka2d.n_atoms) < 0.05, 1] = np.nan
    X[:, 2] = np.nan
    X[::7, 2] = 1.0
    lengths = np.array([0.5, 1.0, 2.5, 4.0])
    ref = brute_cg(ka2d, X, lengths)
    with mock.patch.object(NB, "PARALLEL_MIN_ATOMS", 10):
        chunks = NB.half_pairs(ka2d, 4.0, n_jobs=2)
    assert len(chunks) > 1  # the threaded path, several matrices summed
    counts, means = D._cg_from_matrix(D._cg_hard_half(chunks, lengths, ka2d.n_atoms), X, ka2d.n_atoms, len(lengths))
    np.testing.assert_allclose(means, ref, rtol=1e-12, atol=1e-12)
    nl = neighbor_list(ka2d, 4.0, sort=False)
    c2, m2 = D._cg_hard(nl.i, nl.j, nl.distances, lengths, X, ka2d.n_atoms)
    np.testing.assert_array_equal(counts, c2)
    np.testing.assert_allclose(m2, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs", [{}, {"weighting": "exponential", "lengths": (0.5, 1.0, 1.5)},
                                    {"descriptors": ("rho", "phi", "G"), "density": "probe"},
                                    {"density": "disc_count"}])
def test_features_do_not_depend_on_threads(ka2d, kwargs):
    base = D.compute_features(ka2d, "ka2d", n_jobs=1, **kwargs)
    with mock.patch.object(NB, "PARALLEL_MIN_ATOMS", 10):
        for jobs in (2, 3):
            t = D.compute_features(ka2d, "ka2d", n_jobs=jobs, **kwargs)
            assert t.names == base.names and t.params == base.params
            # summation order only: 1e-13 of the scale of each feature
            scale = np.nanmax(np.abs(base.values), axis=0) + 1e-300
            np.testing.assert_array_equal(np.isnan(t.values), np.isnan(base.values))
            assert np.nanmax(np.abs(t.values - base.values) / scale) < 1e-13


def test_default_features_never_build_the_full_list(ka2d):
    # the long search is kept as unordered pairs: only the short-range list is symmetrised
    built = []
    real = NB.from_half_pairs

    def spy(chunks, n_atoms, cutoff):
        built.append(cutoff)
        return real(chunks, n_atoms, cutoff)

    with mock.patch.object(NB, "from_half_pairs", spy):
        table = D.compute_features(ka2d, "ka2d")
    assert table.n_features == 60
    assert built and max(built) < 5.0  # 2.5 (potential) or the g(r) scan, never the L = 5 search
