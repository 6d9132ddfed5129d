"""``glassdyn describe``: dumps in, dumps (and tables) out, equal to the library's numbers."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from glassdyn import Frame
from glassdyn.adapters.lammps_dump import count_frames, iter_dump, read_dump, write_dump
from glassdyn.cli import main
from glassdyn.adapters.tables import load_table
from glassdyn.descriptors import compute_features
from glassdyn.graph import graph_metrics
from glassdyn.structure import dataset_cutoffs

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))  # the shared test helpers in tests/
from frontend_synthetic import relaxed  # noqa: E402


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    ref = relaxed("ka2d", 240, seed=0, steps=150)
    pos, types, box = ref.positions, ref.types, ref.box
    rng = np.random.default_rng(1)
    frames = []
    for k in range(4):
        p = box.wrap(pos + rng.normal(0, 0.03, pos.shape))
        frames.append(Frame(p, types, box, ids=np.arange(1, len(p) + 1) * 3, timestep=100 * k,
                            properties={"c_extra": np.arange(len(p), dtype=float)}))
    path = tmp_path_factory.mktemp("describe") / "traj.lammpstrj"
    write_dump(path, frames)
    return path


def test_describe_writes_every_feature_column(dump, tmp_path, capsys):
    out = tmp_path / "out.lammpstrj"
    assert main(["describe", str(dump), "-o", str(out), "--frames", "1:4:2", "--lengths", "1.0,2.0", "3.0",
                 "--table", str(tmp_path / "t.npz"), "--quiet"]) == 0
    assert count_frames(out) == 2
    first = read_dump(dump, 1)
    third = read_dump(dump, 3)
    # one set of neighbour cutoffs for the data set: g_ab(r) pooled over the frames described
    cut, info = dataset_cutoffs([first, third], "ka2d")
    ref = compute_features(first, "ka2d", lengths=(1.0, 2.0, 3.0), cutoffs=cut)
    got = read_dump(out, 0)
    assert got.timestep == 100
    np.testing.assert_array_equal(got.ids, first.ids)
    np.testing.assert_array_equal(got.properties["c_extra"], first.properties["c_extra"])  # input columns kept
    for name in ref.names:
        np.testing.assert_array_equal(got.properties[name], ref[name])  # %.17g round-trips exactly
    ref3 = compute_features(third, "ka2d", lengths=(1.0, 2.0, 3.0), cutoffs=cut)
    got3 = read_dump(out, 1)
    np.testing.assert_array_equal(got3.properties["Theta_L2.0"], ref3["Theta_L2.0"])
    table = load_table(tmp_path / "t.npz")
    assert table.names == ref.names and table.n_rows == 2 * first.n_atoms
    np.testing.assert_array_equal(table.values[: first.n_atoms], ref.values)
    np.testing.assert_array_equal(table.frame, [0] * first.n_atoms + [1] * first.n_atoms)
    assert [m[1] for m in table.params["frame_map"]] == [1, 3]
    np.testing.assert_array_equal(table.params["cutoffs"], cut)
    assert table.params["cutoff_method"]["method"] == "dataset" and table.params["cutoff_method"]["n_frames"] == 2


def test_describe_several_inputs_csv_graph_and_options(dump, tmp_path, capsys):
    other = tmp_path / "second.dump"
    write_dump(other, list(iter_dump(dump)))
    outdir = tmp_path / "described"
    rc = main(["describe", str(dump), str(other), "-o", str(outdir), "--frames", "2", "--lengths", "0.5:1.5:0.5",
               "--descriptors", "rho,z,Theta", "--cutoffs", "1.4,1.15,1.3", "--potential", "none",
               "--table", str(tmp_path / "t.csv"), "--graph", "--quiet"])
    assert rc == 0
    a = read_dump(outdir / "traj.lammpstrj", 0)
    b = read_dump(outdir / "second.dump", 0)
    cut = np.array([[1.4, 1.15], [1.15, 1.3]])
    ref = compute_features(read_dump(dump, 2), None, lengths=(0.5, 1.0, 1.5), descriptors=("rho", "z", "Theta"),
                           cutoffs=cut)
    for name in ref.names:
        np.testing.assert_array_equal(a.properties[name], ref[name])
        np.testing.assert_array_equal(b.properties[name], ref[name])
    assert "e_L0.5" not in a.properties
    gm = graph_metrics(read_dump(dump, 2))
    np.testing.assert_array_equal(a.properties["graph_degree"], gm.degree)
    printed = capsys.readouterr().out
    assert f"{gm.n_components} components, {gm.n_bb_edges} B-B edges, {gm.n_isolated_a} isolated A" in printed
    csv = load_table(tmp_path / "t.csv")
    np.testing.assert_allclose(csv.values[: ref.n_rows], ref.values, rtol=0, atol=0, equal_nan=True)


def test_describe_bad_inputs(dump, tmp_path, capsys):
    assert main(["describe", str(tmp_path / "missing.dump"), "-o", str(tmp_path / "o.dump")]) == 1
    assert "missing.dump: no such dump file" in capsys.readouterr().err
    assert main(["describe", str(dump), "-o", str(tmp_path / "o.dump"), "--lengths", "0.5:9:0.5", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "traj.lammpstrj, frame 0: coarse-graining at L = 9 needs pairs up to 9, longer than half" in err
    assert not (tmp_path / "o.dump").exists()  # nothing half-written
    # bad option values are usage errors (exit code 2), found before any work
    assert main(["describe", str(dump), "-o", str(tmp_path / "o.dump"), "--frames", "a:b"]) == 2
    assert "bad --frames 'a:b'" in capsys.readouterr().err
    assert main(["describe", str(dump), "-o", str(tmp_path / "o.dump"), "--cutoffs", "1,2"]) == 2
    assert "--cutoffs has 2 values" in capsys.readouterr().err
    assert main(["describe", str(dump), "-o", str(tmp_path / "o.dump"), "--table", str(tmp_path / "t.xlsx")]) == 2
    assert "--table" in capsys.readouterr().err
    assert main(["describe", str(dump), "-o", str(dump)]) == 2
    assert "would overwrite the input" in capsys.readouterr().err
    # a frame with a type the potential does not know: the error names the atoms (with "auto" a
    # three-type 2D frame is ternary2d, see test_auto_potential_is_one_rule_for_every_command)
    f = read_dump(dump, 0)
    types = f.types.copy()
    types[[0, 5]] = 3
    bad = tmp_path / "bad.dump"
    write_dump(bad, Frame(f.positions, types, f.box, ids=f.ids))
    assert main(["describe", str(bad), "-o", str(tmp_path / "o.dump"), "--potential", "ka2d", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "bad.dump, frame 0: atom types [3] are unknown to potential 'ka2d'" in err and "atom ids: 3, 18" in err


def test_auto_potential_is_one_rule_for_every_command(dump, tmp_path):
    """describe, propensity and train pick the same default potential: a three-type 2D dump is
    ternary2d everywhere (describe used to take ka2d for any 2D frame and refuse it)."""
    from glassdyn.potentials import default_potential_name, resolve_potential
    f = read_dump(dump, 0)
    types = f.types.copy()
    types[::7] = 3
    tern = Frame(f.positions, types, f.box, ids=f.ids)
    path = tmp_path / "ternary.dump"
    write_dump(path, tern)
    out = tmp_path / "described.dump"
    assert main(["describe", str(path), "-o", str(out), "--lengths", "1.0", "--quiet"]) == 0
    back = read_dump(out, 0)
    expected = compute_features(tern, "ternary2d", lengths=(1.0,))
    np.testing.assert_allclose(back.properties["e_L1.0"], expected["e_L1.0"], rtol=1e-12)
    assert resolve_potential("auto", tern).name == "ternary2d" == default_potential_name(2, 3)
    assert default_potential_name(2, 2) == "ka2d" and default_potential_name(3, 2) == "ka3d"
