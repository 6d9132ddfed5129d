"""glassdyn.voronoi: cell measures against lattices, the box volume, freud (voro++), an exact
half-plane clipping and a stratified sampling of the power diagram, plus invariances and
input errors."""
from __future__ import annotations

import ast
import functools
import inspect
from itertools import product

import numpy as np
import pytest
from scipy.spatial import cKDTree

import glassdyn.voronoi as gv
from glassdyn.errors import InputError
from glassdyn.frame import Box, Frame
from glassdyn.neighbors import neighbor_list
from glassdyn.voronoi import cell_measures, voronoi_area_fraction, voronoi_density

METHODS = ("voronoi", "radical")


def make_frame(pos, matrix, origin=None, **kw) -> Frame:
    pos = np.asarray(pos, dtype=float)
    return Frame(pos, np.ones(len(pos), dtype=int), Box(np.asarray(matrix, dtype=float), origin), **kw)


# ------------------------------------------------------------------ configurations
@functools.cache
def _relaxed(n, matrix_key, radii_pair, fraction_small, seed, steps=40):
    """Binary soft discs/spheres (radii ``radii_pair``) pushed apart by harmonic repulsion.

    Returns (positions, radii) in the periodic box ``np.array(matrix_key)``; a dense disordered
    packing without the near-coincident pairs of a Poisson configuration.
    """
    matrix = np.array(matrix_key, dtype=float)
    d = len(matrix)
    rng = np.random.default_rng(seed)
    radii = np.where(rng.random(n) < fraction_small, radii_pair[0], radii_pair[1])
    frame = make_frame(rng.random((n, d)) @ matrix, matrix)
    pos = frame.positions
    for _ in range(steps):
        nl = neighbor_list(make_frame(pos, matrix, validate=False), 2.0 * max(radii_pair))
        contact = radii[nl.i] + radii[nl.j]
        overlap = np.clip(contact - nl.distances, 0.0, None)
        push = (0.5 * overlap / np.maximum(nl.distances, 1e-12))[:, None] * nl.vectors
        disp = np.zeros_like(pos)
        np.add.at(disp, nl.i, -0.5 * push)  # the full list holds each pair twice
        pos = frame.box.wrap(pos + disp)
    return pos, radii


def relaxed(n, matrix, radii_pair=(0.5, 0.44), fraction_small=0.35, seed=0):
    """KA-like binary mixture (2D: 65:35 A:B, sigma_BB = 0.88) or any bidisperse packing."""
    key = tuple(map(tuple, np.asarray(matrix, dtype=float)))
    pos, radii = _relaxed(n, key, tuple(radii_pair), fraction_small, seed)
    return pos.copy(), radii.copy()


SQ3 = np.sqrt(3.0)


def lattice(name):
    """(positions, box matrix) of a perfect lattice filling its periodic box."""
    if name == "square":
        g = np.array(list(product(range(8), range(7))), dtype=float)
        return g * 1.3, np.diag([8 * 1.3, 7 * 1.3])
    if name == "hexagonal":
        i, j = np.array(list(product(range(8), range(6)))).T
        return np.c_[i + 0.5 * (j % 2), j * SQ3 / 2], np.diag([8.0, 6 * SQ3 / 2])
    if name == "hexagonal-sheared":  # rhombic cell: xy = L / 2, 60 degrees
        n = 7
        e = np.array([[1.0, 0.0], [0.5, SQ3 / 2]])
        return np.array(list(product(range(n), range(n))), dtype=float) @ e, n * e
    if name == "hexagonal-sheared-negative":  # the same lattice with xy = -L / 2
        n = 6
        e = np.array([[1.0, 0.0], [-0.5, SQ3 / 2]])
        return np.array(list(product(range(n), range(n))), dtype=float) @ e, n * e
    cells = np.array(list(product(range(4), repeat=3)), dtype=float)
    bases = {"sc": [[0, 0, 0]], "bcc": [[0, 0, 0], [0.5, 0.5, 0.5]],
             "fcc": [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]}
    if name in bases:
        a = 1.1
        pos = (cells[:, None, :] + np.array(bases[name], dtype=float)[None]).reshape(-1, 3) * a
        return pos, np.diag([4 * a] * 3)
    if name == "fcc-primitive":  # FCC in a triclinic box spanned by its primitive vectors
        e = 0.5 * np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])
        return cells @ e, 4 * e
    raise KeyError(name)


LATTICES = ["square", "hexagonal", "hexagonal-sheared", "hexagonal-sheared-negative", "sc", "bcc", "fcc",
            "fcc-primitive"]


# ------------------------------------------------------------------ 1. analytic lattices
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", LATTICES)
def test_lattice_cells_equal_volume_per_particle(name, method):
    pos, matrix = lattice(name)
    n = len(pos)
    origin = np.full(len(matrix), -0.37)
    # shift the lattice off the box corner so that points do not sit on the box faces only
    frame = make_frame(pos + 0.21, matrix, origin)
    radii = np.full(n, 0.4) if method == "radical" else None
    cells = cell_measures(frame, radii, method=method)
    assert cells.shape == (n,)
    np.testing.assert_allclose(cells, frame.box.volume / n, rtol=0, atol=1e-10)


def test_single_particle_fills_a_triclinic_box():
    for matrix in ([[3.0, 0.0], [-2.7, 1.9]], [[2.0, 0, 0], [1.9, 1.5, 0], [-0.7, 1.3, 1.1]]):
        frame = make_frame(np.full((1, len(matrix)), 0.3), matrix)
        assert cell_measures(frame)[0] == pytest.approx(frame.box.volume, rel=1e-12)
        assert cell_measures(frame, [0.2], method="radical")[0] == pytest.approx(frame.box.volume, rel=1e-12)


def test_packing_fraction_of_close_packed_lattices():
    pos, matrix = lattice("hexagonal")  # touching discs of radius 1/2
    phi = voronoi_area_fraction(make_frame(pos, matrix), np.full(len(pos), 0.5))
    np.testing.assert_allclose(phi, np.pi / (2 * SQ3), rtol=1e-12)
    rho = voronoi_density(make_frame(pos, matrix))
    np.testing.assert_allclose(rho, 2 / SQ3, rtol=1e-12)
    pos, matrix = lattice("fcc")  # touching spheres: R = a / (2 sqrt 2)
    r = np.full(len(pos), 1.1 / (2 * np.sqrt(2)))
    for method in METHODS:
        phi = voronoi_area_fraction(make_frame(pos, matrix), r, method=method)
        np.testing.assert_allclose(phi, np.pi / (3 * np.sqrt(2)), rtol=1e-12)


# ------------------------------------------------------------------ 2. the cells tile the box
BOXES = {
    "2d-ortho": [[29.0, 0.0], [0.0, 26.0]],
    "2d-tri": [[29.0, 0.0], [-9.5, 26.0]],
    "3d-ortho": [[9.5, 0, 0], [0, 10.0, 0], [0, 0, 9.0]],
    "3d-tri": [[9.5, 0, 0], [2.375, 10.0, 0], [1.125, -2.5, 9.0]],
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("box", BOXES)
def test_cells_sum_to_box_volume(box, method):
    matrix = np.array(BOXES[box])
    n = round(1.2 * np.linalg.det(matrix))
    pos, radii = relaxed(n, matrix)
    frame = make_frame(pos, matrix, origin=np.full(len(matrix), 3.0))
    cells = cell_measures(frame, radii, method=method)
    assert np.all(cells > 0)
    assert cells.sum() == pytest.approx(frame.box.volume, rel=1e-9)
    # and each cell is a sensible fraction of the volume per particle
    assert 0.3 < cells.min() * n / frame.box.volume and cells.max() * n / frame.box.volume < 2.5


@pytest.mark.parametrize("first_skin", [0.0, 0.2])
@pytest.mark.parametrize("d", [2, 3])
def test_poisson_points_and_a_too_short_first_skin(d, first_skin, monkeypatch):
    """Uniform random points have long cells; a first skin far too short (none at all: open
    cells on the hull's rim; a thin one: simplices that images outside would break) must be
    widened by the closure check to the very same answer (no particle, no image missed)."""
    rng = np.random.default_rng(5)
    n = 600 if d == 2 else 300
    matrix = np.diag(np.full(d, 10.0)) + np.triu(rng.uniform(-3, 3, (d, d)), 1).T  # triclinic
    frame = make_frame(rng.random((n, d)) @ matrix, matrix)
    radii = rng.uniform(0.05, 0.1, n)
    ref = {m: cell_measures(frame, radii, method=m) for m in METHODS}
    for m in METHODS:
        assert ref[m].sum() == pytest.approx(frame.box.volume, rel=1e-9)
    calls = []
    images = gv._images

    def counting(*args):
        calls.append(args[1])
        return images(*args)

    monkeypatch.setattr(gv, "_images", counting)
    monkeypatch.setitem(gv._SKIN0, d, first_skin)
    for m in METHODS:
        calls.clear()
        np.testing.assert_allclose(cell_measures(frame, radii, method=m), ref[m], rtol=1e-10, atol=0)
        assert len(calls) >= 2  # the short skin was detected and widened


def test_cells_that_cannot_be_closed_are_an_error(monkeypatch):
    pos, _ = relaxed(300, np.diag([16.0, 16.0]))
    frame = make_frame(pos, np.diag([16.0, 16.0]))
    monkeypatch.setitem(gv._SKIN0, 2, 0.2)
    monkeypatch.setattr(gv, "_MAX_TRIES", 1)
    with pytest.raises(InputError, match="could not close the Voronoi cells") as err:
        cell_measures(frame)
    assert err.value.atom_ids


# ------------------------------------------------------------------ 3. against freud (voro++)
_FREUD_SCRIPT = """
import sys
import numpy as np
import freud
z = np.load(sys.argv[1])
pos, m = z["pos"], z["matrix"]
d = len(m)
if d == 2:
    fbox = freud.box.Box(m[0, 0], m[1, 1], xy=m[1, 0] / m[1, 1], is2D=True)
else:
    fbox = freud.box.Box(m[0, 0], m[1, 1], m[2, 2], xy=m[1, 0] / m[1, 1], xz=m[2, 0] / m[2, 2], yz=m[2, 1] / m[2, 2])
p3 = np.zeros((len(pos), 3))
p3[:, :d] = pos
np.save(sys.argv[2], np.asarray(freud.locality.Voronoi().compute((fbox, p3)).volumes))
"""


def _freud_volumes(tmp_path, pos, matrix):
    """freud's Voronoi volumes, computed in a fresh interpreter: freud's voro++ build crashes when
    loaded in a process that already holds OVITO's libraries (as a pytest-xdist worker may)."""
    import subprocess
    import sys
    src, out = tmp_path / "freud_in.npz", tmp_path / "freud_out.npy"
    np.savez(src, pos=pos, matrix=np.asarray(matrix, dtype=float))
    proc = subprocess.run([sys.executable, "-c", _FREUD_SCRIPT, str(src), str(out)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return np.load(out)


@pytest.mark.parametrize("box", BOXES)
def test_plain_voronoi_matches_freud(box, tmp_path):
    pytest.importorskip("freud")
    matrix = np.array(BOXES[box])  # entries and tilt ratios exact in float32, as freud stores them
    n = round(1.2 * np.linalg.det(matrix))  # ~1000 particles at number density 1.2
    pos, _ = relaxed(n, matrix)
    # freud works in float32 and a box centred on 0: give both codes the same float32 points
    centred = Box(matrix, origin=-0.5 * matrix.sum(axis=0))
    pos = centred.wrap(pos).astype(np.float32).astype(float)
    ref = _freud_volumes(tmp_path, pos, matrix)
    assert ref.sum() == pytest.approx(np.linalg.det(matrix), rel=1e-9)
    cells = cell_measures(make_frame(pos, matrix, centred.origin))
    np.testing.assert_allclose(cells, ref, rtol=0, atol=1e-8)


# ------------------------------------------------------------------ 4. radical cells, brute force
def power_labels(samples, pos, w, matrix, k=12):
    """argmin_j |x - x_j|^2_min-image - w_j for every sample point x, exact.

    A periodic k-d tree (in fractional coordinates of an orthorhombic box) gives the k
    nearest particles; the answer among them is provably the global one when the k-th
    distance d_k satisfies d_k^2 - max(w) >= the best power found (no farther particle can do
    better). The few points where that fails are done over all particles.
    """
    lengths = np.diag(matrix)
    assert np.all(matrix == np.diag(lengths))
    tree = cKDTree(pos % lengths, boxsize=lengths)
    dist, idx = tree.query(samples % lengths, k=k)
    power = dist ** 2 - w[idx]
    best = np.argmin(power, axis=1)
    rows = np.arange(len(samples))
    label = idx[rows, best]
    unsure = dist[:, -1] ** 2 - w.max() < power[rows, best]
    for s in np.flatnonzero(unsure):  # rarely any
        v = pos - samples[s]
        v -= lengths * np.round(v / lengths)
        label[s] = np.argmin((v ** 2).sum(1) - w)
    return label


def bidisperse(n, d, phi, seed=1):
    """50:50 bidisperse packing, radii 0.5 and 0.7, at packing fraction ``phi`` (cube)."""
    unit = np.pi * (0.5 ** 2 + 0.7 ** 2) / 2 if d == 2 else 4 / 3 * np.pi * (0.5 ** 3 + 0.7 ** 3) / 2
    length = (n * unit / phi) ** (1 / d)
    matrix = np.diag(np.full(d, length))
    pos, radii = relaxed(n, matrix, (0.5, 0.7), 0.5, seed)
    return make_frame(pos, matrix), radii


@pytest.mark.parametrize("d, n, grid", [(2, 200, 1000), (3, 100, 80)])
def test_radical_cells_match_stratified_sampling(d, n, grid):
    """Each cell's measure from a jittered grid: one uniform random point per grid cell of side
    h (fixed seed), labelled by brute force. The count is unbiased, and only the grid cells
    that the cell's boundary crosses add variance, at most h^(2d)/4 each (p(1 - p) <= 1/4).
    Their number is estimated from the labels: twice the samples of cell i that have a grid
    neighbour of another label (the band on i's side and on its neighbours'), plus 4. So
    sigma_i^2 = n_band_i h^(2d) / 4, and the tolerance is 5 sigma_i (2D: about 1.5 % of a
    cell, 3D: about 3 %; plain Voronoi cells miss it by 5-20 %)."""
    frame, radii = bidisperse(n, d, 0.80 if d == 2 else 0.55)
    matrix = frame.box.matrix
    length = matrix[0, 0]
    h = length / grid
    rng = np.random.default_rng(11)
    cellidx = np.stack(np.meshgrid(*[np.arange(grid)] * d, indexing="ij"), -1).reshape(-1, d)
    samples = (cellidx + rng.random(cellidx.shape)) * h
    labels = power_labels(samples, frame.positions, radii ** 2, matrix, k=8 if d == 2 else 12)
    labels = labels.reshape((grid,) * d)
    counts = np.bincount(labels.ravel(), minlength=n)
    sampled = counts * h ** d
    band = np.zeros(labels.shape, dtype=bool)
    for axis in range(d):
        for step in (1, -1):
            band |= labels != np.roll(labels, step, axis=axis)
    n_band = np.bincount(labels[band], minlength=n)
    # the band on i's side and on its neighbours' side (each face seen from both cells)
    n_band_total = 2 * n_band + 4
    sigma = np.sqrt(n_band_total * h ** (2 * d) / 4)

    radical = cell_measures(frame, radii, method="radical")
    plain = cell_measures(frame)
    z = (sampled - radical) / sigma
    assert np.all(np.abs(z) < 5), np.abs(z).max()
    assert np.sqrt(np.mean(z ** 2)) < 1.0  # sigma is an upper estimate: about 0.6 is typical
    # the test can tell the two tessellations apart: plain cells fail it for most particles
    assert np.mean(np.abs(sampled - plain) > 5 * sigma) > 0.5
    # large particles take room from small ones
    big = radii == radii.max()
    assert radical[big].mean() > 1.05 * plain[big].mean()
    assert radical[~big].mean() < 0.95 * plain[~big].mean()


def clip_cell(rel_points, w_self, w_other, size):
    """Exact power cell of a particle at the origin: a square of half-side ``size`` clipped
    (Sutherland-Hodgman) by the half-planes x.p <= (|p|^2 + w_self - w_j) / 2."""
    poly = np.array([[-size, -size], [size, -size], [size, size], [-size, size]], dtype=float)
    for p, wj in zip(rel_points, w_other):
        c = 0.5 * (p @ p + w_self - wj)
        s = poly @ p - c  # <= 0 inside
        out = []
        for k in range(len(poly)):
            a, b, sa, sb = poly[k], poly[(k + 1) % len(poly)], s[k], s[(k + 1) % len(poly)]
            if sa <= 0:
                out.append(a)
            if (sa <= 0) != (sb <= 0):
                out.append(a + (b - a) * (sa / (sa - sb)))
        poly = np.array(out)
        if len(poly) == 0:
            return 0.0, 0.0
    x, y = poly[:, 0], poly[:, 1]
    area = 0.5 * float(np.sum(x * np.roll(y, -1) - y * np.roll(x, -1)))
    return area, float(np.sqrt((poly ** 2).sum(1)).max())


def test_radical_cells_match_exact_half_plane_clipping():
    """2D, triclinic: every power cell by clipping with the bisectors of all images of all
    particles within a radius shown afterwards to be enough (rho + sqrt(rho^2 + w_max))."""
    matrix = np.array([[15.0, 0.0], [4.5, 13.0]])
    pos, radii = relaxed(150, matrix, (0.5, 0.7), 0.5, seed=2)
    frame = make_frame(pos, matrix)
    w = radii ** 2
    shifts = np.array(list(product(range(-1, 2), repeat=2)), dtype=float) @ matrix
    images = (pos[None] + shifts[:, None]).reshape(-1, 2)
    owner = np.tile(np.arange(len(pos)), len(shifts))
    tree = cKDTree(images)
    reach = 4.0
    exact = np.empty(len(pos))
    for i in range(len(pos)):
        near = [j for j in tree.query_ball_point(pos[i], reach) if np.any(images[j] != pos[i])]
        exact[i], rho = clip_cell(images[near] - pos[i], w[i], w[owner[near]], reach)
        assert rho + np.sqrt(rho ** 2 + w.max()) < reach  # no farther particle can cut the cell
    assert exact.sum() == pytest.approx(frame.box.volume, rel=1e-9)
    np.testing.assert_allclose(cell_measures(frame, radii, method="radical"), exact, rtol=0, atol=1e-9)
    exact_plain = [clip_cell(images[[j for j in tree.query_ball_point(pos[i], reach)
                                     if np.any(images[j] != pos[i])]] - pos[i], 0.0,
                             np.zeros(len(images)), reach)[0] for i in range(20)]
    np.testing.assert_allclose(cell_measures(frame)[:20], exact_plain, rtol=0, atol=1e-9)


# ------------------------------------------------------------------ 5. invariances
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("box", ["2d-tri", "3d-tri"])
def test_translation_permutation_and_images_change_nothing(box, method):
    matrix = np.array(BOXES[box]) * (0.6 if box.startswith("3d") else 0.5)
    d = len(matrix)
    n = round(1.2 * np.linalg.det(matrix))
    pos, radii = relaxed(n, matrix, seed=3)
    frame = make_frame(pos, matrix)
    ref = cell_measures(frame, radii, method=method)
    rng = np.random.default_rng(4)
    tol = {"rtol": 1e-10, "atol": 0}
    # translation (not a lattice vector), with the box origin moved or not
    shift = rng.uniform(-5, 5, d)
    np.testing.assert_allclose(cell_measures(make_frame(pos + shift, matrix), radii, method=method), ref, **tol)
    np.testing.assert_allclose(cell_measures(make_frame(pos + shift, matrix, origin=shift), radii, method=method),
                               ref, **tol)
    # permutation: the result follows the particles
    perm = rng.permutation(n)
    np.testing.assert_allclose(cell_measures(make_frame(pos[perm], matrix), radii[perm], method=method),
                               ref[perm], **tol)
    # unwrapping by whole box vectors
    images = rng.integers(-3, 4, (n, d))
    np.testing.assert_allclose(cell_measures(make_frame(pos + images @ matrix, matrix), radii, method=method),
                               ref, **tol)
    # densities and area fractions are the same cells
    np.testing.assert_allclose(voronoi_density(frame, radii, method=method), 1 / ref, rtol=1e-12)
    vol = np.pi * radii ** 2 if d == 2 else 4 / 3 * np.pi * radii ** 3
    np.testing.assert_allclose(voronoi_area_fraction(frame, radii, method=method), vol / ref, rtol=1e-12)


# ------------------------------------------------------------------ 6. bad input
def test_bad_input_is_an_input_error():
    pos, matrix = lattice("square")
    frame = make_frame(pos, matrix, source="conf.data", index=3)
    n = len(pos)
    with pytest.raises(InputError, match=r"radii must have shape \(56,\).*got shape \(55,\)") as err:
        cell_measures(frame, np.ones(n - 1), method="radical")
    assert "conf.data, frame 3" in str(err.value)
    with pytest.raises(InputError, match="radii must have shape"):
        voronoi_area_fraction(frame, np.ones((n, 2)))
    r = np.ones(n)
    r[[4, 9]] = [-0.5, 0.0]
    with pytest.raises(InputError, match="radii must be positive") as err:
        cell_measures(frame, r, method="radical")
    assert err.value.atom_ids == [5, 10]
    r[[4, 9]] = [np.nan, 1.0]
    with pytest.raises(InputError, match="positive and finite"):
        voronoi_area_fraction(frame, r)
    with pytest.raises(InputError, match="unknown Voronoi method 'laguerre'"):
        cell_measures(frame, np.ones(n), method="laguerre")
    with pytest.raises(InputError, match="unknown Voronoi method"):
        voronoi_density(frame, method="Voronoi")
    with pytest.raises(InputError, match="needs per-particle radii"):
        cell_measures(frame, method="radical")
    with pytest.raises(InputError, match="needs per-particle radii"):
        voronoi_area_fraction(frame, None)


def test_coincident_particles_and_empty_radical_cells_name_the_atoms():
    pos, matrix = lattice("hexagonal")
    n = len(pos)
    twin = np.vstack([pos, pos[7] + matrix[0]])  # atom 49 sits on an image of atom 8
    for method in METHODS:
        with pytest.raises(InputError, match="coincide") as err:
            cell_measures(make_frame(twin, matrix), np.full(n + 1, 0.4), method=method)
        assert set(err.value.atom_ids) == {8, n + 1}
    # a small particle close to a big one lies wholly in the big one's power cell
    crowd = np.vstack([pos, pos[10] + [0.05, 0.0]])
    radii = np.full(n + 1, 0.5)
    radii[-1] = 0.1
    with pytest.raises(InputError, match="empty radical Voronoi cell") as err:
        cell_measures(make_frame(crowd, matrix), radii, method="radical")
    assert err.value.atom_ids == [n + 1]
    cells = cell_measures(make_frame(crowd, matrix))  # plain Voronoi: it takes half of 11's cell
    assert 0.3 < cells[-1] < 0.5 and 0.3 < cells[10] < 0.5
    assert cells.sum() == pytest.approx(np.linalg.det(matrix), rel=1e-12)


# ------------------------------------------------------------------ the module's own rules
def test_core_module_imports_only_numpy_scipy_and_the_core():
    tree = ast.parse(inspect.getsource(gv))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    allowed = {"__future__", "itertools", "numpy", "scipy.spatial", ".errors", ".frame", ".neighbors"}
    assert names <= allowed, names - allowed
    assert set(gv.__all__) >= {"cell_measures", "voronoi_density", "voronoi_area_fraction"}
