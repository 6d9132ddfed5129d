"""Core dynamics (glassdyn.dynamics) against analytic and brute-force references."""
from __future__ import annotations

import math

import numpy as np
import pytest

from glassdyn import Box, Frame, InputError
from glassdyn.dynamics import (
    DEFAULT_Q, bond_breaking, cage_operator, cage_relative, displacements, find_jumps, first_peak_q,
    propensity, self_intermediate_scattering, structure_factor, tau_alpha, time_label, unwrap,
)


def liquid_like(n=300, d=2, seed=0, density=1.2):
    """Random points with a minimum separation-free layout: a jittered lattice in a periodic box."""
    rng = np.random.default_rng(seed)
    m = int(round(n ** (1 / d)))
    n = m ** d
    L = (n / density) ** (1 / d)
    grid = np.stack(np.meshgrid(*[np.arange(m)] * d, indexing="ij"), -1).reshape(-1, d) * (L / m)
    pos = grid + rng.normal(0, 0.08, grid.shape)
    types = np.where(rng.random(n) < 0.65, 1, 2)
    box = Box.orthorhombic([L] * d)
    return Frame(box.wrap(pos), types, box)


def brute_neighbors(frame, cut):
    """Neighbour sets by an O(N^2) minimum-image distance matrix."""
    pos = frame.positions
    L = np.diag(frame.box.matrix)
    v = pos[None, :, :] - pos[:, None, :]
    v -= L * np.round(v / L)
    dist = np.linalg.norm(v, axis=-1)
    np.fill_diagonal(dist, np.inf)
    return dist < cut, v


# ----------------------------------------------------------------------------- displacements
@pytest.mark.parametrize("d", [2, 3])
def test_rigid_translation_gives_zero_displacement_and_propensity(d):
    frame = liquid_like(n=300 if d == 2 else 343, d=d)
    rng = np.random.default_rng(1)
    R, T = 3, 4
    shifts = rng.normal(0, 2.0, (R, T, 1, d))  # a different rigid shift per replica and time
    traj = frame.positions[None, None] + shifts
    dr = displacements(traj, frame.positions)
    assert np.abs(dr).max() < 1e-12
    assert np.abs(propensity(dr)).max() < 1e-24
    # without drift removal the displacement is the shift itself ...
    raw = displacements(traj, frame.positions, drift=False)
    assert np.allclose(raw, np.broadcast_to(shifts, raw.shape))
    assert np.allclose(propensity(raw), (shifts[..., 0, :] ** 2).sum(-1).mean(0)[:, None])
    # ... and the cage-relative displacement is zero anyway
    cage = cage_operator(frame, 1.5)
    assert cage.nnz > 4 * frame.n_atoms  # every atom has a cage
    assert np.abs(cage_relative(raw, cage)).max() < 1e-12
    # bond breaking ignores a rigid translation: every bond is kept
    assert np.all(bond_breaking(frame, raw, r_in=1.4, r_out=1.8) == 1.0)


def test_drift_removal_matches_brute_force():
    rng = np.random.default_rng(2)
    traj = rng.normal(0, 1, (2, 3, 50, 3))
    origin = rng.normal(0, 1, (2, 50, 3))
    dr = displacements(traj, origin)
    for r in range(2):
        for t in range(3):
            ref = traj[r, t] - origin[r]
            ref = ref - ref.mean(axis=0)
            assert np.allclose(dr[r, t], ref)


def test_images_give_the_same_displacements_as_unwrapped():
    rng = np.random.default_rng(3)
    for box in (Box.orthorhombic([7.0, 9.0]), Box(np.array([[7.0, 0.0], [2.5, 6.0]]), origin=[-1.0, 3.0])):
        n, T = 60, 6
        start = box.to_cartesian(rng.random((n, 2)))
        steps = rng.normal(0, 3.0, (T, n, 2))  # big steps: many atoms cross boundaries, some several boxes
        steps[0] = 0
        unw = start + np.cumsum(steps, axis=0)
        wrapped = box.wrap(unw)
        images = np.rint(box.to_fractional(unw) - box.to_fractional(wrapped)).astype(int)
        assert np.abs(images).max() >= 2
        rebuilt = unwrap(wrapped, images, box)
        assert np.allclose(rebuilt, unw)
        assert np.allclose(displacements(rebuilt[None]), displacements(unw[None]))


def test_find_jumps_flags_boundary_crossers():
    box = Box.orthorhombic([10.0, 10.0])
    a = np.array([[0.1, 5.0], [5.0, 5.0], [9.9, 9.9]])
    b = np.array([[9.95, 5.0], [5.3, 5.2], [9.8, 0.05]])
    assert find_jumps(a, b, box).tolist() == [True, False, True]


# ----------------------------------------------------------------------------- cages
def test_cage_relative_matches_brute_force():
    frame = liquid_like(n=144, seed=4)
    cut = np.array([[1.5, 1.2], [1.2, 1.32]])
    cage = cage_operator(frame, cut)
    nb, _ = brute_neighbors(frame, cut[frame.types[:, None] - 1, frame.types[None, :] - 1])
    rng = np.random.default_rng(5)
    dr = rng.normal(0, 0.5, (2, 3, frame.n_atoms, 2))
    got = cage_relative(dr, cage)
    for i in range(frame.n_atoms):
        js = np.flatnonzero(nb[i])
        assert len(js) > 0
        assert np.allclose(got[:, :, i], dr[:, :, i] - dr[:, :, js].mean(axis=2))


def test_cage_cutoff_from_potential_is_1p5_sigma():
    frame = liquid_like(n=144, seed=6)
    a = cage_operator(frame, potential="ka2d")
    sig = np.array([[1.0, 0.8], [0.8, 0.88]])
    b = cage_operator(frame, 1.5 * sig)
    assert (a != b).nnz == 0
    with pytest.raises(InputError, match="potential"):
        cage_operator(frame)


# ----------------------------------------------------------------------------- propensity
def test_propensity_is_replica_mean_of_squared_and_absolute_displacement():
    rng = np.random.default_rng(7)
    dr = rng.normal(0, 1, (5, 2, 40, 2))
    sq = (dr ** 2).sum(-1)
    assert np.allclose(propensity(dr), sq.mean(0))
    assert np.allclose(propensity(dr, absolute=True), np.sqrt(sq).mean(0))
    with pytest.raises(InputError, match=r"\(R, T, N, d\)"):
        propensity(dr[0])


# ----------------------------------------------------------------------------- bond breaking
def test_bond_breaking_is_one_when_nothing_moves():
    frame = liquid_like(seed=8)
    dr = np.zeros((3, 2, frame.n_atoms, 2))
    cb = bond_breaking(frame, dr, potential="ka2d")
    assert np.all(cb == 1.0)


def test_bond_breaking_is_zero_when_every_neighbour_leaves():
    # a 10 x 10 square-lattice cluster in the middle of a large box, blown up threefold
    g = np.stack(np.meshgrid(np.arange(10.0), np.arange(10.0), indexing="ij"), -1).reshape(-1, 2)
    box = Box.orthorhombic([200.0, 200.0])
    pos = g + 95.0
    frame = Frame(pos, np.ones(len(pos), int), box)
    centre = pos.mean(0)
    dr = np.stack([np.zeros_like(pos), 2.0 * (pos - centre)])[None]  # t=0 and t=1 (factor 3)
    cb = bond_breaking(frame, dr, r_in=1.4, r_out=1.8)
    assert np.all(cb[0] == 1.0)
    assert np.all(cb[1] == 0.0)


def test_bond_breaking_matches_brute_force_across_boundaries():
    frame = liquid_like(n=121, seed=9)
    rng = np.random.default_rng(10)
    R, T = 3, 2
    dr = rng.normal(0, 0.45, (R, T, frame.n_atoms, 2))
    sig = np.array([[1.0, 0.8], [0.8, 0.88]])
    t = frame.types
    pair_sig = sig[t[:, None] - 1, t[None, :] - 1]
    nb0, _ = brute_neighbors(frame, 1.4 * pair_sig)
    L = np.diag(frame.box.matrix)
    expected = np.zeros((T, frame.n_atoms))
    for r in range(R):
        for k in range(T):
            p = frame.positions + dr[r, k]  # positions at t (any image: minimum image below)
            v = p[None, :, :] - p[:, None, :]
            v -= L * np.round(v / L)
            still = (np.linalg.norm(v, axis=-1) < 1.8 * pair_sig) & nb0
            expected[k] += still.sum(1) / nb0.sum(1)
    expected /= R
    got = bond_breaking(frame, dr, potential="ka2d")
    assert 0.2 < expected.mean() < 0.99  # some, not all, bonds broke
    assert np.allclose(got, expected)


def test_bond_breaking_nan_for_isolated_atom():
    box = Box.orthorhombic([20.0, 20.0])
    frame = Frame(np.array([[1.0, 1.0], [2.0, 1.0], [10.0, 10.0]]), np.ones(3, int), box)
    cb = bond_breaking(frame, np.zeros((2, 1, 3, 2)), r_in=1.4, r_out=1.8)
    assert cb[0, :2].tolist() == [1.0, 1.0] and np.isnan(cb[0, 2])


# ----------------------------------------------------------------------------- F_s(q, t)
@pytest.mark.parametrize("d", [2, 3])
def test_fs_of_gaussian_displacements_matches_analytic(d):
    # Each Cartesian component ~ N(0, s^2): <exp(i q.dr)> = exp(-q^2 s^2 / 2) in any direction, so the
    # isotropic average (J0 in 2D, sin x / x in 3D) is the same, and with <|dr|^2> = d s^2 this is
    # exp(-q^2 <|dr|^2> / 4) in 2D and exp(-q^2 <|dr|^2> / 6) in 3D.
    rng = np.random.default_rng(11 + d)
    q = 6.28
    s = np.array([0.05, 0.15, 0.25, 0.35])
    R, N = 4, 40_000
    dr = rng.normal(0, 1, (R, len(s), N, d)) * s[None, :, None, None]
    fs = self_intermediate_scattering(dr, q)
    msd = (dr ** 2).sum(-1).mean(axis=(0, 2))
    analytic = np.exp(-q ** 2 * msd / (2 * d))
    assert np.allclose(msd, d * s ** 2, rtol=0.02)
    assert np.allclose(fs, analytic, atol=0.006)
    assert np.allclose(fs, np.exp(-q ** 2 * s ** 2 / 2), atol=0.008)


def test_fs_per_type_and_per_replica_brute_force():
    from scipy.special import j0
    rng = np.random.default_rng(13)
    dr = rng.normal(0, 0.3, (3, 2, 30, 2))
    types = np.array([1, 3] * 15)  # type 2 absent -> NaN row
    fs = self_intermediate_scattering(dr, 5.0, types=types, per_replica=True)
    x = j0(5.0 * np.linalg.norm(dr, axis=-1))  # (R, T, N)
    assert np.allclose(fs[:, 0], x.mean(-1))
    assert np.allclose(fs[:, 1], x[..., types == 1].mean(-1))
    assert np.all(np.isnan(fs[:, 2]))
    assert np.allclose(fs[:, 3], x[..., types == 3].mean(-1))
    d3 = rng.normal(0, 0.3, (2, 2, 30, 3))
    d3[0, 0, 0] = 0.0  # |dr| = 0 -> sin(x)/x = 1
    r = np.linalg.norm(d3, axis=-1) * 5.0
    with np.errstate(invalid="ignore"):
        ref = np.where(r > 0, np.sin(r) / r, 1.0).mean((0, 2))
    assert np.allclose(self_intermediate_scattering(d3, 5.0), ref)


# ----------------------------------------------------------------------------- tau_alpha
def test_tau_alpha_interpolates_in_log_time():
    t = np.array([0.0, 1.0, 10.0, 100.0, 1000.0])
    f = np.array([1.0, 0.9, 0.5, 0.2, 0.05])
    w = (0.5 - 1 / math.e) / (0.5 - 0.2)
    assert tau_alpha(t, f) == pytest.approx(10 ** (1 + w))
    # an exponential sampled densely in log t gives its relaxation time
    tt = np.logspace(-2, 3, 400)
    assert tau_alpha(tt, np.exp(-tt / 7.0)) == pytest.approx(7.0, rel=1e-3)
    # the crossing in the first interval from t = 0 is linear in t
    assert tau_alpha(np.array([0.0, 2.0]), np.array([1.0, 0.0])) == pytest.approx(2.0 * (1 - 1 / math.e))


def test_tau_alpha_nan_with_warning_when_never_crossed():
    with pytest.warns(RuntimeWarning, match="stays above"):
        assert math.isnan(tau_alpha(np.array([0.0, 1.0, 2.0]), np.array([1.0, 0.9, 0.8])))


# ----------------------------------------------------------------------------- S(q)
def test_structure_factor_matches_double_sum():
    from glassdyn.dynamics import _lattice_vectors
    frame = liquid_like(n=100, seed=14)
    q, s = structure_factor(frame, q_range=(3.0, 9.0), n_bins=12, per_bin=4, seed=3)
    k = _lattice_vectors(frame.box, 3.0, 9.0, 12, 4, 3)
    diff = frame.positions[:, None, :] - frame.positions[None, :, :]
    sk = np.array([np.cos(diff @ kk).sum() / frame.n_atoms for kk in k])
    bins = np.minimum(((np.linalg.norm(k, axis=1) - 3.0) / 6.0 * 12).astype(int), 11)
    ref = np.array([sk[bins == b].mean() if np.any(bins == b) else np.nan for b in range(12)])
    assert np.allclose(s, ref, equal_nan=True)
    # lattice vectors are reciprocal-lattice vectors of the box: exp(i k.L) = 1
    assert np.allclose(np.cos(k @ frame.box.matrix.T), 1.0)


def test_first_peak_of_triangular_lattice():
    a = 1.0
    nx, ny = 12, 14
    pts = [(i * a + (j % 2) * a / 2, j * a * math.sqrt(3) / 2) for i in range(nx) for j in range(ny)]
    box = Box.orthorhombic([nx * a, ny * a * math.sqrt(3) / 2])
    frame = Frame(np.array(pts) + 0.01, np.ones(len(pts), int), box)
    q = first_peak_q(frame, q_range=(3.0, 10.0), smooth=1)
    assert q == pytest.approx(4 * math.pi / (math.sqrt(3) * a), abs=0.04)
    assert DEFAULT_Q == pytest.approx(2 * math.pi)


def test_time_label():
    assert time_label(10.0) == "10"
    assert time_label(0.5) == "0p5"
    assert time_label(0.005 * 3) == "0p015"


def test_bad_arguments():
    frame = liquid_like(n=64)
    with pytest.raises(InputError, match="wave number"):
        self_intermediate_scattering(np.zeros((2, 1, 64, 2)), -1.0)
    with pytest.raises(InputError, match="cutoff must be positive"):
        cage_operator(frame, -1.0)
    with pytest.raises(InputError, match="does not match"):
        cage_relative(np.zeros((2, 10, 2)), cage_operator(frame, 1.5))
