"""Random windows, window images and k-nearest-neighbour graphs (numpy and scipy only)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from glassdyn.errors import InputError
from glassdyn.frame import Box, Frame
from glassdyn.windows import DEFAULT_COLOURS, Window, knn_graph, random_windows, scaled_positions, window_image
from scipy import stats

ORANGE = DEFAULT_COLOURS[1]
BLUE = DEFAULT_COLOURS[2]


def _frame(n=3000, box=(30.0, 20.0), seed=0, tilt=0.0, source="synthetic.dump", index=3):
    rng = np.random.default_rng(seed)
    m = np.array([[box[0], 0.0], [tilt, box[1]]])
    frac = rng.uniform(-0.2, 1.2, size=(n, 2))  # some atoms outside the primary cell: windows wrap them
    types = np.where(rng.random(n) < 0.65, 1, 2)
    return Frame(frac @ m, types, Box(m), source=source, index=index)


# ============================================================================ windows
@pytest.mark.parametrize("tilt", [0.0, 7.5])
def test_window_selection_matches_brute_force(tilt):
    frame = _frame(tilt=tilt)
    windows = random_windows(frame, 40, (0.1, 0.3), seed=11)
    inv = np.linalg.inv(frame.box.matrix)
    for w in windows:
        inside = []
        for i, r in enumerate(frame.positions):  # brute force, one particle at a time
            s = (r - frame.box.origin) @ inv
            s = s - np.floor(s)
            if w.origin[0] <= s[0] < w.origin[0] + w.side and w.origin[1] <= s[1] < w.origin[1] + w.side:
                inside.append(i)
        assert w.indices.tolist() == inside
        assert w.n > 0
        assert np.all(w.contains(scaled_positions(frame)[w.indices]))
        # nothing outside was selected
        rest = np.setdiff1d(np.arange(frame.n_atoms), w.indices)
        assert not np.any(w.contains(scaled_positions(frame)[rest]))


def test_window_side_and_origin_distribution():
    rng = np.random.default_rng(3)
    frame = Frame(rng.uniform(0, 60, (20000, 2)), np.ones(20000, int), Box.orthorhombic([60.0, 60.0]))
    ws = random_windows(frame, 3000, (0.1, 0.3), seed=5)
    sides = np.array([w.side for w in ws])
    origins = np.array([w.origin for w in ws])
    assert sides.min() >= 0.1 and sides.max() <= 0.3
    assert sides.min() < 0.102 and sides.max() > 0.298
    assert stats.kstest((sides - 0.1) / 0.2, "uniform").pvalue > 1e-3
    assert np.all(origins >= 0.0) and np.all(origins <= 1.0 - sides[:, None] + 1e-15)
    # x0 ~ U[0, 1 - w]: the reduced origin is uniform on [0, 1]
    assert stats.kstest(origins[:, 0] / (1.0 - sides), "uniform").pvalue > 1e-3
    assert stats.kstest(origins[:, 1] / (1.0 - sides), "uniform").pvalue > 1e-3
    # about side**2 * N particles per window (uniform density)
    counts = np.array([w.n for w in ws])
    ratio = counts / (sides ** 2 * 20000)
    assert abs(np.median(ratio) - 1.0) < 0.05


def test_fixed_side_and_whole_frame():
    frame = _frame()
    ws = random_windows(frame, 10, 0.25, seed=1)
    assert all(w.side == 0.25 for w in ws)
    (whole,) = random_windows(frame, 1, 1.0, seed=0)
    assert whole.n == frame.n_atoms and np.array_equal(whole.origin, [0.0, 0.0])


def test_seed_reproduces_windows():
    frame = _frame()
    a = random_windows(frame, 20, (0.1, 0.3), seed=42)
    b = random_windows(frame, 20, (0.1, 0.3), seed=42)
    c = random_windows(frame, 20, (0.1, 0.3), seed=43)
    assert a == b
    assert a != c
    assert all(isinstance(w, Window) for w in a)
    with pytest.raises(ValueError):
        a[0].indices[0] = 5  # read-only


def test_refuses_3d_frames_and_empty_windows():
    rng = np.random.default_rng(0)
    f3 = Frame(rng.uniform(0, 5, (50, 3)), np.ones(50, int), Box.orthorhombic([5, 5, 5]),
               source="three_d.data", index=7)
    with pytest.raises(InputError, match=r"three_d\.data.*frame 7.*2D"):
        random_windows(f3, 1, seed=0)
    sparse = Frame([[1.0, 1.0], [50.0, 50.0]], [1, 2], Box.orthorhombic([100.0, 100.0]),
                   source="sparse.dump", index=2)
    with pytest.raises(InputError, match=r"sparse\.dump.*frame 2.*no particle"):
        random_windows(sparse, 50, 0.01, seed=0)
    with pytest.raises(InputError):
        random_windows(sparse, 1, (0.3, 0.1), seed=0)
    with pytest.raises(InputError):
        random_windows(sparse, 1, 1.5, seed=0)


# ============================================================================ images
def _single(type_, at=(5.0, 5.0), box=10.0):
    return Frame([at], [type_], Box.orthorhombic([box, box]), source="one.dump", index=0)


@pytest.mark.parametrize("type_,radius,colour", [(1, 0.5, ORANGE), (2, 0.44, BLUE)])
def test_single_particle_makes_a_disc_of_the_right_size(type_, radius, colour):
    frame = _single(type_)
    w = Window([0], (0.25, 0.25), 0.5)  # 5 x 5 length units around the particle
    pixels = 200
    img = window_image(frame, w, pixels)
    assert img.shape == (pixels, pixels, 3) and img.dtype == np.uint8
    r_px = radius / 5.0 * pixels  # 20 px and 17.6 px
    coloured = np.all(img == colour, axis=2)
    white = np.all(img == 255, axis=2)
    assert np.all(coloured | white)  # only the particle colour on a white background
    area = coloured.sum()
    assert abs(area - np.pi * r_px ** 2) < 0.02 * np.pi * r_px ** 2
    rows, cols = np.nonzero(coloured)
    assert abs(rows.mean() - (pixels - 1) / 2) < 0.5 and abs(cols.mean() - (pixels - 1) / 2) < 0.5
    assert (rows.max() - rows.min() + 1) == pytest.approx(2 * r_px, abs=1.5)


def test_image_orientation_and_determinism():
    # one particle near the upper-left corner of the window: top rows, left columns
    frame = Frame([[3.0, 7.0], [7.0, 3.0]], [1, 2], Box.orthorhombic([10.0, 10.0]))
    w = Window([0, 1], (0.2, 0.2), 0.6)
    img = window_image(frame, w, 60)
    orange = np.all(img == ORANGE, axis=2)
    blue = np.all(img == BLUE, axis=2)
    r, c = np.nonzero(orange)
    assert r.mean() < 20 and c.mean() < 20
    r, c = np.nonzero(blue)
    assert r.mean() > 40 and c.mean() > 40
    assert np.array_equal(img, window_image(frame, w, 60))
    # custom colours
    img2 = window_image(frame, w, 60, colours={1: (0, 0, 0), 2: (0, 255, 0)})
    assert np.array_equal(np.all(img2 == (0, 0, 0), axis=2), orange)


def test_overlapping_discs_take_the_last_particle():
    frame = Frame([[5.0, 5.0], [5.2, 5.0]], [1, 2], Box.orthorhombic([10.0, 10.0]))
    img = window_image(frame, Window([0, 1], (0.25, 0.25), 0.5), 100)
    assert np.all(img[50, 50] == BLUE)  # both discs cover the centre: the later (type 2) wins


# ============================================================================ knn graphs
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_knn_graph_matches_brute_force(k):
    rng = np.random.default_rng(k)
    pos = rng.uniform(0, 10, size=(150, 2))
    src, dst, dist = knn_graph(pos, k)
    d = np.sqrt(((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1))  # O(N^2)
    np.fill_diagonal(d, np.inf)
    expected = set()
    for i in range(len(pos)):
        for j in np.argsort(d[i])[:k]:
            expected.add((i, int(j)))
            expected.add((int(j), i))
    got = list(zip(src.tolist(), dst.tolist()))
    assert len(got) == len(set(got))  # no duplicates
    assert set(got) == expected
    assert np.allclose(dist, d[src, dst])
    assert np.all(src != dst)


def test_knn_graph_small_sets():
    src, dst, dist = knn_graph([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]], 5)  # fewer points than k
    assert sorted(zip(src.tolist(), dst.tolist())) == [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
    src, dst, dist = knn_graph([[0.0, 0.0]], 2)
    assert src.size == dst.size == dist.size == 0
    with pytest.raises(InputError):
        knn_graph([[0.0, 0.0], [1.0, 1.0]], 0)


# ============================================================================ optional torch
def test_deep_subpackage_without_torch_says_how_to_install():
    code = textwrap.dedent("""
        import sys

        class NoTorch:  # as if torch were not installed
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NoTorch())
        sys.modules.pop("torch", None)
        try:
            import glassdyn.deep
        except ImportError as exc:
            print("IMPORTERROR:", exc)
        else:
            print("IMPORTED")
        import glassdyn.windows  # the core keeps working
        print("CORE OK")
    """)
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert out.returncode == 0, out.stderr
    assert ("IMPORTERROR: the deep-learning models need the 'deep' extra: "
            "pip install 'glassdyn[deep]'") in out.stdout
    assert "CORE OK" in out.stdout
