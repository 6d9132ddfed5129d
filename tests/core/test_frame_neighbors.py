"""neighbor_list against an O(N^2) brute force over explicit periodic images (2D/3D, orthorhombic/triclinic)."""
from itertools import product

import numpy as np
import pytest

from glassdyn import Box, Frame, InputError, neighbor_list


def brute_pairs(pos, matrix, cutoff):
    """Every ordered pair (i, j, image) with |r_j + n.H - r_i| < cutoff, n in [-3, 3]^d, excluding self."""
    d = pos.shape[1]
    out = {}
    shifts = np.array(list(product(range(-3, 4), repeat=d))) @ matrix
    for i in range(len(pos)):
        for s in shifts:
            v = pos + s - pos[i]
            r = np.sqrt((v * v).sum(1))
            for j in np.nonzero(r < cutoff)[0]:
                if j == i and np.allclose(s, 0):
                    continue
                out.setdefault((i, int(j)), []).append(r[j])
    return out


def as_dict(nl):
    out = {}
    for a, b, r in zip(nl.i, nl.j, nl.distances):
        out.setdefault((int(a), int(b)), []).append(float(r))
    return out


BOXES = {
    "2d-ortho": (np.diag([7.0, 6.0]), [0.5, -2.0]),
    "2d-tri": (np.array([[7.0, 0.0], [2.5, 6.0]]), [1.0, 1.0]),
    "2d-tri-neg": (np.array([[7.0, 0.0], [-3.2, 6.5]]), [0.0, 0.0]),
    "3d-ortho": (np.diag([6.0, 5.5, 6.5]), [0.0, 0.0, -3.0]),
    "3d-tri": (np.array([[6.0, 0, 0], [2.0, 5.5, 0], [-1.5, 1.8, 6.5]]), [-1.0, 2.0, 0.5]),
}


@pytest.mark.parametrize("name", list(BOXES))
def test_neighbor_list_equals_brute_force(name):
    matrix, origin = BOXES[name]
    d = matrix.shape[0]
    rng = np.random.default_rng(len(name))
    n = 60 if d == 2 else 70
    box = Box(matrix, origin)
    # positions partly outside the primary cell: the search must not depend on wrapping
    frac = rng.random((n, d)) * 1.4 - 0.2
    pos = box.to_cartesian(frac)
    f = Frame(pos, rng.integers(1, 3, n), box)
    cutoff = 0.95 * box.max_cutoff
    nl = neighbor_list(f, cutoff)
    ref = brute_pairs(pos, matrix, cutoff)
    got = as_dict(nl)
    assert set(got) == set(ref)
    for key in ref:  # the minimum image is unique below max_cutoff
        assert len(got[key]) == 1 and len(ref[key]) == 1
        assert got[key][0] == pytest.approx(ref[key][0], abs=1e-10)
    # vectors are minimum images r_j - r_i, grouped by ascending i
    v = box.minimum_image(pos[nl.j] - pos[nl.i])
    np.testing.assert_allclose(nl.vectors, v, atol=1e-10)
    assert np.all(np.diff(nl.i) >= 0)
    np.testing.assert_array_equal(nl.counts(), np.bincount([k[0] for k in ref], minlength=n))


@pytest.mark.parametrize("name", ["2d-tri", "3d-tri", "3d-ortho"])
def test_per_type_cutoffs_brute_force(name):
    matrix, origin = BOXES[name]
    d = matrix.shape[0]
    box = Box(matrix, origin)
    rng = np.random.default_rng(7)
    n = 50
    pos = box.to_cartesian(rng.random((n, d)))
    types = rng.integers(1, 3, n)
    rc = box.max_cutoff
    cut = np.array([[0.9 * rc, 0.6 * rc], [0.6 * rc, 0.75 * rc]])
    nl = neighbor_list(Frame(pos, types, box), cut)
    ref = {k: v for k, v in brute_pairs(pos, matrix, rc).items()
           if v[0] < cut[types[k[0]] - 1, types[k[1]] - 1]}
    assert set(as_dict(nl)) == set(ref)


def test_triclinic_equals_orthorhombic_same_system():
    # a box with tilt equal to a full box length is the same lattice as the orthorhombic one
    rng = np.random.default_rng(11)
    L = 8.0
    pos = rng.random((80, 2)) * L
    ortho = Frame(pos, np.ones(80, int), Box.orthorhombic([L, L]))
    sheared = Frame(pos, np.ones(80, int), Box(np.array([[L, 0.0], [L, L]])))
    a = as_dict(neighbor_list(ortho, 2.5))
    b = as_dict(neighbor_list(sheared, 2.5))
    assert set(a) == set(b)
    for k in a:
        assert a[k][0] == pytest.approx(b[k][0], abs=1e-10)


def test_cutoff_too_long_names_frame():
    f = Frame(np.random.default_rng(0).random((10, 2)) * 4, np.ones(10, int), Box.orthorhombic([4.0, 4.0]),
              source="x.dump", index=2)
    with pytest.raises(InputError, match=r"x.dump, frame 2: neighbour cutoff 2.5 is longer than half"):
        neighbor_list(f, 2.5)
