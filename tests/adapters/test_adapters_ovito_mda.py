"""OVITO DataCollection and MDAnalysis Universe adapters; dumps written by glassdyn read back by OVITO
and MDAnalysis with their extra columns intact."""
import warnings

import numpy as np
import pytest

from glassdyn import Box, Frame, InputError
from glassdyn.adapters.lammps_dump import write_dump


def annotated_frame(d, seed=0, n=60):
    rng = np.random.default_rng(seed)
    m = np.diag([8.0] * d)
    m[1, 0] = 1.5
    if d == 3:
        m[2, 0], m[2, 1] = -0.8, 0.6
    box = Box(m, origin=np.arange(d) - 1.0)
    return Frame(box.to_cartesian(rng.random((n, d))), rng.integers(1, 4, n), box, ids=rng.permutation(n) + 5,
                 images=rng.integers(-2, 3, (n, d)),
                 properties={"Theta_L2.0": rng.random(n), "c_pe": rng.normal(size=n), "vec": rng.random((n, 3)),
                             "Propensity": rng.random(n) * 10}, timestep=777)


# --------------------------------------------------------------------------- OVITO
@pytest.mark.ovito
@pytest.mark.parametrize("d", [2, 3])
def test_glassdyn_dump_reads_back_in_ovito(tmp_path, d):
    pytest.importorskip("ovito")
    from ovito.io import import_file

    f = annotated_frame(d)
    path = str(tmp_path / "annot.dump")
    write_dump(path, [f, f.with_properties(c_pe=f.properties["c_pe"] + 1)])
    pipe = import_file(path)
    assert pipe.source.num_frames == 2
    data = pipe.compute(0)
    p = data.particles
    assert data.attributes["Timestep"] == 777
    np.testing.assert_array_equal(np.asarray(p["Particle Identifier"]), f.ids)
    np.testing.assert_array_equal(np.asarray(p["Particle Type"]), f.types)
    np.testing.assert_allclose(np.asarray(p.positions)[:, :d], f.positions, rtol=1e-15, atol=1e-14)
    if d == 2:
        np.testing.assert_array_equal(np.asarray(p.positions)[:, 2], 0.0)
    np.testing.assert_array_equal(np.asarray(p["Periodic Image"])[:, :d], f.images)
    cell = np.asarray(data.cell[...])
    np.testing.assert_allclose(cell[:d, :d].T, f.box.matrix, atol=1e-14)
    np.testing.assert_allclose(cell[:d, 3], f.box.origin, atol=1e-14)
    # OVITO's automatic mapping lower-cases custom names and turns '.' into '_'
    np.testing.assert_allclose(np.asarray(p["theta_l2_0"]), f.properties["Theta_L2.0"], rtol=1e-15)
    np.testing.assert_allclose(np.asarray(p["c_pe"]), f.properties["c_pe"], rtol=1e-15)
    np.testing.assert_allclose(np.asarray(p["propensity"]), f.properties["Propensity"], rtol=1e-15)
    for k in range(3):
        np.testing.assert_allclose(np.asarray(p[f"vec[{k + 1}]"]), f.properties["vec"][:, k], rtol=1e-15)
    np.testing.assert_allclose(np.asarray(pipe.compute(1).particles["c_pe"]), f.properties["c_pe"] + 1, rtol=1e-15)
    # and glassdyn's OVITO-based reader gives back the frame with the original column names
    from glassdyn.adapters.ovito_data import frames_from_ovito_file

    g = next(frames_from_ovito_file(path))
    assert g.dimension == d
    np.testing.assert_allclose(g.properties["Theta_L2.0"], f.properties["Theta_L2.0"], rtol=1e-15)
    np.testing.assert_allclose(g.properties["Propensity"], f.properties["Propensity"], rtol=1e-15)


@pytest.mark.ovito
def test_ovito_datacollection_2d_and_attach():
    pytest.importorskip("ovito")
    from ovito.data import DataCollection

    from glassdyn.adapters.ovito_data import attach_to_ovito, frame_from_ovito

    rng = np.random.default_rng(4)
    n = 30
    data = DataCollection()
    cell = data.create_cell(np.array([[6.0, 2.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 1.0]]), pbc=(True, True, True))
    cell.is2D = True
    xyz = np.column_stack([rng.random((n, 2)) * 5, np.zeros(n)])
    parts = data.create_particles(count=n)
    parts.create_property("Position", data=xyz)
    parts.create_property("Particle Type", data=rng.integers(1, 3, n))
    parts.create_property("Particle Identifier", data=np.arange(100, 100 + n))
    parts.create_property("Potential Energy", data=rng.random(n))
    f = frame_from_ovito(data)
    assert f.dimension == 2
    np.testing.assert_allclose(f.box.matrix, [[6.0, 0.0], [2.0, 5.0]])  # OVITO columns -> rows
    np.testing.assert_array_equal(f.positions, xyz[:, :2])
    np.testing.assert_array_equal(f.ids, np.arange(100, 100 + n))
    np.testing.assert_array_equal(f.properties["Potential Energy"], np.asarray(parts["Potential Energy"]))

    # a 3D-looking cell with z spread: 3D unless forced, and forcing sets is2D
    data.cell_.is2D = False
    data.particles_.positions_[:, 2] = rng.random(n)
    assert frame_from_ovito(data).dimension == 3
    f2 = frame_from_ovito(data, dimension=2)
    assert f2.dimension == 2 and data.cell.is2D

    prop = attach_to_ovito(data, "Theta", np.linspace(0, 1, n))
    np.testing.assert_array_equal(np.asarray(data.particles["Theta"]), np.linspace(0, 1, n))
    attach_to_ovito(data, "Counts", np.arange(n))
    assert np.asarray(data.particles["Counts"]).dtype.kind == "i"
    attach_to_ovito(data, "Vec", np.ones((n, 3)) * [1, 2, 3])
    np.testing.assert_array_equal(np.asarray(data.particles["Vec"])[0], [1, 2, 3])
    attach_to_ovito(data, "Theta", np.zeros(n))  # overwrite
    np.testing.assert_array_equal(np.asarray(data.particles["Theta"]), 0.0)
    with pytest.raises(InputError, match="shape"):
        attach_to_ovito(data, "Bad", np.zeros(n + 1))
    assert prop is not None


@pytest.mark.ovito
def test_ovito_bad_inputs():
    pytest.importorskip("ovito")
    from ovito.data import DataCollection

    from glassdyn.adapters.ovito_data import frame_from_ovito

    data = DataCollection()
    parts = data.create_particles(count=3)
    parts.create_property("Position", data=np.zeros((3, 3)))
    with pytest.raises(InputError, match="no simulation cell"):
        frame_from_ovito(data)
    data.create_cell(np.eye(3) * 4, pbc=(True, True, True))
    with pytest.raises(InputError, match="no 'Particle Type'"):
        frame_from_ovito(data)
    data.cell_.pbc = (True, False, True)
    data.particles_.create_property("Particle Type", data=[1, 1, 1])
    data.particles_.positions_[:] = np.random.default_rng(0).random((3, 3))
    with pytest.raises(InputError, match="not periodic"):
        frame_from_ovito(data)


# --------------------------------------------------------------------------- MDAnalysis
@pytest.mark.mdanalysis
@pytest.mark.parametrize("d", [2, 3])
def test_glassdyn_dump_reads_back_in_mdanalysis(tmp_path, d):
    mda = pytest.importorskip("MDAnalysis")
    f = annotated_frame(d, seed=d)
    path = str(tmp_path / "annot.dump")
    write_dump(path, f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(path, format="LAMMPSDUMP", additional_columns=True)
    s = f.sorted_by_id()  # MDAnalysis sorts atoms by id
    np.testing.assert_array_equal(u.atoms.ids, s.ids)
    np.testing.assert_array_equal(u.atoms.types.astype(int), s.types)
    # MDAnalysis moves the origin to 0 and stores float32
    pos = u.atoms.positions.astype(float)[:, :d] + s.box.origin
    np.testing.assert_allclose(pos, s.positions, atol=2e-5)
    data = u.trajectory.ts.data
    assert data["step"] == 777
    np.testing.assert_array_equal(data["Theta_L2.0"], s.properties["Theta_L2.0"])
    np.testing.assert_array_equal(data["c_pe"], s.properties["c_pe"])
    np.testing.assert_array_equal(data["Propensity"], s.properties["Propensity"])
    np.testing.assert_array_equal(data["vec[2]"], s.properties["vec"][:, 1])
    from MDAnalysis.lib.mdamath import triclinic_vectors

    np.testing.assert_allclose(triclinic_vectors(u.dimensions)[:d, :d], f.box.matrix, atol=1e-5)


@pytest.mark.mdanalysis
def test_mdanalysis_universe_adapter_triclinic_and_attach():
    mda = pytest.importorskip("MDAnalysis")
    from MDAnalysis.lib.mdamath import triclinic_vectors

    from glassdyn.adapters.mdanalysis_data import attach_to_mdanalysis, frame_from_mdanalysis

    rng = np.random.default_rng(9)
    n = 40
    u = mda.Universe.empty(n, trajectory=True)
    u.add_TopologyAttr("types", np.where(rng.random(n) < 0.7, "A", "B"))
    u.add_TopologyAttr("ids", np.arange(n)[::-1] + 1)
    u.dimensions = [8.0, 9.0, 10.0, 80.0, 95.0, 70.0]
    H = triclinic_vectors(u.dimensions)
    u.atoms.positions = rng.random((n, 3)) @ H
    f = frame_from_mdanalysis(u)
    assert f.dimension == 3
    np.testing.assert_allclose(f.box.matrix, H)
    assert f.box.volume == pytest.approx(u.trajectory.ts.volume, rel=1e-5)
    np.testing.assert_array_equal(f.types, np.where(u.atoms.types == "A", 1, 2))
    np.testing.assert_array_equal(f.properties["type_name"], u.atoms.types)
    np.testing.assert_array_equal(f.ids, u.atoms.ids)
    np.testing.assert_allclose(f.positions, u.atoms.positions, rtol=0, atol=0)

    # group subset and 2D detection (all z equal)
    u.atoms.positions = np.column_stack([rng.random((n, 2)) * 7, np.full(n, 0.5)])
    u.dimensions = [8.0, 9.0, 1.0, 90, 90, 90]
    ag = u.atoms[::2]
    g = frame_from_mdanalysis(ag)
    assert g.dimension == 2 and g.n_atoms == n // 2
    np.testing.assert_allclose(g.box.matrix, np.diag([8.0, 9.0]))
    assert frame_from_mdanalysis(ag, dimension=3).dimension == 3

    values = np.linspace(0, 1, ag.n_atoms)
    attach_to_mdanalysis(ag, "Theta_test", values)
    np.testing.assert_array_equal(ag.Theta_test, values)
    assert np.all(np.isnan(u.atoms[1::2].Theta_test))
    sel = u.select_atoms("prop Theta_test > 0.5")
    np.testing.assert_array_equal(sel.indices, ag.indices[values > 0.5])
    attach_to_mdanalysis(u.atoms, "Theta_test", np.zeros(n))  # overwrite through another group
    np.testing.assert_array_equal(ag.Theta_test, 0.0)
    attach_to_mdanalysis(ag, "vec_test", np.ones((ag.n_atoms, 2)) * [1, 2])
    np.testing.assert_array_equal(ag.vec_test_2, 2.0)
    with pytest.raises(InputError, match="shape"):
        attach_to_mdanalysis(ag, "Theta_test", np.zeros(3))
    with pytest.raises(InputError, match="identifier"):
        attach_to_mdanalysis(ag, "bad name", values)


@pytest.mark.mdanalysis
def test_mdanalysis_missing_box():
    mda = pytest.importorskip("MDAnalysis")
    from glassdyn.adapters.mdanalysis_data import frame_from_mdanalysis

    u = mda.Universe.empty(4, trajectory=True)
    u.add_TopologyAttr("types", ["1"] * 4)
    u.atoms.positions = np.random.default_rng(0).random((4, 3))
    with pytest.raises(InputError, match="missing box"):
        frame_from_mdanalysis(u)


def _moving_origin_dump(path, columns: str, positions, origins, L, types):
    """A dump whose box origin moves between frames (positions given in absolute coordinates)."""
    lines = []
    n = positions.shape[1]
    for k, (pos, lo) in enumerate(zip(positions, origins)):
        lines += ["ITEM: TIMESTEP", str(100 * k), "ITEM: NUMBER OF ATOMS", str(n), "ITEM: BOX BOUNDS pp pp pp"]
        lines += [f"{float(lo[a])!r} {float(lo[a] + L)!r}" for a in range(3)]
        lines.append(f"ITEM: ATOMS id type {columns}")
        vals = (pos - lo) / L if columns.startswith("xs") else pos
        lines += [f"{i + 1} {types[i]} " + " ".join(repr(float(v)) for v in vals[i]) for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.mdanalysis
@pytest.mark.parametrize("columns", ["xs ys zs", "x y z", "xsu ysu zsu", "xu yu zu"])
def test_mdanalysis_adapter_keeps_positions_when_the_box_origin_moves(tmp_path, columns):
    """MDAnalysis 2.11 subtracts the box origin (twice for scaled columns); when the origin moves between
    frames, glassdyn's adapter still gives the file's coordinates, so displacements carry no shift."""
    pytest.importorskip("MDAnalysis")
    from glassdyn.adapters.lammps_dump import read_dump
    from glassdyn.adapters.mdanalysis_data import frame_from_mdanalysis, universe_from_dump

    rng = np.random.default_rng(3)
    n, L = 30, 6.0
    base = rng.random((n, 3)) * L
    steps = rng.normal(0, 0.05, (3, n, 3)).cumsum(axis=0)
    positions = base + steps                                   # unwrapped, absolute
    origins = np.array([[0.0, 0.0, 0.0], [0.7, -0.4, 0.25], [-1.1, 0.3, 0.6]])
    if columns in ("xs ys zs", "x y z"):                       # wrapped columns: inside each frame's box
        positions = origins[:, None, :] + np.mod(positions - origins[:, None, :], L)
    types = rng.integers(1, 3, n)
    path = _moving_origin_dump(tmp_path / "moving.dump", columns, positions, origins, L, types)
    unwrapped = columns.startswith(("xu", "xsu"))
    u = universe_from_dump(path, unwrapped=unwrapped)
    got = []
    for k in range(3):
        u.trajectory[k]
        f = frame_from_mdanalysis(u.atoms)
        native = read_dump(path, k)
        np.testing.assert_allclose(f.box.origin, origins[k], atol=1e-12)
        np.testing.assert_allclose(f.box.origin, native.box.origin, atol=1e-12)
        want = native.unwrapped if unwrapped else native.positions
        np.testing.assert_allclose(f.positions, want, rtol=0, atol=2e-5)
        np.testing.assert_allclose(f.positions, positions[k], rtol=0, atol=2e-5)
        got.append(f.positions)
    if unwrapped:  # displacements between frames: the true ones, not shifted by the origin's motion
        np.testing.assert_allclose(got[2] - got[0], steps[2] - steps[0], rtol=0, atol=4e-5)


@pytest.mark.mdanalysis
def test_mdanalysis_propensity_with_moving_origin_equals_core(tmp_path):
    """Replicas in scaled unwrapped coordinates whose box origin moves (glassdyn's own ensemble builder
    refuses such replicas; MDAnalysis' analysis takes them): the MDAnalysis Propensity equals the core
    functions applied to the true trajectories. Drift removal (the default) would hide a uniform origin
    shift, so this runs without it: the shift would then enter every displacement."""
    pytest.importorskip("MDAnalysis")
    from glassdyn.dynamics import displacements, propensity, self_intermediate_scattering
    from glassdyn.mdanalysis import Propensity, universe_from_dump

    rng = np.random.default_rng(4)
    n, L = 64, 8.0
    grid = np.stack(np.meshgrid(*[np.arange(4)] * 3, indexing="ij"), -1).reshape(-1, 3) * 2.0 + 1.0
    base = grid + rng.normal(0, 0.05, grid.shape)
    types = np.where(rng.random(n) < 0.8, 1, 2)
    origins = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, -0.5], [-0.3, 0.9, 0.2], [1.2, -0.7, 0.4]])
    paths, trajs = [], []
    for r in range(3):
        walk = np.concatenate([np.zeros((1, n, 3)), rng.normal(0, 0.2, (3, n, 3)).cumsum(axis=0)])
        trajs.append(base + walk)
        paths.append(_moving_origin_dump(tmp_path / f"replica_{r}.dump", "xsu ysu zsu", base + walk, origins, L, types))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = Propensity([universe_from_dump(p, unwrapped=True) for p in paths], cage_relative=False, q=6.0,
                         potential="ka3d", compute_bond_breaking=False, drift=False).run().results
    traj = np.stack(trajs)                                      # (R, T, N, 3), ids 1..n in order
    dr = displacements(traj, traj[:, 0], drift=False)
    np.testing.assert_allclose(res.propensity, propensity(dr), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(res.fs, self_intermediate_scattering(dr, 6.0, types=types), rtol=1e-5, atol=1e-6)
    assert propensity(dr)[-1].mean() < 0.5   # a spurious origin shift (|d lo| ~ 1.5) would dominate it
