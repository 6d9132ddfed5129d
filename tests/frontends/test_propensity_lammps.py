"""End to end: a small 2D Kob-Andersen iso-configurational ensemble run with LAMMPS by the test.

324 atoms (65:35, density 1.2) melted at T = 2 and equilibrated at T = 0.6 for 300 tau_LJ
(~50 tau_alpha); 24 replicas with Maxwell-Boltzmann velocities of different seeds, Nose-Hoover
NVT for 20 tau_LJ, dumping unwrapped ``xu yu`` at log-spaced steps (two lmp processes of 12
replicas each, at most 2 at a time). The spatial map of propensity must be reproducible: the
two independent halves of the replicas give propensities with Pearson r > 0.5 at the time
nearest tau_alpha.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytestmark = [pytest.mark.lammps, pytest.mark.slow]

KA2D_PAIR = """mass * 1.0
pair_coeff 1 1 1.0 1.0 2.5
pair_coeff 1 2 1.5 0.8 2.0
pair_coeff 2 2 0.5 0.88 2.2
pair_modify shift yes
neighbor 0.3 bin
neigh_modify every 1 delay 0 check yes
timestep 0.005
"""

EQUILIBRATE = """units lj
dimension 2
atom_style atomic
boundary p p p
lattice sq 1.2
region box block 0 18 0 18 -0.5 0.5
create_box 2 box
create_atoms 1 box
set type 1 type/fraction 2 0.35 ${seed}
pair_style lj/cut 2.5
""" + KA2D_PAIR + """velocity all create 2.0 ${seed} dist gaussian mom yes
fix 1 all nvt temp 2.0 2.0 0.5
fix 2 all enforce2d
run 2000
unfix 1
fix 1 all nvt temp 0.6 0.6 0.5
run 60000
write_data ref.data
write_dump all custom ref.dump id type x y ix iy
"""

REPLICAS = """variable r loop ${nrep}
label rep
clear
units lj
dimension 2
atom_style atomic
boundary p p p
pair_style lj/cut 2.5
read_data ref.data
""" + KA2D_PAIR + """variable seed equal ${base}+17*${r}
velocity all create 0.6 ${seed} dist gaussian mom yes
fix 1 all nvt temp 0.6 0.6 0.5
fix 2 all enforce2d
reset_timestep 0
variable f equal logfreq3(10,24,16000)
dump d all custom 10 rep_${base}_${r}.dump id type xu yu
dump_modify d every v_f first yes
run 16000
undump d
next r
jump SELF rep
"""


def lmp_executable() -> str:
    exe = shutil.which("lmp") or os.path.join(sys.prefix, "bin", "lmp")
    if not os.path.exists(exe):
        pytest.skip("the LAMMPS executable 'lmp' is not installed")
    return exe


@pytest.fixture(scope="module")
def ka2d_ensemble(tmp_path_factory):
    exe = lmp_executable()
    d = tmp_path_factory.mktemp("ka2d_iso")
    (d / "equil.in").write_text(EQUILIBRATE)
    (d / "reps.in").write_text(REPLICAS)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    base = [exe, "-log", "none", "-screen", "none"]
    subprocess.run(base + ["-in", "equil.in", "-var", "seed", "7"], cwd=d, check=True, env=env, timeout=300)
    procs = [subprocess.Popen(base + ["-in", "reps.in", "-var", "nrep", "12", "-var", "base", str(b)], cwd=d, env=env)
             for b in (1000, 5000)]
    for p in procs:
        assert p.wait(timeout=300) == 0
    reps = sorted(glob.glob(str(d / "rep_*.dump")))
    assert len(reps) == 24
    return d, reps


def test_cli_on_lammps_ensemble_and_reproducible_propensity(ka2d_ensemble, capsys):
    from glassdyn.adapters.lammps_dump import read_dump
    from glassdyn.cli import main
    from glassdyn.dynamics import analyze_ensemble, time_label
    from glassdyn.adapters import load_ensemble

    d, reps = ka2d_ensemble
    out = d / "out" / "prop.dump"
    out.parent.mkdir()
    # the reference as the LAMMPS data file (image flags), the replicas as unwrapped dumps
    assert main(["propensity", *reps, "--reference", str(d / "ref.data"), "-o", str(out), "--plot",
                 "--no-progress"]) == 0, capsys.readouterr().err
    lines = (d / "out" / "prop_fs.csv").read_text().splitlines()
    tau_cli = float(next(x for x in lines if x.startswith("# tau_alpha_all")).split("=")[1])
    q_cli = float(next(x for x in lines if x.startswith("# q =")).split()[3])
    assert 6.0 < q_cli < 7.6  # first peak of S(q) of a dense 2D LJ liquid
    # cage-relative F_s (the 2D default) decays slower than the plain one: tau ~ 35 at T = 0.6
    assert 5.0 < tau_cli < 80.0

    ens = load_ensemble(reps, d / "ref.dump")
    assert ens.n_replicas == 24 and ens.times[-1] == pytest.approx(80.0)
    res = analyze_ensemble(ens, potential="ka2d", q=q_cli)
    assert res.tau_alpha[0] == pytest.approx(tau_cli, rel=1e-6)
    # F_s decays from 1 through 1/e; bond breaking decays from 1 but little (a viscous liquid)
    assert res.fs[0, 0] == 1.0 and res.fs[0, -1] < 0.35
    cb = np.nanmean(res.bond_breaking, axis=1)
    assert cb[0] == 1.0 and 0.5 < cb[-1] < 0.99
    # the dump written by the command holds the same per-atom propensities
    k = res.time_index(tau_cli)
    got = read_dump(out).sorted_by_id()
    assert res.column == "propensity_cr"  # the 2D default, named so
    assert np.allclose(got.properties[f"{res.column}_t{time_label(res.times[k])}"], res.propensity[k])
    assert np.allclose(got.properties[f"bond_breaking_t{time_label(res.times[k])}"], res.bond_breaking[k],
                       equal_nan=True)

    # reproducibility: two independent halves of the replicas
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a = analyze_ensemble(ens.subset(range(0, 24, 2)), potential="ka2d", q=q_cli)
        b = analyze_ensemble(ens.subset(range(1, 24, 2)), potential="ka2d", q=q_cli)
    r = np.corrcoef(a.propensity[k], b.propensity[k])[0, 1]
    print(f"tau_alpha = {tau_cli:.3g} (q = {q_cli:.3g}); t = {res.times[k]:.3g}: halves Pearson r = {r:.3f}")
    assert r > 0.5
    # and the average of the halves is the whole
    assert np.allclose((a.propensity + b.propensity) / 2, res.propensity)
    for png in ("prop_fs.png", "prop_propensity.png"):
        assert (d / "out" / png).stat().st_size > 5000
