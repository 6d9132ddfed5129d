"""Every script in examples/ runs end to end on small synthetic data and writes what it promises."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))  # the shared test helpers in tests/
from frontend_synthetic import configuration, replicas, write_ensemble  # noqa: E402

from glassdyn.adapters.lammps_dump import read_dump  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """Three configurations, each with 3 random-walk replicas (no LAMMPS needed)."""
    root = tmp_path_factory.mktemp("run")
    for c in range(3):
        ref = configuration(n_side=12, seed=30 + c)
        write_ensemble(root / f"config{c}", ref, replicas(ref, n_replicas=3, steps=(0, 100, 200, 400), seed=40 + c))
    return root


def _core_propensity(folder):
    from glassdyn.dynamics import analyze_ensemble
    from glassdyn.adapters import load_ensemble

    paths = sorted(str(p) for p in Path(folder).glob("replica_*.dump"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return analyze_ensemble(load_ensemble(paths, Path(folder) / "reference.dump"), potential="ka2d",
                                compute_bond_breaking=False)


def _env():
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _run(cmd, cwd):
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _not_blank(png):
    from PIL import Image
    img = np.asarray(Image.open(png).convert("RGB"), dtype=float)
    return img.std() > 20 and len(np.unique(img.reshape(-1, 3).astype(np.uint8), axis=0)) > 30


@pytest.mark.ovito
def test_ovito_pipeline_example(run_dir, tmp_path):
    pytest.importorskip("ovito")
    out = tmp_path / "ovito_annotated.dump"
    png = tmp_path / "ovito.png"
    stdout = _run([sys.executable, str(EXAMPLES / "ovito_pipeline.py"), str(run_dir / "config0" / "replica_*.dump"),
                   "-o", str(out), "--png", str(png)], tmp_path)
    assert "3 replicas" in stdout and "information imbalance" in stdout
    fr = read_dump(out)
    core = _core_propensity(run_dir / "config0")
    order = np.searchsorted(core.ids, fr.ids)
    assert core.column == "propensity_cr"     # 2D: cage-relative; OVITO's exporter writes "Propensity CR" as PropensityCR
    np.testing.assert_allclose(fr.properties["PropensityCR"], core.propensity[-1][order], rtol=1e-6)
    assert {"rho_L1_0", "Theta_L3_0", "graph_degree"} <= set(fr.properties)
    assert _not_blank(png)


@pytest.mark.mdanalysis
def test_mdanalysis_workflow_example(run_dir, tmp_path):
    pytest.importorskip("MDAnalysis")
    out = tmp_path / "mda_annotated.dump"
    folder = run_dir / "config1"
    reps = sorted(str(p) for p in folder.glob("replica_*.dump"))
    stdout = _run([sys.executable, str(EXAMPLES / "mdanalysis_workflow.py"), str(folder / "reference.dump"), *reps,
                   "-o", str(out), "--workers", "2"], tmp_path)
    assert "3 replicas" in stdout and "Pearson r with propensity" in stdout
    fr = read_dump(out)
    core = _core_propensity(folder)
    np.testing.assert_allclose(fr.properties["Propensity_CR"], core.propensity[-1], rtol=2e-5, atol=1e-6)
    assert "Theta_L2.0" in fr.properties and "Bond_Breaking" in fr.properties


@pytest.mark.ovito
def test_lammps_postprocessing_example(run_dir, tmp_path):
    pytest.importorskip("ovito")
    if shutil.which("bash") is None:
        pytest.skip("bash not available")
    out = tmp_path / "post"
    stdout = _run(["bash", str(EXAMPLES / "lammps_postprocessing.sh"), str(run_dir), str(out)], tmp_path)
    assert "target column: propensity_cr_t2" in stdout  # cage-relative: the 2D default
    pred = read_dump(out / "predicted.dump")
    assert "propensity_pred" in pred.properties and np.all(np.isfinite(pred.properties["propensity_pred"]))
    core = _core_propensity(run_dir / "config2")
    np.testing.assert_allclose(pred.properties["propensity_cr_t2"], core.propensity[-1], rtol=1e-9)
    assert (out / "model.gdm").exists()
    assert _not_blank(out / "true.png") and _not_blank(out / "predicted.png")
