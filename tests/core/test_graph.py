"""Swanson et al. graph metrics against a hand-built configuration and an O(N^2) brute force."""
from __future__ import annotations

import numpy as np
import pytest

from glassdyn import Box, Frame, InputError
from glassdyn.graph import graph_metrics, nearest_neighbors


def test_hand_built_graph():
    #            B1        A2        A3         A4         B5          B6          A7           A8          A9
    pos = [[5, 5], [6, 5], [5, 6.2], [3.5, 5], [10, 10], [10.9, 10], [10, 11.1], [11.9, 10], [15, 3]]
    types = [2, 1, 1, 1, 2, 2, 1, 1, 1]
    f = Frame(np.array(pos, float), types, Box.orthorhombic([20.0, 20.0]))
    g = graph_metrics(f)
    # edges: B1-A2, B1-A3, B5-B6 (chosen by both, counted once), B5-A7, B6-A8
    assert sorted(map(tuple, g.edges.tolist())) == [(0, 1), (0, 2), (4, 5), (4, 6), (5, 7)]
    assert (g.n_components, g.n_bb_edges, g.n_isolated_a, g.n_edges) == (2, 1, 2, 5)
    np.testing.assert_array_equal(g.degree, [2, 1, 1, 0, 2, 2, 1, 1, 0])
    np.testing.assert_array_equal(g.isolated_a, [0, 0, 0, 1, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(g.component_size, [3, 3, 3, 0, 4, 4, 4, 4, 0])
    assert g.component[3] == -1 and g.component[0] == g.component[1] != g.component[4]
    assert g.counts() == {"n_components": 2, "n_bb_edges": 1, "n_isolated_a": 2, "n_edges": 5}


def test_periodic_nearest_neighbours_cross_the_boundary():
    pos = np.array([[0.2, 5.0], [9.7, 5.0], [9.0, 5.0], [5.0, 5.0]])
    f = Frame(pos, [2, 1, 1, 1], Box.orthorhombic([10.0, 10.0]))
    nbr, dist = nearest_neighbors(f, 2, [0])
    np.testing.assert_array_equal(nbr, [[1, 2]])
    np.testing.assert_allclose(dist, [[0.5, 1.2]])


def _brute(frame, b_type=2, a_type=1):
    pos, L = frame.positions, np.diag(frame.box.matrix)
    v = pos[None] - pos[:, None]
    v -= L * np.round(v / L)
    r = np.linalg.norm(v, axis=2)
    np.fill_diagonal(r, np.inf)
    edges = set()
    for i in np.flatnonzero(frame.types == b_type):
        for j in np.argsort(r[i])[:2]:
            edges.add((min(i, j), max(i, j)))
    parent = list(range(frame.n_atoms))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        parent[find(a)] = find(b)
    touched = {k for e in edges for k in e}
    comps = {find(k) for k in touched}
    n_bb = sum(frame.types[a] == b_type and frame.types[b] == b_type for a, b in edges)
    isolated = [k for k in range(frame.n_atoms) if frame.types[k] == a_type and k not in touched]
    labels = {k: find(k) for k in touched}
    return len(comps), n_bb, len(isolated), edges, labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_graph_metrics_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 260
    L = np.sqrt(n / 1.2)
    types = np.where(rng.random(n) < 0.35, 2, 1)
    f = Frame(rng.random((n, 2)) * L, types, Box.orthorhombic([L, L]))
    g = graph_metrics(f)
    nc, nbb, niso, edges, labels = _brute(f)
    assert (g.n_components, g.n_bb_edges, g.n_isolated_a) == (nc, nbb, niso)
    assert set(map(tuple, g.edges.tolist())) == edges
    # same partition of the touched particles
    touched = sorted(labels)
    ours = g.component[touched]
    ref = np.array([labels[k] for k in touched])
    for k in range(len(touched)):
        np.testing.assert_array_equal(ours == ours[k], ref == ref[k])
    assert (g.component[[k for k in range(n) if k not in labels]] == -1).all()


def test_graph_metrics_3d_and_no_b_particles():
    rng = np.random.default_rng(4)
    n = 150
    L = (n / 1.2) ** (1 / 3)
    types = np.where(rng.random(n) < 0.2, 2, 1)
    f = Frame(rng.random((n, 3)) * L, types, Box.orthorhombic([L, L, L]))
    nc, nbb, niso, _, _ = _brute(f)
    g = graph_metrics(f)
    assert (g.n_components, g.n_bb_edges, g.n_isolated_a) == (nc, nbb, niso)
    only_a = Frame(f.positions, np.ones(n, dtype=int), f.box)
    g = graph_metrics(only_a)
    assert (g.n_components, g.n_bb_edges, g.n_isolated_a) == (0, 0, n)


def test_too_few_atoms_for_two_neighbours():
    f = Frame(np.array([[1.0, 1.0], [2.0, 2.0]]), [2, 1], Box.orthorhombic([5.0, 5.0]), source="x.dump", index=0)
    with pytest.raises(InputError, match="x.dump, frame 0: 2 atoms cannot have 2 nearest neighbours"):
        graph_metrics(f)
