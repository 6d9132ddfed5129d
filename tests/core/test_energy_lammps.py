"""LAMMPS energies of the shipped model files equal glassdyn's pair potentials.

Per-atom ``compute pe/atom`` on a real equilibrated configuration is compared with an
O(N^2) sum written here and with ``glassdyn.descriptors.local_energy``; the ternary2d
spline table is compared with the analytic V(r) through ``pair_write`` up to and beyond
the cutoff.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from glassdyn.potentials import get_potential

pytestmark = pytest.mark.lammps

runner = pytest.importorskip("glassdyn.lammps.runner")
simulate = pytest.importorskip("glassdyn.lammps.simulate")


def _lmp():
    try:
        return runner.find_lammps()
    except Exception:
        pytest.skip("no LAMMPS executable")


def _run(script: str, tmp_path: Path, **variables) -> None:
    path = tmp_path / "test.in"
    path.write_text(script)
    cmd = [_lmp(), "-in", str(path), "-log", str(tmp_path / "log.lammps"), "-screen", "none",
           "-var", "inputs", str(runner.inputs_dir())]
    for k, v in variables.items():
        cmd += ["-var", k, str(v)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, (tmp_path / "log.lammps").read_text()[-2000:]


PE_SCRIPT = """
variable N index 1
include ${inputs}/model_${model}.lmp
units lj
dimension ${dim}
atom_style atomic
boundary p p p
read_data ${data}
include ${inputs}/pair_${model}.lmp
compute pea all pe/atom
compute pe all pe
thermo_style custom step pe
run 0
print "TOTAL_PE $(c_pe:%.17g)"
write_dump all custom ${out} id type x y z c_pea modify sort id format float %.17g
"""


def _brute_energy(x, types, lengths, pot):
    d = x[:, None, :] - x[None, :, :]
    d -= lengths * np.round(d / lengths)
    r = np.sqrt((d ** 2).sum(-1))
    np.fill_diagonal(r, np.inf)
    return 0.5 * np.where(np.isfinite(r), pot.energy(np.where(np.isfinite(r), r, 1.0),
                                                     types[:, None], types[None, :]), 0.0).sum(1)


@pytest.fixture(scope="module")
def equilibrated(tmp_path_factory):
    """One small equilibrated configuration per model (T = 1.0, 2000 steps)."""
    out = {}
    for model, n in (("ka2d", 240), ("ternary2d", 240), ("ka3d", 300)):
        folder = tmp_path_factory.mktemp(model)
        simulate.run_equilibrate(folder, model=model, n=n, temperature=1.0, equilibration_steps=2000,
                                 seed=3, cores=1)
        out[model] = folder
    return out


@pytest.mark.parametrize("model", ["ka2d", "ternary2d", "ka3d"])
def test_pe_atom_equals_pair_potential(model, equilibrated, tmp_path):
    data = simulate.reference_path(equilibrated[model], 0)
    dump = tmp_path / "pe.lammpstrj"
    _run(PE_SCRIPT, tmp_path, model=model, data=data, out=dump)
    text = dump.read_text().splitlines()
    box = np.array([[float(v) for v in line.split()[:2]] for line in text[5:8]])
    lengths = box[:, 1] - box[:, 0]
    rows = np.array([[float(v) for v in line.split()] for line in text[9:]])
    pot = get_potential(model)
    dim = pot.dimension
    x, types, pe = rows[:, 2:2 + dim], rows[:, 1].astype(int), rows[:, 5]
    assert len(np.unique(types)) == pot.n_types
    ref = _brute_energy(x, types, lengths[:dim], pot)
    # a dense liquid: every atom has neighbours, energies are O(1)
    assert np.all(np.abs(ref) > 1e-3)
    np.testing.assert_allclose(pe, ref, rtol=1e-8, atol=0)
    total = float(next(l for l in (tmp_path / "log.lammps").read_text().splitlines()
                       if l.startswith("TOTAL_PE")).split()[1])
    # compute pe in a variable is the total (cool.in divides it by atoms for E_IS per particle)
    assert total == pytest.approx(ref.sum(), rel=1e-10)

    # the core's local energy on the frame read by the IO adapter
    descriptors = pytest.importorskip("glassdyn.descriptors")
    dump_io = pytest.importorskip("glassdyn.adapters.lammps_dump")
    frame = dump_io.read_dump(dump, dimension=dim).sorted_by_id()
    e = descriptors.local_energy(frame, pot)
    np.testing.assert_allclose(e, pe, rtol=1e-8, atol=0)


PAIR_WRITE = """
variable N index 1
include ${inputs}/model_ternary2d.lmp
units lj
dimension 2
atom_style atomic
boundary p p p
region box block 0 10 0 10 -0.5 0.5
create_box 3 box
include ${inputs}/pair_ternary2d.lmp
pair_write ${i} ${j} 4001 r ${rlo} ${rhi} ${out} P
"""


@pytest.mark.parametrize("i,j", [(1, 1), (1, 2), (1, 3), (2, 2), (2, 3), (3, 3)])
def test_ternary_table_matches_analytic_and_vanishes_at_cutoff(i, j, tmp_path):
    pot = get_potential("ternary2d")
    sig = pot.sigma[i - 1, j - 1]
    rc = 2.5 * sig
    out = tmp_path / "pair.txt"
    _run(PAIR_WRITE, tmp_path, i=i, j=j, rlo=0.7 * sig, rhi=rc + 0.2, out=out)
    rows = np.array([[float(v) for v in line.split()] for line in out.read_text().splitlines()
                     if len(line.split()) == 4 and line.split()[0].isdigit()])
    assert len(rows) == 4001
    r, e, f = rows[:, 1], rows[:, 2], rows[:, 3]
    ref_e, ref_f = pot.energy(r, i, j), pot.force(r, i, j)
    scale_e = np.maximum(np.abs(ref_e), 1.0)
    scale_f = np.maximum(np.abs(ref_f), 1.0)
    assert np.max(np.abs(e - ref_e) / scale_e) < 1e-9
    assert np.max(np.abs(f - ref_f) / scale_f) < 1e-7
    inside = r < rc
    # continuity at the cutoff: the last points inside go smoothly to zero ...
    near = inside & (r > rc - 0.005 * sig)
    assert near.sum() >= 5
    eps = pot.epsilon[i - 1, j - 1]
    assert np.max(np.abs(e[near])) < 5e-8 * eps and np.max(np.abs(f[near])) < 5e-5 * eps / sig
    # the last point before the cutoff: only the ~1e-9 left by the 11-digit C0, C2, C4
    last = np.flatnonzero(inside)[-1]
    assert rc - r[last] < 1e-3
    assert abs(e[last]) < 3e-9 * eps and abs(f[last]) < 1e-6 * eps / sig
    # ... and the cubic/quadratic approach of V and F (V, V', V'' vanish): V ~ (rc-r)^3
    far = inside & (r > rc - 0.1 * sig) & (r < rc - 0.05 * sig)
    assert np.max(np.abs(e[near])) < 0.05 * np.max(np.abs(e[far]))
    # beyond the cutoff: exactly zero
    assert np.all(e[~inside] == 0.0) and np.all(f[~inside] == 0.0)


def test_shipped_table_is_the_generated_one(tmp_path):
    """lammps_inputs/ternary2d.table equals what glassdyn.lammps.tables generates now (data lines)."""
    from glassdyn.lammps import tables
    fresh = tmp_path / "t.table"
    tables.write_table(fresh, "ternary2d")
    body = lambda p: [l for l in Path(p).read_text().splitlines() if not l.startswith("#")]
    assert body(fresh) == body(runner.inputs_dir() / "ternary2d.table")
