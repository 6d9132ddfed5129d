"""Per-atom descriptors against independent references.

References: O(N^2) brute force over periodic images written here (coordination, density, area
fraction, coarse-graining, Theta, radial structure functions, g(r), pair energies), freud
(``order.Hexatic``, ``order.Steinhardt``), analytic lattices (hexagonal / square psi6, fcc q4
and q6, a triangular lattice at contact has Theta = 0) and the Legendre addition theorem for q_l.
"""
from __future__ import annotations

import os
import sys
from itertools import product

import numpy as np
import pytest
from scipy.special import eval_legendre

from glassdyn import Box, Frame, InputError, get_potential, neighbor_list
from glassdyn import descriptors as D
from glassdyn.adapters.tables import load_table, save_table
from glassdyn.structure import neighbor_cutoffs, partial_rdf, radial_structure_functions

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))  # the shared test helpers in tests/
from frontend_synthetic import relaxed  # noqa: E402

# ============================================================================ configurations


@pytest.fixture(scope="module")
def ka2d():
    return relaxed("ka2d", 300, seed=1)


@pytest.fixture(scope="module")
def ka3d():
    return relaxed("ka3d", 500, seed=2, steps=200)


def triangular(nx: int, ny: int, a: float = 1.0) -> Frame:
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    pos = np.column_stack([((ix + 0.5 * (iy % 2)) * a).ravel(), (iy * a * np.sqrt(3) / 2).ravel()])
    box = Box.orthorhombic([nx * a, ny * a * np.sqrt(3) / 2])
    return Frame(pos + 0.1, np.ones(len(pos), dtype=int), box)


def square(n: int, a: float = 1.0) -> Frame:
    ix, iy = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    pos = np.column_stack([ix.ravel(), iy.ravel()]) * a + 0.05
    return Frame(pos, np.ones(len(pos), dtype=int), Box.orthorhombic([n * a, n * a]))


def fcc(n: int, a: float = 1.5) -> Frame:
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    cells = np.array(list(product(range(n), repeat=3)))
    pos = ((cells[:, None, :] + basis[None]) * a).reshape(-1, 3) + 0.01
    return Frame(pos, np.ones(len(pos), dtype=int), Box.orthorhombic([n * a] * 3))


# ============================================================================ brute force


def brute_vectors(frame: Frame, rmax: float):
    """Every (i, j, r_j - r_i) over periodic images with 0 < r < rmax: O(N^2 x images)."""
    pos, M, d = frame.positions, frame.box.matrix, frame.dimension
    out_i, out_j, out_v = [], [], []
    reach = range(-1, 2) if frame.box.is_orthorhombic else range(-2, 3)
    for s in product(reach, repeat=d):
        shift = np.asarray(s, dtype=float) @ M
        v = pos[None, :, :] + shift - pos[:, None, :]
        r = np.linalg.norm(v, axis=2)
        ok = (r < rmax) & (r > 1e-12)
        ii, jj = np.nonzero(ok)
        out_i.append(ii), out_j.append(jj), out_v.append(v[ii, jj])
    i, j, v = np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_v)
    return i, j, v, np.linalg.norm(v, axis=1)


def brute_neighbours(frame, cut):
    t = frame.types - 1
    i, j, v, r = brute_vectors(frame, float(np.max(cut)))
    keep = r < np.asarray(cut)[t[i], t[j]] if np.ndim(cut) else r < cut
    i, j, v, r = i[keep], j[keep], v[keep], r[keep]
    return [(j[i == k], v[i == k]) for k in range(frame.n_atoms)]


def area(frame, sig):
    diam = np.diag(sig)[frame.types - 1]
    if frame.dimension == 2:
        return np.pi * (diam / 2) ** 2
    return 4 / 3 * np.pi * (diam / 2) ** 3


CUT2 = np.array([[1.4, 1.15], [1.15, 1.3]])
CUT3 = np.array([[1.45, 1.25], [1.25, 1.1]])

# ============================================================================ coordination, density, phi


@pytest.mark.parametrize("case", ["2d", "2d_triclinic", "3d"])
def test_coordination_density_phi_match_brute_force(case, ka2d, ka3d):
    if case == "3d":
        frame, cut, lengths = ka3d, CUT3, (0.7, 1.3, 2.0, 3.1)
    else:
        frame, cut, lengths = ka2d, CUT2, (0.5, 1.2, 2.3, 4.0)
        if case == "2d_triclinic":
            L = frame.box.matrix[0, 0]
            frame = Frame(frame.positions, frame.types, Box(np.array([[L, 0.0], [0.3 * L, L]])))
    pot = get_potential("ka3d" if case == "3d" else "ka2d")
    sig = pot.sigma
    nb = brute_neighbours(frame, cut)
    z_ref = np.array([len(j) for j, _ in nb], dtype=float)
    np.testing.assert_array_equal(D.coordination(frame, cut), z_ref)
    i, j, _, r = brute_vectors(frame, max(lengths))
    a = area(frame, sig)
    unit = np.pi if frame.dimension == 2 else 4 / 3 * np.pi
    rho_ref = np.empty((frame.n_atoms, len(lengths)))
    phi_ref = np.empty_like(rho_ref)
    for k, L in enumerate(lengths):
        m = r < L
        rho_ref[:, k] = (np.bincount(i[m], minlength=frame.n_atoms) + 1) / (unit * L ** frame.dimension)
        phi_ref[:, k] = (np.bincount(i[m], weights=a[j[m]], minlength=frame.n_atoms) + a) / (unit * L ** frame.dimension)
    np.testing.assert_allclose(D.local_density(frame, lengths), rho_ref, rtol=1e-12)
    np.testing.assert_allclose(D.area_fraction(frame, lengths, potential=pot), phi_ref, rtol=1e-12)
    # the feature table holds the same numbers (the disc count is density="disc_count")
    table = D.compute_features(frame, pot, lengths=lengths, descriptors=("rho", "phi", "z"), cutoffs=cut,
                               density="disc_count")
    np.testing.assert_allclose(table[D.feature_name("rho", lengths[1])], rho_ref[:, 1], rtol=1e-12)
    np.testing.assert_allclose(table[D.feature_name("phi", lengths[2])], phi_ref[:, 2], rtol=1e-12)
    # z at the smallest length is the particle's own z where no other particle is that close
    alone = np.isclose(rho_ref[:, 0] * unit * lengths[0] ** frame.dimension, 1.0)
    assert alone.mean() > 0.9
    np.testing.assert_array_equal(table[D.feature_name("z", lengths[0])][alone], z_ref[alone])


def test_unsorted_nonuniform_lengths_use_searchsorted_path(ka2d):
    lengths = [3.3, 0.9, 1.7]
    i, _, _, r = brute_vectors(ka2d, 3.3)
    ref = np.column_stack([np.bincount(i[r < L], minlength=ka2d.n_atoms) + 1 for L in sorted(lengths)])
    np.testing.assert_allclose(D.local_density(ka2d, lengths) * np.pi * np.array(sorted(lengths)) ** 2, ref, rtol=1e-12)


# ============================================================================ coarse-graining


@pytest.mark.parametrize("dim", [2, 3])
def test_coarse_graining_hard_and_exponential_match_brute_force(dim, ka2d, ka3d):
    frame = ka2d if dim == 2 else ka3d
    rng = np.random.default_rng(5)
    X = rng.normal(size=(frame.n_atoms, 2))
    X[3, 1] = np.nan  # undefined values are skipped
    lengths = (0.8, 1.5, 2.5) if dim == 2 else (0.6, 1.1)
    i, j, _, r = brute_vectors(frame, 3 * max(lengths))
    hard = np.empty((frame.n_atoms, 2, len(lengths)))
    expo = np.empty_like(hard)
    for c in range(2):
        x = X[:, c]
        ok = np.isfinite(x)
        x0 = np.where(ok, x, 0)
        for k, L in enumerate(lengths):
            m = r < L
            s = np.bincount(i[m], weights=x0[j[m]], minlength=frame.n_atoms) + x0
            n = np.bincount(i[m], weights=ok[j[m]], minlength=frame.n_atoms) + ok
            with np.errstate(invalid="ignore"):
                hard[:, c, k] = s / n
            m = r < 3 * L
            w = np.exp(-r[m] / L)
            s = np.bincount(i[m], weights=w * x0[j[m]], minlength=frame.n_atoms) + x0
            n = np.bincount(i[m], weights=w * ok[j[m]], minlength=frame.n_atoms) + ok
            expo[:, c, k] = s / n
    np.testing.assert_allclose(D.coarse_grain(frame, X, lengths), hard, rtol=1e-11)
    np.testing.assert_allclose(D.coarse_grain(frame, X, lengths, weighting="exponential"), expo, rtol=1e-11)
    np.testing.assert_allclose(D.coarse_grain(frame, X[:, 0], lengths), hard[:, 0], rtol=1e-11)
    # the feature table uses the same weights for every descriptor
    table = D.compute_features(frame, "ka2d" if dim == 2 else "ka3d", lengths=lengths, descriptors=("e", "z"),
                               cutoffs=CUT2 if dim == 2 else CUT3, weighting="exponential")
    e = D.local_energy(frame, "ka2d" if dim == 2 else "ka3d")
    np.testing.assert_allclose(table[D.feature_name("e", lengths[1])],
                               D.coarse_grain(frame, e, lengths, weighting="exponential")[:, 1], rtol=1e-12)
    assert table.params["exp_truncation"] == 3.0
    # exponential density: weight sum over the truncated weight integral
    L = lengths[-1]
    m = r < 3 * L
    wsum = np.bincount(i[m], weights=np.exp(-r[m] / L), minlength=frame.n_atoms) + 1
    if dim == 2:
        norm = 2 * np.pi * L ** 2 * (1 - np.exp(-3) * 4)
    else:
        norm = 4 * np.pi * L ** 3 * (2 - np.exp(-3) * (9 + 6 + 2))
    rho = D.local_density(frame, lengths, weighting="exponential")[:, -1]
    np.testing.assert_allclose(rho, wsum / norm, rtol=1e-12)
    # averaged over particles it approaches the number density (large truncation -> exact integral)
    assert abs(rho.mean() / (frame.n_atoms / frame.box.volume) - 1) < 0.15


# ============================================================================ psi6


def _freud_system(frame):
    freud = pytest.importorskip("freud")
    Lx, Ly = np.diag(frame.box.matrix)
    box = freud.box.Box(Lx, Ly, is2D=True)
    wrapped = frame.box.wrap(frame.positions) - np.array([Lx, Ly]) / 2
    pts = np.column_stack([wrapped, np.zeros(frame.n_atoms)])
    return freud, box, pts


def test_psi6_equals_freud_hexatic_on_the_same_neighbours(ka2d):
    freud, box, pts = _freud_system(ka2d)
    # per-type cutoffs: hand our bonds to freud
    nl = neighbor_list(ka2d, CUT2)
    fnl = freud.locality.NeighborList.from_arrays(ka2d.n_atoms, ka2d.n_atoms, nl.i, nl.j,
                                                  np.column_stack([nl.vectors, np.zeros(nl.n_pairs)]))
    hexa = freud.order.Hexatic(k=6).compute(system=(box, pts), neighbors=fnl)
    ours = D.hexatic(ka2d, CUT2)
    # freud works in single precision
    np.testing.assert_allclose(ours, np.abs(hexa.particle_order), rtol=0, atol=2e-5)
    np.testing.assert_allclose(D.hexatic(ka2d, CUT2, return_complex=True), hexa.particle_order, atol=2e-5)
    # scalar cutoff: freud finds the neighbours itself
    hexa2 = freud.order.Hexatic(k=6).compute(system=(box, pts), neighbors={"r_max": 1.33})
    np.testing.assert_allclose(D.hexatic(ka2d, 1.33), np.abs(hexa2.particle_order), rtol=0, atol=2e-5)
    assert np.abs(D.hexatic(ka2d, 1.33) - np.abs(hexa.particle_order)).max() > 1e-3  # the cutoff matters
    table = D.compute_features(ka2d, "ka2d", lengths=(0.5,), descriptors=("psi6",), cutoffs=1.33)
    np.testing.assert_allclose(table["psi6_L0.5"], D.hexatic(ka2d, 1.33), rtol=1e-12)


def test_psi6_hexagonal_one_square_zero():
    tri = triangular(12, 14)
    np.testing.assert_allclose(D.hexatic(tri, 1.2), 1.0, atol=1e-12)
    np.testing.assert_allclose(D.coordination(tri, 1.2), 6)
    sq = square(10)
    np.testing.assert_allclose(D.coordination(sq, 1.2), 4)
    np.testing.assert_allclose(D.hexatic(sq, 1.2), 0.0, atol=1e-12)
    # k = 4 order of a square lattice is 1
    np.testing.assert_allclose(D.hexatic(sq, 1.2, k=4), 1.0, atol=1e-12)


# ============================================================================ Steinhardt


def test_q4_q6_fcc_known_values():
    f = fcc(4)
    q = D.steinhardt(f, (4, 6), cutoffs=1.5 * 0.85)  # 12 neighbours at a/sqrt2 = 1.06, next at 1.5
    np.testing.assert_allclose(D.coordination(f, 1.5 * 0.85), 12)
    np.testing.assert_allclose(q[:, 0], 0.190941, atol=1e-6)
    np.testing.assert_allclose(q[:, 1], 0.574524, atol=1e-6)


def test_q6_random_3d_matches_addition_theorem_and_freud(ka3d):
    # q_l^2 = (1/z^2) sum_jk P_l(cos gamma_jk): independent of any spherical-harmonic code
    nb = brute_neighbours(ka3d, CUT3)
    ref = np.empty((ka3d.n_atoms, 2))
    for k, (_, v) in enumerate(nb):
        u = v / np.linalg.norm(v, axis=1, keepdims=True)
        c = np.clip(u @ u.T, -1, 1)
        for c_, l in enumerate((4, 6)):
            ref[k, c_] = np.sqrt(eval_legendre(l, c).sum()) / len(v)
    ours = D.steinhardt(ka3d, (4, 6), CUT3)
    np.testing.assert_allclose(ours, ref, rtol=1e-9)
    np.testing.assert_allclose(D.steinhardt(ka3d, 6, CUT3), ref[:, 1], rtol=1e-9)
    freud = pytest.importorskip("freud")
    L = ka3d.box.matrix[0, 0]
    box = freud.box.Box.cube(L)
    pts = ka3d.box.wrap(ka3d.positions) - L / 2
    nl = neighbor_list(ka3d, CUT3)
    fnl = freud.locality.NeighborList.from_arrays(ka3d.n_atoms, ka3d.n_atoms, nl.i, nl.j, nl.vectors)
    st = freud.order.Steinhardt(6).compute(system=(box, pts), neighbors=fnl)
    np.testing.assert_allclose(ours[:, 1], st.particle_order, rtol=0, atol=2e-5)  # freud: single precision


# ============================================================================ Theta


def brute_theta_2d(frame, cut, sig):
    t = frame.types - 1
    out = np.full(frame.n_atoms, np.nan)
    for i, (js, vs) in enumerate(brute_neighbours(frame, cut)):
        if len(js) < 2:
            continue
        ang = np.arctan2(vs[:, 1], vs[:, 0])
        order = np.argsort(ang)
        devs = []
        for a in range(len(order)):
            p, q = order[a], order[(a + 1) % len(order)]
            gap = (ang[q] - ang[p]) % (2 * np.pi)
            if len(order) == 2 and a == 1:
                gap = 2 * np.pi - (ang[order[1]] - ang[order[0]])
            sij, sik, sjk = sig[t[i], t[js[p]]], sig[t[i], t[js[q]]], sig[t[js[p]], t[js[q]]]
            th1 = np.arccos((sij ** 2 + sik ** 2 - sjk ** 2) / (2 * sij * sik))
            devs.append(abs(gap - th1))
        out[i] = np.mean(devs)
    return out


def brute_theta_3d(frame, cut, sig):
    t = frame.types - 1
    out = np.full(frame.n_atoms, np.nan)
    for i, (js, vs) in enumerate(brute_neighbours(frame, cut)):
        devs = []
        for p in range(len(js)):
            for q in range(p + 1, len(js)):
                rjk = np.linalg.norm(frame.box.minimum_image(vs[q] - vs[p]))
                if rjk >= cut[t[js[p]], t[js[q]]]:
                    continue
                cosang = vs[p] @ vs[q] / (np.linalg.norm(vs[p]) * np.linalg.norm(vs[q]))
                sij, sik, sjk = sig[t[i], t[js[p]]], sig[t[i], t[js[q]]], sig[t[js[p]], t[js[q]]]
                th1 = np.arccos((sij ** 2 + sik ** 2 - sjk ** 2) / (2 * sij * sik))
                devs.append(abs(np.arccos(np.clip(cosang, -1, 1)) - th1))
        if devs:
            out[i] = np.mean(devs)
    return out


def test_theta_2d_matches_brute_force(ka2d):
    sig = get_potential("ka2d").sigma
    ref = brute_theta_2d(ka2d, CUT2, sig)
    np.testing.assert_allclose(D.tong_tanaka(ka2d, CUT2, potential="ka2d"), ref, rtol=1e-10)
    # a user sigma matrix is used instead of the potential's
    sig2 = np.array([[1.0, 0.9], [0.9, 0.8]])
    np.testing.assert_allclose(D.tong_tanaka(ka2d, CUT2, sigma=sig2), brute_theta_2d(ka2d, CUT2, sig2), rtol=1e-10)


def test_theta_3d_matches_brute_force(ka3d):
    sig = get_potential("ka3d").sigma
    ref = brute_theta_3d(ka3d, CUT3, sig)
    ours = D.tong_tanaka(ka3d, CUT3, potential="ka3d")
    np.testing.assert_allclose(ours, ref, rtol=1e-10)
    assert np.isfinite(ours).all()


def test_theta_zero_for_triangular_lattice_at_contact():
    tri = triangular(10, 12, a=1.0)
    th = D.tong_tanaka(tri, 1.2, sigma=1.0)
    np.testing.assert_allclose(th, 0.0, atol=1e-12)
    # a compressed-along-y lattice is not at contact: Theta > 0
    f = Frame(tri.positions * [1.0, 0.9], tri.types, Box.orthorhombic(np.diag(tri.box.matrix) * [1.0, 0.9]))
    assert (D.tong_tanaka(f, 1.2, sigma=1.0) > 0.01).all()


# ============================================================================ energy


@pytest.mark.parametrize("name", ["ka2d", "ternary2d", "ka3d"])
def test_local_energy_matches_pair_sum(name, ka2d, ka3d):
    pot = get_potential(name)
    frame = ka3d if name == "ka3d" else ka2d
    if name == "ternary2d":  # relabel a third of the A particles as C
        types = frame.types.copy()
        types[::3] = 3
        frame = Frame(frame.positions, types, frame.box)
    i, j, _, r = brute_vectors(frame, pot.max_cutoff)
    # the model's formula written out here (SCIENCE.md 1a/1b), not PairPotential.energy
    eps = np.asarray(pot.epsilon)[frame.types[i] - 1, frame.types[j] - 1]
    sg = np.asarray(pot.sigma)[frame.types[i] - 1, frame.types[j] - 1]
    x = r / sg
    v = 4 * eps * (x ** -12 - x ** -6)
    if name == "ternary2d":
        v += 4 * eps * (0.04049023795 - 0.00970155098 * x ** 2 + 0.00062012616 * x ** 4)
    else:
        v -= 4 * eps * (2.5 ** -12 - 2.5 ** -6)
    v[x >= 2.5] = 0.0
    e_ref = np.zeros(frame.n_atoms)
    np.add.at(e_ref, i, 0.5 * v)
    np.testing.assert_allclose(D.local_energy(frame, pot), e_ref, rtol=1e-10, atol=1e-12)
    table = D.compute_features(frame, pot, lengths=(0.5,), descriptors=("e",))
    np.testing.assert_allclose(table["e_L0.5"], e_ref, rtol=1e-10, atol=1e-12)


# ============================================================================ radial structure functions and g(r)


def test_radial_structure_functions_match_brute_force(ka2d):
    mu = np.arange(0.6, 3.01, 0.3)
    i, j, _, r = brute_vectors(ka2d, 4.0)
    ref = np.zeros((ka2d.n_atoms, 2, len(mu)))
    for k, m in enumerate(mu):
        w = np.exp(-((r - m) ** 2) / (2 * 0.15 ** 2)) * (np.abs(r - m) < 5 * 0.15)  # documented truncation
        for b in (1, 2):
            sel = ka2d.types[j] == b
            ref[:, b - 1, k] = np.bincount(i[sel], weights=w[sel], minlength=ka2d.n_atoms)
    values, names = radial_structure_functions(ka2d, mu, 0.15)
    np.testing.assert_allclose(values, ref.reshape(ka2d.n_atoms, -1), rtol=1e-9, atol=1e-9)
    assert names[0] == "G1_mu0.6" and names[len(mu)] == "G2_mu0.6"
    table = D.compute_features(ka2d, "ka2d", descriptors=("rho", "G"), lengths=(1.0,), rsf_mu=mu, rsf_width=0.15)
    np.testing.assert_allclose(table.values[:, 1:], values, rtol=1e-12)


def test_partial_rdf_and_first_minimum_cutoffs(ka2d):
    i, j, _, r = brute_vectors(ka2d, 3.0)
    rr, g = partial_rdf(ka2d, 3.0, 0.05)
    t = ka2d.types
    n_a, n_b = np.sum(t == 1), np.sum(t == 2)
    sel = (t[i] == 1) & (t[j] == 2)
    hist = np.histogram(r[sel], bins=np.arange(0, 3.0001, 0.05))[0]
    shell = np.pi * (np.arange(0.05, 3.0001, 0.05) ** 2 - np.arange(0, 2.9501, 0.05) ** 2)
    np.testing.assert_allclose(g[0, 1], hist / (n_a * n_b / ka2d.box.volume * shell), rtol=1e-12)
    cut, info = neighbor_cutoffs(ka2d, get_potential("ka2d"), return_info=True)
    assert np.allclose(cut, cut.T)
    # a relaxed KA glass has a clear first shell: the minimum sits between the first and second peaks
    for a, b in [(0, 0), (0, 1), (1, 1)]:
        s = get_potential("ka2d").sigma[a, b]
        assert 1.1 * s < cut[a, b] < 1.75 * s, (a, b, cut, info)
    assert info["A-A"] == "first minimum of g(r)"
    # the cutoff is a minimum of the (noisy) brute-force g_AA: fewer pairs there than at the peak
    sel = (t[i] == 1) & (t[j] == 1)
    h = np.histogram(r[sel], bins=np.arange(0, 3.0001, 0.05))[0] / shell
    k = int(cut[0, 0] / 0.05)
    assert h[k] < 0.3 * h.max()
    # an ideal gas has no shell: the fallback 1.45 sigma is used and said so
    rng = np.random.default_rng(0)
    gas = Frame(rng.random((300, 2)) * 15.8, ka2d.types, ka2d.box)
    cut, info = neighbor_cutoffs(gas, get_potential("ka2d"), return_info=True)
    np.testing.assert_allclose(cut, 1.45 * get_potential("ka2d").sigma)
    assert all(v.startswith("fallback") for v in info.values())


# ============================================================================ feature table, invariances


def test_default_feature_set_names_and_params(ka2d, ka3d):
    table = D.compute_features(ka2d, "ka2d")
    assert table.values.shape == (300, 60)
    expected = [f"{d}_L{L}" for d in ("rho", "phi", "e", "psi6", "Theta", "z")
                for L in ("0.5", "1.0", "1.5", "2.0", "2.5", "3.0", "3.5", "4.0", "4.5", "5.0")]
    assert table.names == expected
    assert np.isfinite(table.values).all()
    np.testing.assert_array_equal(table.ids, ka2d.ids)
    p = table.params
    assert p["potential"] == "ka2d" and p["weighting"] == "hard" and p["cutoff_method"]["method"] == "rdf"
    assert p["lengths"] == [0.5 * k for k in range(1, 11)] and "glassdyn_version" in p
    # psi6 at L = 0.5 is the particle's own psi6 at the cutoffs recorded in params
    np.testing.assert_allclose(table["psi6_L0.5"], D.hexatic(ka2d, np.array(p["cutoffs"])), rtol=1e-12)
    t3 = D.compute_features(ka3d, "ka3d", lengths=(0.5, 2.0))
    assert [n.split("_")[0] for n in t3.names[::2]] == ["rho", "phi", "e", "q6", "Theta", "z"]
    np.testing.assert_allclose(t3["q6_L0.5"], D.steinhardt(ka3d, 6, np.array(t3.params["cutoffs"])), rtol=1e-12)


def _table(frame, dim):
    pot = "ka2d" if dim == 2 else "ka3d"
    lengths = (0.5, 1.0, 2.0, 3.5) if dim == 2 else (0.5, 1.5, 2.5)
    return D.compute_features(frame, pot, lengths=lengths, cutoffs=CUT2 if dim == 2 else CUT3).values


@pytest.mark.parametrize("dim", [2, 3])
def test_invariance_translation_rotation_permutation(dim, ka2d, ka3d):
    frame = ka2d if dim == 2 else ka3d
    ref = _table(frame, dim)
    L = frame.box.matrix[0, 0]
    shifted = Frame(frame.positions + np.linspace(3.3, 7.1, dim), frame.types, frame.box)
    np.testing.assert_allclose(_table(shifted, dim), ref, rtol=1e-9, atol=1e-12)
    rot = frame.positions.copy()
    rot[:, 0], rot[:, 1] = L - frame.positions[:, 1], frame.positions[:, 0]  # 90 degrees about z
    np.testing.assert_allclose(_table(Frame(rot, frame.types, frame.box), dim), ref, rtol=1e-9, atol=1e-12)
    perm = np.random.default_rng(3).permutation(frame.n_atoms)
    permuted = frame.take(perm)
    np.testing.assert_allclose(_table(permuted, dim), ref[perm], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dim", [2, 3])
def test_triclinic_box_equals_orthorhombic(dim, ka2d, ka3d):
    frame = ka2d if dim == 2 else ka3d
    M = frame.box.matrix.copy()
    if dim == 2:
        M[1] += M[0]  # b' = b + a: the same periodic lattice
    else:
        M[2] += M[0]  # c' = c + a
    tri = Frame(frame.positions, frame.types, Box(M))
    assert not tri.box.is_orthorhombic
    np.testing.assert_allclose(_table(tri, dim), _table(frame, dim), rtol=1e-9, atol=1e-12)


def test_feature_table_files_roundtrip(ka2d, tmp_path):
    table = D.compute_features(ka2d, "ka2d", lengths=(1.0, 2.0))
    for ext in ("npz", "csv"):
        path = save_table(table, tmp_path / f"t.{ext}")
        back = load_table(path)
        assert back.names == table.names
        np.testing.assert_array_equal(back.ids, table.ids)
        np.testing.assert_array_equal(back.types, table.types)
        np.testing.assert_array_equal(back.values, table.values)  # %.17g round-trips
    assert load_table(tmp_path / "t.npz").params["cutoffs"] == table.params["cutoffs"]
    stacked = D.FeatureTable.concatenate([table, table], frames=[4, 7])
    np.testing.assert_array_equal(stacked.frame, [4] * 300 + [7] * 300)
    z = table.standardized().values
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-10)
    d = table.to_dict()
    np.testing.assert_array_equal(d["Theta_L2.0"], table.values[:, table.names.index("Theta_L2.0")])
    with pytest.raises(KeyError, match="no feature 'nope'"):
        table.column("nope")
    with pytest.raises(InputError, match="unknown table format '.xlsx'"):
        save_table(table, tmp_path / "t.xlsx")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match="writing .parquet needs pandas and pyarrow"):
            save_table(table, tmp_path / "t.parquet")
    else:
        back = load_table(save_table(table, tmp_path / "t.parquet"))
        np.testing.assert_array_equal(back.values, table.values)
        assert back.params["cutoffs"] == table.params["cutoffs"]
    assert not list(tmp_path.glob(".t.*"))  # no temporary files left behind


# ============================================================================ bad input


def test_unknown_types_name_atoms(ka2d):
    types = ka2d.types.copy()
    types[[4, 9]] = 3
    f = Frame(ka2d.positions, types, ka2d.box, source="conf.dump", index=2)
    with pytest.raises(InputError, match=r"conf.dump, frame 2: atom types \[3\] are unknown to potential 'ka2d'.*atom ids: 5, 10"):
        D.compute_features(f, "ka2d")
    with pytest.raises(InputError, match=r"atom types \[3\] have no sigma.*atom ids: 5, 10"):
        D.tong_tanaka(f, 1.3, sigma=np.ones((2, 2)))


def test_length_longer_than_half_box(ka2d):
    small = relaxed("ka2d", 40, steps=20)
    with pytest.raises(InputError, match=r"coarse-graining at L = 5 needs pairs up to 5, longer than half the narrowest box width"):
        D.compute_features(small, "ka2d")
    with pytest.raises(InputError, match="longer than half the narrowest box width"):
        D.coarse_grain(ka2d, np.ones(300), (1.0, 3.0), weighting="exponential")  # 3 x 3.0 = 9 > 7.9
    with pytest.raises(InputError, match="coarse-graining lengths must be positive"):
        D.local_density(ka2d, (0.0, 1.0))


def test_particle_without_neighbours_gets_nan():
    # a hexagon around a centre, a pair, and a lonely particle, in a large box
    ang = np.arange(6) * np.pi / 3
    pos = np.vstack([[5.0, 5.0], 5 + np.column_stack([np.cos(ang), np.sin(ang)]), [[12.0, 12.0], [13.0, 12.0]],
                     [[2.0, 15.0]]])
    f = Frame(pos, np.ones(len(pos), dtype=int), Box.orthorhombic([20.0, 20.0]))
    z = D.coordination(f, 1.1)
    np.testing.assert_array_equal(z, [6, 3, 3, 3, 3, 3, 3, 1, 1, 0])
    psi = D.hexatic(f, 1.1)
    assert psi[0] == pytest.approx(1.0) and np.isnan(psi[9]) and psi[7] == pytest.approx(1.0)
    th = D.tong_tanaka(f, 1.1, sigma=1.0)
    assert th[0] == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(th[7]) and np.isnan(th[8]) and np.isnan(th[9])
    table = D.compute_features(f, "ka2d", lengths=(0.5, 1.5), descriptors=("psi6", "Theta", "z"), cutoffs=1.1)
    assert np.isnan(table["psi6_L1.5"][9]) and np.isnan(table["Theta_L1.5"][9]) and table["z_L1.5"][9] == 0
    # the pair's Theta is undefined for both, so its mean is NaN too; the hexagon's mean skips nothing
    assert np.isnan(table["Theta_L1.5"][7])
    assert np.isfinite(table["Theta_L1.5"][:7]).all()


def test_other_bad_inputs(ka2d, ka3d):
    with pytest.raises(InputError, match="the local energy 'e' needs a pair potential"):
        D.compute_features(ka2d)
    with pytest.raises(InputError, match="psi6 is a 2D descriptor; use q6"):
        D.compute_features(ka3d, "ka3d", descriptors=("psi6",))
    with pytest.raises(InputError, match="unknown or repeated descriptors"):
        D.compute_features(ka2d, "ka2d", descriptors=("rho", "chi"))
    with pytest.raises(InputError, match="unknown weighting 'gauss'"):
        D.compute_features(ka2d, "ka2d", weighting="gauss")
    with pytest.raises(InputError, match="neighbour cutoff 9 is longer than half the box|needs pairs up to 9"):
        D.coordination(ka2d, 9.0)


# ---------------------------------------------------------------------------- per-particle densities
@pytest.mark.parametrize("density", ["radical", "voronoi", "probe"])
@pytest.mark.parametrize("case", ["2d", "3d"])
def test_rho_phi_average_per_particle_densities(density, case, ka2d, ka3d):
    """rho_bar_i(L) = mean over j within L (i included) of rho_j, phi likewise of phi_j = a_j rho_j, with
    rho_j = 1 / cell measure (plain or radical Voronoi, glassdyn.voronoi, itself checked against freud
    and brute force) or the count within the probe radius, all summed here by brute force."""
    from glassdyn.voronoi import cell_measures
    frame = ka3d if case == "3d" else ka2d
    pot = get_potential("ka3d" if case == "3d" else "ka2d")
    lengths = (0.5, 1.3, 2.2)
    a = area(frame, pot.sigma)
    if density == "probe":
        i, j, _, r = brute_vectors(frame, 1.5)
        m = r < 1.5
        unit = np.pi * 1.5 ** 2 if frame.dimension == 2 else 4 / 3 * np.pi * 1.5 ** 3
        rho_j = (np.bincount(i[m], minlength=frame.n_atoms) + 1) / unit
        phi_j = (np.bincount(i[m], weights=a[j[m]], minlength=frame.n_atoms) + a) / unit
    else:
        cells = cell_measures(frame, 0.5 * np.diag(pot.sigma)[frame.types - 1], method=density)
        rho_j, phi_j = 1.0 / cells, a / cells
    i, j, _, r = brute_vectors(frame, max(lengths))
    table = D.compute_features(frame, pot, lengths=lengths, descriptors=("rho", "phi"), density=density)
    assert table.params["density"] == density
    for L in lengths:
        m = r < L
        n = np.bincount(i[m], minlength=frame.n_atoms) + 1
        rho_ref = (np.bincount(i[m], weights=rho_j[j[m]], minlength=frame.n_atoms) + rho_j) / n
        phi_ref = (np.bincount(i[m], weights=phi_j[j[m]], minlength=frame.n_atoms) + phi_j) / n
        np.testing.assert_allclose(table[D.feature_name("rho", L)], rho_ref, rtol=1e-10)
        np.testing.assert_allclose(table[D.feature_name("phi", L)], phi_ref, rtol=1e-10)
    # unlike the disc count, rho at L = 0.5 varies from particle to particle
    assert np.std(table["rho_L0.5"]) > 0.02 * np.mean(table["rho_L0.5"])


def test_lattice_density_is_one_over_the_cell_area_at_every_length():
    m = 12
    g = np.stack(np.meshgrid(np.arange(m), np.arange(m), indexing="ij"), -1).reshape(-1, 2) * 1.1
    frame = Frame(g, np.ones(m * m, dtype=int), Box.orthorhombic([1.1 * m, 1.1 * m]))
    for density in ("radical", "voronoi"):
        t = D.compute_features(frame, None, lengths=(0.5, 2.0, 4.0), descriptors=("rho", "phi"), density=density,
                               sigma=1.0)
        np.testing.assert_allclose(t.values[:, :3], 1 / 1.21, rtol=1e-10)
        np.testing.assert_allclose(t.values[:, 3:], np.pi * 0.25 / 1.21, rtol=1e-10)


def test_old_parameters_mean_the_disc_count(ka2d):
    """Tables and model files written before per-particle densities recompute the old rho."""
    old = D.compute_features(ka2d, "ka2d", lengths=(1.0,), descriptors=("rho", "z"), density="disc_count")
    params = {k: v for k, v in old.params.items() if k != "density"}
    again = D.features_from_params(ka2d, params)
    np.testing.assert_array_equal(again.values, old.values)
    with pytest.raises(InputError, match="unknown per-particle density"):
        D.compute_features(ka2d, "ka2d", density="mass")
