"""Cross-checks of the exact engine against dadapy (run in the numpy<2 environment: .ci/dadapy_env.sh)."""
import warnings

import numpy as np
import pytest

# (this folder is not named "dadapy": pytest puts tests/ on sys.path, where such a folder would shadow the package)
MetricComparisons = pytest.importorskip("dadapy.metric_comparisons").MetricComparisons

from glassdyn.imbalance import imbalance, imbalance_per_configuration, point_ranks  # noqa: E402
from glassdyn.selection import greedy_supervised, greedy_unsupervised, prepare_features  # noqa: E402

pytestmark = pytest.mark.dadapy


def _dadapy_pair(A, B, maxk):
    A = np.asarray(A, float).reshape(len(A), -1)
    B = np.asarray(B, float).reshape(len(B), -1)
    X = np.hstack([A, B])
    mc = MetricComparisons(coordinates=X, maxk=maxk, n_jobs=1)
    return mc.return_inf_imb_two_selected_coords(list(range(A.shape[1])), list(range(A.shape[1], X.shape[1])))


@pytest.mark.parametrize("da,db", [(3, 2), (4, 1), (1, 3), (1, 1), (6, 6)])
def test_exact_equals_dadapy_full_ranks_without_ties(da, db):
    g = np.random.default_rng(da * 10 + db)
    N = 400
    A = g.normal(size=(N, da))
    B = A[:, :1] * 0.7 + g.normal(size=(N, db))          # partly informative
    ab, ba = _dadapy_pair(A, B, maxk=N - 1)
    for ties in ("strict", "average"):                   # no ties: every rule gives the same number
        assert imbalance(A, B, ties=ties) == pytest.approx(ab, abs=1e-12)
        assert imbalance(B, A, ties=ties) == pytest.approx(ba, abs=1e-12)
    assert imbalance(A, B, backend="dadapy") == pytest.approx(ab, abs=1e-12)


def test_dadapy_with_ties_lies_between_strict_and_max_rule():
    """dadapy has no tie rule: equidistant points keep its neighbour-search order. With ties only in B,
    its ranks lie between the exact 'strict' rank and the largest rank of the tied block, and the
    'average' rule is the midpoint of that interval."""
    g = np.random.default_rng(3)
    N = 300
    A = g.normal(size=(N, 2))                             # continuous: unique nearest neighbours
    B = g.integers(0, 4, size=(N, 1)).astype(float)       # many ties
    ab, _ = _dadapy_pair(A, B, maxk=N - 1)
    strict = point_ranks(A, B, ties="strict", duplicates="allow")
    avg = point_ranks(A, B, ties="average", duplicates="allow")
    top = 2 * avg - strict                                # largest rank of each tied block
    lo, hi = 2 / N * strict.mean(), 2 / N * top.mean()
    assert lo - 1e-12 <= ab <= hi + 1e-12
    assert hi - lo > 0.1                                  # the ties matter here


def test_dadapy_maxk_below_n_draws_random_ranks_for_far_neighbours():
    g = np.random.default_rng(4)
    N = 300
    A, B = g.normal(size=(N, 2)), g.normal(size=(N, 2))
    exact = imbalance(A, B)
    ab_small, _ = _dadapy_pair(A, B, maxk=20)
    ab_full, _ = _dadapy_pair(A, B, maxk=N - 1)
    assert ab_full == pytest.approx(exact, abs=1e-12)
    assert abs(ab_small - exact) < 0.1                    # random ranks beyond maxk: close, not equal
    assert ab_small != pytest.approx(exact, abs=1e-9)


def test_dadapy_backend_per_configuration():
    g = np.random.default_rng(5)
    A = [g.normal(size=(150, 3)) for _ in range(3)]
    B = [a[:, 0] + 0.5 * g.normal(size=150) for a in A]
    np.testing.assert_allclose(imbalance_per_configuration(A, B, backend="dadapy"),
                               imbalance_per_configuration(A, B), atol=1e-12)


def test_dadapy_greedy_picks_same_features_supervised():
    g = np.random.default_rng(6)
    N = 350
    X = g.normal(size=(N, 7))
    p = np.tanh(X[:, 0]) * 2 + X[:, 3] ** 2 + 0.05 * g.normal(size=N)
    ours = greedy_supervised(X, p, n_features=3)
    Xz, pz, _ = prepare_features(X, None, None, p)
    mc = MetricComparisons(coordinates=Xz[0], maxk=N - 1, n_jobs=1)
    from dadapy._utils.utils import compute_nn_distances
    _, target_ranks = compute_nn_distances(pz[0], N - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best_tuples, best_imb, _ = mc.greedy_feature_selection_target(target_ranks, n_coords=3, k=1, n_best=1,
                                                                      symm=False)
    assert set(best_tuples[1]) == {0, 3} == set(ours.indices[:2])
    assert [set(t) for t in best_tuples] == [set(ours.indices[:d + 1]) for d in range(3)]
    # dadapy rounds its reported imbalances to 3 decimals
    np.testing.assert_allclose(best_imb[:, 1], ours.curve, atol=6e-4)
    via = greedy_supervised(X, p, n_features=3, backend="dadapy")
    assert via.indices == ours.indices
    np.testing.assert_allclose(via.curve, ours.curve, atol=1e-12)


def test_dadapy_greedy_unsupervised_same_picks():
    g = np.random.default_rng(7)
    base = [g.normal(size=(250, 3)) for _ in range(2)]
    Xs = [np.hstack([b, b[:, :2] + 1e-3 * g.normal(size=(250, 2))]) for b in base]
    ours = greedy_unsupervised(Xs, n_features=3)
    via = greedy_unsupervised(Xs, n_features=3, backend="dadapy")
    assert via.indices == ours.indices
    assert sorted(k % 3 for k in ours.indices) == [0, 1, 2]
    np.testing.assert_allclose(via.curve, ours.curve, atol=1e-12)
