"""Core pieces of the Swanson et al. study: the authors' code construction of the graph metrics
(against a brute force), graph metrics of given edges, bond weights, the paper's nested splits
by group, classification on given splits and on windows, tiles, and Tg from the two-line fit."""
from __future__ import annotations

import numpy as np
import pytest

from glassdyn import Box, Frame, InputError
from glassdyn.classification import (classify_configurations, mean_by_owner, nested_splits, rows_of_groups,
                                     window_features)
from glassdyn.graph import graph_metrics, metrics_from_edges, undirected_weights, window_positions
from glassdyn.tg import tg_from_eis, two_line_fit
from glassdyn.windows import random_windows, tile_windows


def _frame(seed=0, n=300):
    rng = np.random.default_rng(seed)
    L = np.sqrt(n / 1.2)
    types = np.where(rng.random(n) < 0.35, 2, 1)
    return Frame(rng.random((n, 2)) * L, types, Box.orthorhombic([L, L]))


def _components(nodes, edges):
    parent = {k: k for k in nodes}

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x
    for a, b in edges:
        parent[find(a)] = find(b)
    return len({find(k) for k in nodes})


def _brute_code(frame, rows, k=2, b_type=2, a_type=1):
    """The authors' graph_metric_analysis.py: symmetric kNN graph of the window (non-periodic), keep
    the edges touching a B particle; components, distinct B-B edges, A and B not touching a kept edge."""
    pos = window_positions(frame, rows)
    d = np.linalg.norm(pos[:, None] - pos[None], axis=2)
    np.fill_diagonal(d, np.inf)
    t = frame.types[rows]
    edges = set()
    for i in range(len(rows)):
        for j in np.argsort(d[i], kind="stable")[:k]:
            edges.add((min(i, j), max(i, j)))
    kept = {e for e in edges if t[e[0]] == b_type or t[e[1]] == b_type}
    touched = {v for e in kept for v in e}
    nbb = sum(t[a] == b_type and t[b] == b_type for a, b in kept)
    iso_a = sum(1 for v in range(len(rows)) if t[v] == a_type and v not in touched)
    iso_b = sum(1 for v in range(len(rows)) if t[v] == b_type and v not in touched)
    return _components(touched, kept), nbb, iso_a, iso_b, {(rows[a], rows[b]) for a, b in kept}


@pytest.mark.parametrize("seed", [0, 1])
def test_code_construction_on_windows_matches_brute_force(seed):
    f = _frame(seed)
    for w in random_windows(f, 3, 0.4, seed=seed):
        g = graph_metrics(f, construction="code", window=w)
        nc, nbb, ia, ib, edges = _brute_code(f, w.indices)
        assert (g.n_components, g.n_bb_edges, g.n_isolated_a, g.n_isolated_b) == (nc, nbb, ia, ib)
        assert {tuple(sorted(e)) for e in g.edges.tolist()} == {tuple(sorted(map(int, e))) for e in edges}
        assert g.n_members == w.n and not g.members[np.setdiff1d(np.arange(f.n_atoms), w.indices)].any()
        assert not g.isolated_a[~g.members].any()


def test_constructions_differ_and_whole_frame_code_is_periodic():
    f = _frame(3, 400)
    text, code = graph_metrics(f), graph_metrics(f, construction="code")
    # the code keeps every B's own edges and adds edges chosen by A particles towards B
    assert set(map(tuple, text.edges.tolist())) <= set(map(tuple, code.edges.tolist()))
    assert code.n_edges > text.n_edges and text.n_isolated_b == code.n_isolated_b == 0
    assert code.params["construction"] == "code" and text.counts().keys() == code.counts().keys()
    with pytest.raises(InputError, match="unknown graph construction 'paper'"):
        graph_metrics(f, construction="paper")


def test_metrics_from_edges_counts_isolated_members_only():
    types = np.array([2, 1, 1, 2, 1, 2])
    edges = np.array([[0, 1], [1, 0], [3, 5], [2, 2]])       # a repeated edge, a self-loop
    g = metrics_from_edges(types, edges, members=np.array([0, 1, 2, 3, 5]))
    assert g.n_edges == 2 and g.n_components == 2 and g.n_bb_edges == 1
    assert g.n_isolated_a == 1 and g.n_isolated_b == 0        # particle 4 (A) is not a member
    np.testing.assert_array_equal(g.degree, [1, 1, 0, 1, 0, 1])
    with pytest.raises(InputError, match="edge indices"):
        metrics_from_edges(types, [[0, 9]])


def test_undirected_weights_sum_and_mean():
    src, dst = np.array([0, 1, 1, 2]), np.array([1, 0, 2, 1])
    w = np.array([1.0, 3.0, 2.0, 2.0])
    pairs, bond, atom = undirected_weights(src, dst, w, 4, reduce="mean")
    np.testing.assert_array_equal(pairs, [[0, 1], [1, 2]])
    np.testing.assert_allclose(bond, [2.0, 2.0])
    np.testing.assert_allclose(atom, [2.0, 4.0, 2.0, 0.0])
    _, bond_sum, _ = undirected_weights(src, dst, w)
    np.testing.assert_allclose(bond_sum, [4.0, 4.0])


def test_nested_splits_follow_the_paper_by_group():
    # 10 ramps, each a liquid (0) and a glass (1); and 4 extra single glasses
    y = np.array([0, 1] * 10 + [1] * 4)
    g = np.array([k // 2 for k in range(20)] + [100, 101, 102, 103])
    splits = nested_splits(y, g, seed=3)
    assert len(splits) == 3
    tests = [set(sp["test"].tolist()) for sp in splits]
    assert not (tests[0] & tests[1]) and not (tests[0] & tests[2]) and not (tests[1] & tests[2])
    for sp in splits:
        parts = [set(sp[k].tolist()) for k in ("inner_train", "inner_val", "inner_test", "test")]
        assert sum(len(p) for p in parts) == len(y) and set().union(*parts) == set(range(len(y)))
        for a in range(4):
            for b in range(a + 1, 4):
                assert not (parts[a] & parts[b])
        for k in ("inner_train", "inner_val", "inner_test", "test"):
            rows = sp[k]
            assert set(y[rows].tolist()) == {0, 1}, k                 # both classes everywhere
            # a group is never split: all its rows are in this part
            for grp in set(g[rows].tolist()):
                assert set(np.flatnonzero(g == grp).tolist()) <= set(rows.tolist())
        assert len(set(g[sp["test"]].tolist()) & set(range(10))) == 2  # 20% of the 10 ramps
    same = nested_splits(y, g, seed=3)
    assert all(np.array_equal(a["test"], b["test"]) for a, b in zip(splits, same))
    assert not all(np.array_equal(a["test"], b["test"]) for a, b in zip(splits, nested_splits(y, g, seed=4)))
    with pytest.raises(InputError, match="too few groups"):
        nested_splits([0, 1, 0, 1], [0, 0, 1, 1], n_outer=3)
    with pytest.raises(InputError, match="n_outer x test_fraction"):
        nested_splits(y, g, n_outer=6, test_fraction=0.2)
    np.testing.assert_array_equal(rows_of_groups(np.array([0, 1, 1, 2]), [1]), [1, 2])


def test_classification_on_given_splits_and_windows():
    rng = np.random.default_rng(0)
    n_ramps = 10
    y = np.array([0, 1] * n_ramps)
    g = np.repeat(np.arange(n_ramps), 2)
    X = rng.normal(size=(20, 3))
    X[:, 0] += 3.0 * y                                   # separable along the first feature
    splits = nested_splits(y, g, seed=1)
    res = classify_configurations(X, y, splits=splits, seed=0)
    assert len(res.auc) == 3 and np.all(res.auc == 1.0)
    tested = np.concatenate([sp["test"] for sp in splits])
    assert np.all(np.isfinite(res.scores[tested]))
    assert np.all(np.isnan(np.delete(res.scores, tested)))   # 40% never tested, as the paper's scheme
    grp = classify_configurations(X, y, groups=g, outer_splits=3, seed=0)
    for te in grp.test_folds:                              # group k-fold: the ramp's pair stays together
        assert set(g[te].tolist()).isdisjoint(set(np.delete(g, te).tolist()))
    # windows: per-window means/stds of per-particle features, aggregated back per configuration
    vals = np.arange(12, dtype=float).reshape(6, 2)
    wv, names = window_features(vals, [np.array([0, 1]), np.array([2, 3, 4])], ["a", "b"])
    assert names == ["a_mean", "b_mean", "a_std", "b_std"]
    np.testing.assert_allclose(wv[1], [6.0, 7.0, np.std([4.0, 6, 8]), np.std([5.0, 7, 9])])
    np.testing.assert_allclose(mean_by_owner([1.0, 3.0, 5.0], [0, 0, 1], 3)[:2], [2.0, 5.0])
    assert np.isnan(mean_by_owner([1.0], [0], 2)[1])


def test_tiles_cover_every_particle_once():
    f = _frame(5, 500)
    tiles = tile_windows(f, 0.3)
    assert len(tiles) <= 16 and all(abs(t.side - 0.25) < 1e-12 for t in tiles)
    rows = np.concatenate([t.indices for t in tiles])
    assert np.array_equal(np.sort(rows), np.arange(f.n_atoms))
    from glassdyn.windows import scaled_positions
    s = scaled_positions(f)
    for t in tiles:
        assert t.contains(s[t.indices]).all()


def test_tg_two_line_fit_on_a_kinked_curve_and_an_eis_file(tmp_path):
    """The Swanson et al. protocol: E_IS(T) of a ramp, a glass branch below Tg and a steeper
    liquid branch above, with noise; Tg is where the two fitted lines cross."""
    rng = np.random.default_rng(2)
    T = np.linspace(2.0, 0.05, 200)
    tg = 0.39
    e = np.where(T < tg, -3.88 + 0.05 * (T - tg), -3.88 + 0.11 * (T - tg)) + rng.normal(0, 3e-4, T.size)
    fit = two_line_fit(T, e)
    assert fit["tg"] == pytest.approx(tg, abs=0.03)
    assert fit["low"]["slope"] == pytest.approx(0.05, abs=0.01) and fit["high"]["slope"] == pytest.approx(0.11, abs=0.005)
    assert T.min() < fit["t_break"] < T.max()
    # the eis.txt written by cool.in: index step T_set T_kin E_pot E_IS
    table = np.column_stack([np.arange(200), np.arange(200) * 1000, T, T, e + T, e])
    path = tmp_path / "eis.txt"
    np.savetxt(path, table, header="index step T_set T_kin E_pot E_IS")
    assert tg_from_eis(path)["tg"] == pytest.approx(fit["tg"], abs=1e-12)
    # a straight line has no kink: the fitted "Tg" is wherever the (nearly parallel) lines cross
    flat = two_line_fit(T, 0.1 * T - 3.9 + rng.normal(0, 1e-6, T.size))
    assert abs(flat["low"]["slope"] - flat["high"]["slope"]) < 1e-3
