"""``glassdyn render`` without Vulkan (or without OVITO) falls back to matplotlib, as the demo does, and
its error message no longer recommends a renderer that fails as well."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from glassdyn import Box, Frame
from glassdyn.adapters.lammps_dump import write_dump

pytest.importorskip("matplotlib")
PIL = pytest.importorskip("PIL.Image")

#: a Vulkan loader that finds no driver, as on a fresh machine without mesa-vulkan-drivers
NO_VULKAN = {"VK_ICD_FILENAMES": "/nonexistent/icd.json", "VK_DRIVER_FILES": "/nonexistent/icd.json"}


def _pixels(path):
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB"), dtype=float)


@pytest.fixture
def dump(tmp_path):
    rng = np.random.default_rng(0)
    L, n = 18.0, 300
    pos = rng.uniform(0, L, (n, 2))
    fr = Frame(pos, 1 + (rng.random(n) < 0.35), Box.orthorhombic([L, L]), properties={"Theta_L2.0": pos[:, 0] / L})
    path = tmp_path / "config.dump"
    write_dump(path, fr)
    return path


def _render(args, tmp_path, env_extra=None, prelude=""):
    code = prelude + "\nimport sys\nfrom glassdyn.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-c", code, "render", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp_path)


def _left_right(img):
    """Mean RGB of the coloured pixels in the left and right fifth of the drawn discs."""
    sat = img.max(axis=2) - img.min(axis=2)
    mask = sat > 40
    cols = np.flatnonzero(mask.any(axis=0))
    c0, c1 = cols.min(), cols.max()
    band = (c1 - c0) // 5
    return (img[:, c0:c0 + band][mask[:, c0:c0 + band]].mean(axis=0),
            img[:, c1 - band:c1 + 1][mask[:, c1 - band:c1 + 1]].mean(axis=0))


def test_render_without_vulkan_falls_back_to_matplotlib(dump, tmp_path):
    pytest.importorskip("ovito")
    out = tmp_path / "theta.png"
    proc = _render([dump, "--property", "Theta_L2.0", "-o", out], tmp_path, NO_VULKAN)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"wrote {out}" in proc.stdout
    assert "OVITO could not render" in proc.stderr and "drew it with matplotlib instead" in proc.stderr
    assert "mesa-vulkan-drivers" in proc.stderr and "tachyon" not in proc.stderr.lower().replace(
        "opengl and tachyon alike", "")
    img = _pixels(out)
    assert img.shape == (600, 800, 3) and img.std() > 30
    # viridis from left (low, dark purple: blue > green) to right (high, yellow: green and red high)
    left, right = _left_right(img[:, :600])     # leave the colour bar out
    assert left[2] > left[1] and right[1] > left[1] + 100 and right[2] < left[2] and right[0] > left[0]


def test_render_with_an_ovito_renderer_and_no_vulkan_says_what_to_install(dump, tmp_path):
    pytest.importorskip("ovito")
    for renderer in ("opengl", "tachyon"):       # Tachyon needs Vulkan too: the message must not suggest it
        out = tmp_path / f"{renderer}.png"
        proc = _render([dump, "-p", "Theta_L2.0", "-o", out, "--renderer", renderer], tmp_path, NO_VULKAN)
        assert proc.returncode == 1, (renderer, proc.stdout, proc.stderr[-2000:])
        err = proc.stderr
        assert "OVITO could not render" in err and "libvulkan1 and mesa-vulkan-drivers" in err
        assert "--renderer matplotlib" in err
        assert "--renderer tachyon" not in err and "use tachyon" not in err.lower()
        assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.suffix == ".png"] == []


def test_render_without_ovito_installed_uses_matplotlib(dump, tmp_path):
    blocker = textwrap.dedent("""
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "ovito":
                    raise ModuleNotFoundError("No module named 'ovito'", name="ovito")
        sys.meta_path.insert(0, Block())
    """)
    out = tmp_path / "m.png"
    proc = _render([dump, "-p", "Theta_L2.0", "-o", out], tmp_path, prelude=blocker)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OVITO is not installed" in proc.stderr and _pixels(out).std() > 30
    proc = _render([dump, "-p", "Theta_L2.0", "-o", tmp_path / "o.png", "--renderer", "opengl"], tmp_path,
                   prelude=blocker)
    assert proc.returncode == 1 and "needs the ovito package" in proc.stderr


def test_matplotlib_renderer_in_process(dump, tmp_path):
    from glassdyn.plots.render import render_property

    out = render_property(dump, "Theta_L2.0", tmp_path / "x.png", renderer="matplotlib", size=(400, 300),
                          value_range=(0.0, 1.0), cmap="magma")
    img = _pixels(out)
    assert img.shape == (300, 400, 3) and img.std() > 30
    with pytest.raises(Exception, match="unknown renderer 'vulkan'"):
        render_property(dump, "Theta_L2.0", tmp_path / "y.png", renderer="vulkan")


def test_property_names_as_ovito_spells_them():
    """OVITO's reader lower-cases and replaces '.', its exporter drops spaces; an ambiguous squeeze fails."""
    from glassdyn.errors import InputError
    from glassdyn.plots.render import find_property
    assert find_property(["id", "theta_l2_0"], "Theta_L2.0") == "theta_l2_0"
    assert find_property(["id", "Propensity_CR"], "Propensity CR") == "Propensity_CR"
    assert find_property(["id", "PropensityCR"], "Propensity CR") == "PropensityCR"
    with pytest.raises(InputError, match="available: id, rho_L10, rho_L1_0"):
        find_property(["id", "rho_L10", "rho_L1_0"], "rhoL10")  # both squeeze to rhol10
