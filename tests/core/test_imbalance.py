"""Information imbalance: exact engine against an O(N^2) brute force of the definition."""
import numpy as np
import pytest

from glassdyn.errors import InputError
from glassdyn.imbalance import imbalance, imbalance_pair, imbalance_per_configuration, imbalance_plane, point_ranks


def _dist(X):
    n = len(X)
    if X.shape[1] == 1:
        return np.abs(X[None, :, 0] - X[:, None, 0])
    D = np.zeros((n, n))
    for c in range(X.shape[1]):
        d = X[None, :, c] - X[:, None, c]
        D += d * d
    return D


def brute_ranks(A, B, ties="strict", nn_ties="average"):
    """r^B_{i,j*(i)} from the definition, Python loops; returns (rank, min_rank, max_rank) per point."""
    A = np.asarray(A, float).reshape(len(A), -1)
    B = np.asarray(B, float).reshape(len(B), -1)
    n = len(A)
    DA, DB = _dist(A), _dist(B)
    out = np.zeros(n)
    lo = np.zeros(n)
    hi = np.zeros(n)
    for i in range(n):
        others = [k for k in range(n) if k != i]
        m = min(DA[i, k] for k in others)
        nns = [k for k in others if DA[i, k] == m]
        if nn_ties == "first":
            nns = nns[:1]
        rs, mins, maxs = [], [], []
        for j in nns:
            less = sum(1 for k in others if DB[i, k] < DB[i, j])
            eq = sum(1 for k in others if DB[i, k] == DB[i, j])
            rs.append(1 + less + ((eq - 1) / 2 if ties == "average" else 0))
            mins.append(1 + less)
            maxs.append(less + eq)
        out[i], lo[i], hi[i] = np.mean(rs), np.mean(mins), np.mean(maxs)
    return out, lo, hi


def brute(A, B, **kw):
    r = brute_ranks(A, B, **kw)[0]
    return 2.0 / len(r) * r.mean()


rng = np.random.default_rng(11)
N = 90
CASES = {
    "vector->vector": (rng.normal(size=(N, 3)), rng.normal(size=(N, 2))),
    "vector->scalar": (rng.normal(size=(N, 4)), rng.normal(size=N)),
    "scalar->vector": (rng.normal(size=N), rng.normal(size=(N, 3))),
    "scalar->scalar": (rng.normal(size=N), rng.normal(size=N)),
    "ties scalar->scalar": (rng.integers(0, 6, N).astype(float), rng.integers(0, 9, N).astype(float)),
    "ties vector->vector": (rng.integers(0, 3, (N, 2)).astype(float), rng.integers(0, 3, (N, 3)).astype(float)),
    "ties scalar->vector": (rng.integers(0, 4, N).astype(float), rng.integers(0, 3, (N, 2)).astype(float)),
    "ties vector->scalar": (rng.integers(0, 3, (N, 2)).astype(float), rng.integers(0, 5, N).astype(float)),
    "symmetric 1-D ties": (np.round(rng.normal(size=N), 1) * 0.5, np.round(rng.normal(size=N), 1)),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("ties", ["strict", "average"])
@pytest.mark.parametrize("nn_ties", ["average", "first"])
def test_exact_equals_brute_force(case, ties, nn_ties):
    A, B = CASES[case]
    got = imbalance(A, B, ties=ties, nn_ties=nn_ties, duplicates="allow")
    assert got == pytest.approx(brute(A, B, ties=ties, nn_ties=nn_ties), abs=1e-12)


def test_point_ranks_equal_brute_force_with_ties():
    A, B = CASES["ties vector->vector"]
    r = point_ranks(A, B, ties="strict", nn_ties="first", duplicates="allow")
    np.testing.assert_array_equal(r, brute_ranks(A, B, ties="strict", nn_ties="first")[0])


def test_random_ties_between_strict_and_max_and_unbiased():
    A, B = CASES["ties scalar->scalar"]
    _, lo, hi = brute_ranks(A, B, nn_ties="first")
    draws = np.array([point_ranks(A, B, ties="random", nn_ties="first", seed=s, duplicates="allow")
                      for s in range(200)])
    assert np.all(draws >= lo - 1e-12) and np.all(draws <= hi + 1e-12)
    assert np.all(draws == np.round(draws))
    # the mean over seeds approaches the "average" rule (mean of each tied block)
    avg = brute_ranks(A, B, ties="average", nn_ties="first")[0]
    assert abs(draws.mean() - avg.mean()) < 0.05 * avg.mean()
    # same seed, same draw
    np.testing.assert_array_equal(draws[3], point_ranks(A, B, ties="random", nn_ties="first", seed=3,
                                                        duplicates="allow"))


def test_self_imbalance_is_minimum():
    X = np.random.default_rng(0).normal(size=(500, 4))
    assert imbalance(X, X) == pytest.approx(2.0 / 500, abs=1e-15)
    p = np.random.default_rng(1).normal(size=500)
    assert imbalance(p, p) == pytest.approx(2.0 / 500, abs=1e-15)


def test_independent_space_near_one():
    g = np.random.default_rng(5)
    X, Y = g.normal(size=(3000, 3)), g.normal(size=(3000, 2))
    # Delta of independent spaces: mean of uniform ranks over 1..N-1 -> 1, std 2/sqrt(12 N) = 0.011
    assert abs(imbalance(X, Y) - 1.0) < 0.05
    assert abs(imbalance(Y[:, 0], X) - 1.0) < 0.05


def test_informative_direction_is_asymmetric():
    g = np.random.default_rng(2)
    X = g.normal(size=(1500, 3))
    a, b = imbalance_pair(X, X[:, 0])
    assert a < 0.2 < 0.5 < b          # the full space predicts one of its coordinates, not the reverse


def test_configurations_list_equals_groups_and_mean():
    g = np.random.default_rng(3)
    A = [g.normal(size=(200, 2)) for _ in range(3)]
    B = [a[:, 0] + 0.3 * g.normal(size=200) for a in A]
    per = imbalance_per_configuration(A, B)
    for c in range(3):
        assert per[c] == pytest.approx(brute(A[c], B[c]), abs=1e-12)
    groups = np.repeat([7, 2, 5], 200)
    per_g = imbalance_per_configuration(np.vstack(A), np.concatenate(B), groups=groups)
    np.testing.assert_allclose(per_g, per, atol=1e-15)
    assert imbalance(A, B) == pytest.approx(per.mean(), abs=1e-15)


def test_plane_equals_single_feature_imbalances():
    g = np.random.default_rng(4)
    X = [g.normal(size=(150, 4)) for _ in range(2)]
    p = [x[:, 1] + 0.5 * g.normal(size=150) for x in X]
    pl = imbalance_plane(X, p, feature_names=list("abcd"), ties="strict")
    for c in range(2):
        z = (X[c] - X[c].mean(0)) / X[c].std(0)
        pz = (p[c] - p[c].mean()) / p[c].std()
        for f in range(4):
            assert pl.forward[c, f] == pytest.approx(brute(z[:, f], pz), abs=1e-12)
            assert pl.backward[c, f] == pytest.approx(brute(pz, z[:, f]), abs=1e-12)
    assert np.argmin(pl.forward_mean) == 1
    assert pl.params["ties"] == "strict" and "glassdyn_version" in pl.params


# ------------------------------------------------------------------ bad input
def test_nan_names_the_column_and_rows():
    X = np.random.default_rng(0).normal(size=(50, 3))
    X[[4, 9], 2] = np.nan
    with pytest.raises(InputError, match=r"NaN.*column\(s\) \[2\].*atom ids: 4, 9"):
        imbalance(X, X[:, 0])


def test_constant_space_and_single_valued_target():
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(InputError, match="single distinct value"):
        imbalance(X, np.full(50, 3.0))
    with pytest.raises(InputError, match="single distinct value"):
        imbalance(np.ones(50), X)
    with pytest.raises(InputError, match="target has a single value"):
        imbalance_plane(X, np.full(50, 2.0))


def test_too_few_points():
    with pytest.raises(InputError, match="at least 3 points"):
        imbalance(np.array([[0.0], [1.0]]), np.array([1.0, 2.0]))


def test_mismatched_lengths():
    with pytest.raises(InputError, match="different numbers of points \\(40 and 39\\)"):
        imbalance(np.zeros((40, 2)) + np.arange(40)[:, None], np.arange(39.0))


def test_duplicate_points_error_or_allow():
    g = np.random.default_rng(1)
    X = g.normal(size=(60, 2))
    p = g.normal(size=60)
    X[10], p[10] = X[3], p[3]
    with pytest.raises(InputError, match=r"identical in both spaces.*duplicates='allow'.*atom ids: 3, 10"):
        imbalance(X, p)
    got = imbalance(X, p, duplicates="allow", ties="strict")
    assert got == pytest.approx(brute(X, p), abs=1e-12)


def test_dadapy_backend_missing_is_a_clear_error():
    import importlib.util
    import sys
    if importlib.util.find_spec("dadapy") is not None and importlib.util.find_spec("dadapy.metric_comparisons"):
        pytest.skip("dadapy is installed here: the cross-checks live in tests/dadapy")
    from glassdyn.errors import GlassdynError
    X = np.random.default_rng(0).normal(size=(30, 2))
    assert "dadapy" not in sys.modules                     # importing glassdyn.imbalance did not import it
    with pytest.raises(GlassdynError, match=r"pip install dadapy==0.3.4"):
        imbalance(X, X[:, 0], backend="dadapy")


def test_duplicates_detected_in_discrete_spaces_too():
    """Many ties in A and B separately are fine; a row repeated in both is reported."""
    g = np.random.default_rng(8)
    A = g.integers(0, 3, size=(80, 2)).astype(float)
    B = g.normal(size=80)
    assert imbalance(A, B) == pytest.approx(brute(A, B), abs=1e-12)        # ties in A only: no error
    B[17] = B[40]
    A[17] = A[40]
    with pytest.raises(InputError, match=r"atom ids: 17, 40"):
        imbalance(A, B)
    with pytest.raises(InputError, match=r"atom ids: 17, 40"):
        imbalance(B, A)


def test_feature_constant_up_to_rounding_is_refused_by_standardisation():
    # rho at L = 0.5 holds only the particle itself: 1/(pi 0.25) plus ~1e-14 of rounding noise.
    # Z-scoring would blow that noise up into a fake feature; it must be named as constant.
    from glassdyn.imbalance import standardize_configurations

    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 3))
    x[:, 1] = 1.0 / (np.pi * 0.25) * (1.0 + 1e-15 * rng.normal(size=200))
    assert x[:, 1].std() > 0
    with pytest.raises(InputError, match=r"\['rho_L0.5'\] are constant in configuration 0"):
        standardize_configurations([x], ["a", "rho_L0.5", "b"])
    z = standardize_configurations([x[:, [0, 2]]], ["a", "b"])[0]
    np.testing.assert_allclose(z.std(axis=0), 1.0)


# ---------------------------------------------------------------------------- the authors' argsort ranks
def _argsort_imbalance(a, b, rng, n_orders):
    """Delta(A -> B) as the authors' code ranks (np.argsort of the distance rows, ties broken by
    position in the data), averaged over random orders of the data: the order of particles in a
    configuration carries no physics, so their result is one draw of this distribution."""
    out = []
    n = len(a)
    for _ in range(n_orders):
        perm = rng.permutation(n)
        ap, bp = a[perm], b[perm]
        da = np.abs(ap[:, None] - ap[None, :]) if ap.ndim == 1 else np.linalg.norm(ap[:, None] - ap[None], axis=2)
        db = np.abs(bp[:, None] - bp[None, :]) if bp.ndim == 1 else np.linalg.norm(bp[:, None] - bp[None], axis=2)
        np.fill_diagonal(da, np.inf)
        np.fill_diagonal(db, -1.0)                       # i itself sorts first: rank 0
        nn = np.argsort(da, axis=1, kind="stable")[:, 0]  # nearest neighbour in A, ties by data order
        ranks = np.argsort(np.argsort(db, axis=1, kind="stable"), axis=1, kind="stable")
        out.append(2.0 / n * ranks[np.arange(n), nn].mean())
    return np.array(out)


def test_average_ties_default_reproduce_argsort_ranks_on_a_discrete_feature():
    """A coordination-like integer feature z and a continuous propensity p: the default tie rule
    ("average") equals the mean of argsort-ranked Delta over data orders in both directions, and
    the plane is nearly symmetric; "strict" gives p -> z a large fake advantage."""
    rng = np.random.default_rng(11)
    n = 300
    z = rng.integers(4, 9, n).astype(float)
    p = 0.3 * (z - z.mean()) + rng.normal(size=n)
    brute_zp = _argsort_imbalance(z, p, rng, 200)
    brute_pz = _argsort_imbalance(p, z, rng, 200)
    se = max(brute_zp.std(ddof=1), brute_pz.std(ddof=1)) / np.sqrt(200)
    zp, pz = imbalance_pair(z, p)                            # defaults
    assert abs(zp - brute_zp.mean()) < 4 * se + 1e-3, (zp, brute_zp.mean(), se)
    assert abs(pz - brute_pz.mean()) < 4 * se + 1e-3, (pz, brute_pz.mean(), se)
    assert abs(zp - pz) < 0.1                                # nearly symmetric, as published for z
    strict_pz = imbalance(p, z, ties="strict")
    assert pz - strict_pz > 0.2                              # strict invents "p predicts z"
    # random tie-breaking scatters around the average rule
    draws = [imbalance(p, z, ties="random", seed=s) for s in range(20)]
    assert abs(np.mean(draws) - pz) < 0.02
