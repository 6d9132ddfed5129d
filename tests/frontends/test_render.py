"""Pictures: OVITO renders headless, colours follow the property, CLI errors are clear."""
from __future__ import annotations

import numpy as np
import pytest

from glassdyn import Box, Frame
from glassdyn.adapters.lammps_dump import write_dump

ovito = pytest.importorskip("ovito")
PIL = pytest.importorskip("PIL.Image")

pytestmark = pytest.mark.ovito


def _pixels(path):
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB"), dtype=float)


def _frame(dimension=2, n=300, seed=0):
    rng = np.random.default_rng(seed)
    L = 18.0
    pos = rng.uniform(0, L, (n, dimension))
    types = 1 + (rng.random(n) < 0.35)
    # the property increases from left to right: x / L in [0, 1]
    return Frame(pos, types, Box.orthorhombic([L] * dimension), source="mem",
                 properties={"Theta_L2.0": pos[:, 0] / L, "noise": rng.random(n)})


@pytest.fixture
def dump2d(tmp_path):
    path = tmp_path / "config.dump"
    write_dump(path, [_frame(seed=0), _frame(seed=1)])
    return path


def _left_right_colours(img):
    """Mean RGB of the coloured (saturated) pixels in the leftmost and rightmost fifth of the map."""
    sat = img.max(axis=2) - img.min(axis=2)
    mask = sat > 40
    cols = np.flatnonzero(mask.any(axis=0))
    c0, c1 = cols.min(), cols.max()
    band = (c1 - c0) // 5
    left = img[:, c0: c0 + band][mask[:, c0: c0 + band]]
    right = img[:, c1 - band: c1 + 1][mask[:, c1 - band: c1 + 1]]
    return left.mean(axis=0), right.mean(axis=0)


def test_render_dump_not_blank_and_colours_follow_property(dump2d, tmp_path):
    from glassdyn.plots.render import render_property

    out = render_property(dump2d, "Theta_L2.0", tmp_path / "theta.png", size=(480, 360))
    img = _pixels(out)
    assert img.shape == (360, 480, 3)
    colours = np.unique(img.reshape(-1, 3).astype(np.uint8), axis=0)
    assert len(colours) > 50, "a colour-coded map has many distinct colours"
    assert img.std() > 30.0, "pixel values vary: not a blank image"
    # viridis: low values dark purple (blue > green), high values yellow (green, red high)
    left, right = _left_right_colours(img[:, : int(480 * 0.8)])  # leave the legend out
    assert right[1] > left[1] + 30, (left, right)       # more green to the right (x grows)
    # nothing half written is left behind
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_render_frame_index_and_tachyon(dump2d, tmp_path):
    from glassdyn.plots.render import render_property

    a = _pixels(render_property(dump2d, "noise", tmp_path / "f0.png", frame=0, size=(200, 160), renderer="tachyon"))
    b = _pixels(render_property(dump2d, "noise", tmp_path / "f1.png", frame=1, size=(200, 160), renderer="tachyon"))
    assert a.std() > 20 and b.std() > 20
    assert np.abs(a - b).mean() > 1.0, "frame 1 holds other positions: the picture must differ"


def test_render_3d_frame(tmp_path):
    from glassdyn.plots.render import render_property

    fr = _frame(dimension=3, n=200)
    img = _pixels(render_property(fr, "noise", tmp_path / "r3.png", size=(240, 200), cmap="magma"))
    assert len(np.unique(img.reshape(-1, 3).astype(np.uint8), axis=0)) > 50
    assert img.std() > 20


def test_matplotlib_colour_map_name(tmp_path):
    from glassdyn.plots.render import render_property

    fr = _frame()
    img = _pixels(render_property(fr, "Theta_L2.0", tmp_path / "cw.png", size=(300, 240), cmap="coolwarm"))
    left, right = _left_right_colours(img[:, : int(300 * 0.8)])
    # coolwarm: blue at low values (left), red at high values (right)
    assert left[2] > left[0] and right[0] > right[2], (left, right)


def test_cli_render(dump2d, tmp_path, capsys):
    from glassdyn.cli import main

    out = tmp_path / "cli.png"
    rc = main(["render", str(dump2d), "--property", "Theta_L2.0", "-o", str(out), "--frame", "1",
               "--size", "320x240", "--cmap", "viridis"])
    assert rc == 0
    img = _pixels(out)
    assert img.shape == (240, 320, 3) and img.std() > 20


def test_cli_render_missing_property(dump2d, tmp_path, capsys):
    from glassdyn.cli import main

    rc = main(["render", str(dump2d), "--property", "Propensity", "-o", str(tmp_path / "x.png")])
    assert rc == 1
    err = capsys.readouterr().err
    assert "no per-atom property 'Propensity'" in err
    assert "Theta_L2.0" in err and "noise" in err          # lists what is there
    assert "config.dump" in err and "frame 0" in err       # says where
    assert not (tmp_path / "x.png").exists()


def test_cli_render_bad_size_and_colour_map(dump2d, tmp_path, capsys):
    from glassdyn.cli import main

    assert main(["render", str(dump2d), "-p", "noise", "-o", str(tmp_path / "x.png"), "--size", "big"]) == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
    assert main(["render", str(dump2d), "-p", "noise", "-o", str(tmp_path / "x.png"), "--cmap", "nosuchmap"]) == 1
    assert "unknown colour map 'nosuchmap'" in capsys.readouterr().err
    assert main(["render", str(tmp_path / "missing.dump"), "-p", "noise", "-o", str(tmp_path / "x.png")]) == 1
    assert "missing.dump" in capsys.readouterr().err


def test_side_by_side_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    from glassdyn.plots.dynamics import plot_fs
    from glassdyn.plots.imbalance import plot_plane
    from glassdyn.plots.learn import plot_learning_curve, propensity_maps

    fr = _frame()
    true = fr.properties["Theta_L2.0"]
    pred = true + np.random.default_rng(3).normal(0, 0.1, fr.n_atoms)
    img = _pixels(propensity_maps(fr, "Theta_L2.0", pred, tmp_path / "sbs.png", size=(800, 380)))
    assert img.shape == (380, 800, 3)
    # the two panels are both colour maps of nearly the same field: similar mean colours
    lp, rp = img[:, :400], img[:, 400:]
    assert lp.std() > 20 and rp.std() > 20
    assert np.abs(lp.mean(axis=(0, 1)) - rp.mean(axis=(0, 1))).max() < 25
    with pytest.raises(Exception, match="entries for 300 atoms"):
        propensity_maps(fr, true, pred[:10], tmp_path / "bad.png")

    for path in (plot_plane([0.2, 0.5, 0.9], [0.3, 0.6, 0.95], tmp_path / "plane.png",
                            labels=["a", "b", "c"], highlight=[0]),
                 plot_fs(np.logspace(-1, 2, 10), np.exp(-np.logspace(-1, 2, 10) / 5), tmp_path / "fs.png",
                         tau_alpha=5.0),
                 plot_learning_curve([1, 2, 4], [0.2, 0.4, 0.5], tmp_path / "lc.png", spread=[0.1, 0.1, 0.05])):
        assert _pixels(path).std() > 10
