"""Native LAMMPS dump reader/writer: formats, frame selection, round trips, bad input, atomic writes."""
import gzip
import os
from unittest import mock

import numpy as np
import pytest

from glassdyn import Box, Frame, InputError
from glassdyn.adapters import load_frames
from glassdyn.adapters import lammps_dump as ld
from glassdyn.adapters.lammps_dump import count_frames, dump_timesteps, iter_dump, read_dump, write_dump


def dump_text(ts=100, rows=None, cols="id type x y z", box="pp pp pp\n0 10\n0 10\n-0.5 0.5", natoms=None):
    rows = rows if rows is not None else ["1 1 1.0 2.0 0", "2 2 3.5 4.5 0", "3 1 9.9 0.1 0"]
    n = len(rows) if natoms is None else natoms
    head = f"ITEM: TIMESTEP\n{ts}\nITEM: NUMBER OF ATOMS\n{n}\n"
    if box is not None:
        head += f"ITEM: BOX BOUNDS {box}\n"
    return head + f"ITEM: ATOMS {cols}\n" + "".join(r + "\n" for r in rows)


def write(tmp_path, text, name="a.dump"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


# ------------------------------------------------------------------ formats
def test_2d_detection_and_forcing(tmp_path):
    p = write(tmp_path, dump_text())
    f = read_dump(p)
    assert f.dimension == 2 and f.positions.shape == (3, 2)
    np.testing.assert_array_equal(f.positions, [[1, 2], [3.5, 4.5], [9.9, 0.1]])
    assert f.timestep == 100 and f.index == 0 and f.source == p
    f3 = read_dump(p, dimension=3)
    assert f3.dimension == 3 and f3.box.matrix[2, 2] == 1.0
    # a 3D frame with different z stays 3D; forcing 2D drops z
    p2 = write(tmp_path, dump_text(rows=["1 1 1 2 0.1", "2 1 3 4 0.2"]), "b.dump")
    assert read_dump(p2).dimension == 3
    assert read_dump(p2, dimension=2).positions.shape == (2, 2)
    # no z column at all: 2D
    p3 = write(tmp_path, dump_text(rows=["1 1 1 2", "2 1 3 4"], cols="id type x y"), "c.dump")
    assert read_dump(p3).dimension == 2
    with pytest.raises(InputError, match="no z column"):
        read_dump(p3, dimension=3)


def test_triclinic_bounding_box_conversion(tmp_path):
    # parallelepiped lo = (1, 2, 3), lengths (10, 12, 15), tilts xy=2, xz=-1, yz=0.5
    xy, xz, yz = 2.0, -1.0, 0.5
    xlo_b = 1 + min(0, xy, xz, xy + xz)
    xhi_b = 11 + max(0, xy, xz, xy + xz)
    ylo_b, yhi_b = 2 + min(0, yz), 14 + max(0, yz)
    box = f"xy xz yz pp pp pp\n{xlo_b} {xhi_b} {xy}\n{ylo_b} {yhi_b} {xz}\n3 18 {yz}"
    # scaled coordinates of a few atoms; expected Cartesian = lo + s @ H
    s = np.array([[0.1, 0.2, 0.3], [0.9, 0.5, 0.7], [0.0, 0.99, 0.01]])
    H = np.array([[10, 0, 0], [xy, 12, 0], [xz, yz, 15]])
    rows = [f"{k + 1} 1 {a} {b} {c}" for k, (a, b, c) in enumerate(s)]
    f = read_dump(write(tmp_path, dump_text(rows=rows, cols="id type xs ys zs", box=box)))
    np.testing.assert_allclose(f.box.matrix, H)
    np.testing.assert_allclose(f.box.origin, [1, 2, 3])
    np.testing.assert_allclose(f.positions, np.array([1, 2, 3]) + s @ H, atol=1e-12)


def test_general_triclinic_abc_origin(tmp_path):
    box = "abc origin pp pp pp\n4 0 0 1\n1 5 0 2\n0.5 -0.5 6 3"
    f = read_dump(write(tmp_path, dump_text(rows=["1 1 0.5 0.5 0.5", "2 1 0.1 0.2 0.3"],
                                            cols="id type xs ys zs", box=box)))
    H = np.array([[4, 0, 0], [1, 5, 0], [0.5, -0.5, 6.0]])
    np.testing.assert_allclose(f.positions[0], np.array([1, 2, 3]) + np.array([0.5, 0.5, 0.5]) @ H)


def test_column_conventions_agree(tmp_path):
    box = Box(np.array([[10.0, 0, 0], [3.0, 9.0, 0], [-2.0, 1.0, 8.0]]), origin=[-1.0, 0.5, 2.0])
    rng = np.random.default_rng(5)
    frac = rng.random((20, 3))
    img = rng.integers(-2, 3, (20, 3))
    x = box.to_cartesian(frac)
    xu = x + img @ box.matrix
    fracu = frac + img
    lo = [float(v) for v in box.origin]
    hi = [float(v) for v in box.origin + np.diag(box.matrix)]
    xy, xz, yz = 3.0, -2.0, 1.0
    bb = (f"xy xz yz pp pp pp\n{lo[0] + min(0, xy, xz, xy + xz)!r} {hi[0] + max(0, xy, xz, xy + xz)!r} {xy}\n"
          f"{lo[1] + min(0, yz)!r} {hi[1] + max(0, yz)!r} {xz}\n{lo[2]!r} {hi[2]!r} {yz}")
    ids = np.arange(1, 21)
    fmt = lambda arr: [f"{i} 1 " + " ".join(repr(float(v)) for v in r) for i, r in zip(ids, arr)]  # noqa: E731
    files = {
        "x": dump_text(rows=fmt(x), box=bb),
        "xs": dump_text(rows=fmt(frac), cols="id type xs ys zs", box=bb),
        "xu": dump_text(rows=fmt(xu), cols="id type xu yu zu", box=bb),
        "xsu": dump_text(rows=fmt(fracu), cols="id type xsu ysu zsu", box=bb),
        "xi": dump_text(rows=fmt(np.hstack([x, img])), cols="id type x y z ix iy iz", box=bb),
    }
    frames = {k: read_dump(write(tmp_path, v, k + ".dump")) for k, v in files.items()}
    for k, f in frames.items():
        assert f.box.same_as(box)
        np.testing.assert_allclose(box.minimum_image(f.positions - x), 0, atol=1e-9, err_msg=k)
    for k in ("xu", "xsu", "xi"):
        np.testing.assert_allclose(frames[k].unwrapped_positions(), xu, atol=1e-9, err_msg=k)
    np.testing.assert_array_equal(frames["xi"].images, img)
    assert frames["x"].unwrapped is None and frames["x"].images is None
    # wrapped positions from unwrapped-only dumps lie in the cell
    f = box.to_fractional(frames["xu"].positions)
    assert np.all((f >= -1e-12) & (f < 1 + 1e-12))


def test_extra_columns_kept_as_written(tmp_path):
    rows = ["3 2 1 1 0 -5.5 7 0.25 a", "1 1 2 2 0 -6.0 8 0.5 b", "2 1 3 3 0 -4.0 9 0.75 c"]
    p = write(tmp_path, dump_text(rows=rows, cols="id type x y z c_pe v_foo f_x[1] element"))
    f = read_dump(p)
    assert list(f.properties) == ["c_pe", "v_foo", "f_x[1]", "element"]
    np.testing.assert_array_equal(f.properties["c_pe"], [-5.5, -6.0, -4.0])
    np.testing.assert_array_equal(f.properties["element"], ["a", "b", "c"])
    assert list(f.ids) == [3, 1, 2]  # file order kept
    s = f.sorted_by_id()
    np.testing.assert_array_equal(s.properties["f_x[1]"], [0.5, 0.75, 0.25])


def test_frame_selection_count_and_timesteps(tmp_path):
    text = "".join(dump_text(ts=10 * k, rows=[f"1 1 {k} 1 0", "2 1 1 1 0"]) for k in range(7))
    text = "ITEM: UNITS\nlj\nITEM: TIME\n0.0\n" + text.replace("ITEM: TIMESTEP\n30", "ITEM: TIME\n0.3\nITEM: TIMESTEP\n30")
    p = write(tmp_path, text)
    assert count_frames(p) == 7
    np.testing.assert_array_equal(dump_timesteps(p), np.arange(7) * 10)
    assert [f.timestep for f in iter_dump(p, slice(1, None, 2))] == [10, 30, 50]
    assert [f.index for f in iter_dump(p, [6, 0, -2])] == [6, 0, 5]
    assert read_dump(p, -1).positions[0, 0] == 6.0
    assert read_dump(p, 2).positions[0, 0] == 2.0  # frame 2 precedes a TIME item: block ends at ITEM:
    with pytest.raises(InputError, match="frame index 7 is out of range: the dump holds 7"):
        read_dump(p, 7)
    assert len(load_frames(p, slice(0, 3))) == 3


def test_gzip(tmp_path):
    p = tmp_path / "a.dump.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(dump_text() + dump_text(ts=200))
    assert count_frames(str(p)) == 2
    assert read_dump(str(p), 1).timestep == 200


def test_type_labels(tmp_path):
    f = read_dump(write(tmp_path, dump_text(rows=["1 Si 0 0 0", "2 O 1 1 0", "3 Si 2 2 0"])))
    np.testing.assert_array_equal(f.types, [2, 1, 2])
    np.testing.assert_array_equal(f.properties["type_label"], ["Si", "O", "Si"])


# ------------------------------------------------------------------ bad input
def assert_names(err, path, index, ts, ids=None):
    msg = str(err.value)
    assert path in msg and f"frame {index}" in msg and f"timestep {ts}" in msg, msg
    if ids is not None:
        assert err.value.atom_ids == ids, msg
        assert ", ".join(map(str, ids)) in msg


def test_bad_missing_box(tmp_path):
    p = write(tmp_path, dump_text(box=None))
    with pytest.raises(InputError, match="no 'ITEM: BOX BOUNDS'") as e:
        read_dump(p)
    assert_names(e, p, 0, 100)


@pytest.mark.parametrize("flags", ["ff pp pp", "pp ss pp", "pp pp fm"])
def test_bad_non_periodic(tmp_path, flags):
    p = write(tmp_path, dump_text(box=f"{flags}\n0 10\n0 10\n-1 1", rows=["1 1 1 1 0.1", "2 1 2 2 0.3"]))
    with pytest.raises(InputError, match="need periodic boundaries") as e:
        read_dump(p)
    assert_names(e, p, 0, 100)
    assert flags.split()[[b != "pp" for b in flags.split()].index(True)] in str(e.value)


def test_2d_with_nonperiodic_z_is_fine(tmp_path):
    # in 2D only x and y matter
    f = read_dump(write(tmp_path, dump_text(box="pp pp ff\n0 10\n0 10\n-0.5 0.5")))
    assert f.dimension == 2


def test_bad_nan_coordinates(tmp_path):
    text = dump_text(ts=0) + dump_text(ts=500, rows=["7 1 1 2 0", "8 1 nan 2 0", "9 1 3 inf 0", "5 1 1 1 0"])
    p = write(tmp_path, text)
    read_dump(p, 0)
    with pytest.raises(InputError, match="2 atoms have NaN or infinite coordinates") as e:
        read_dump(p, 1)
    assert_names(e, p, 1, 500, [8, 9])


def test_bad_duplicate_ids(tmp_path):
    p = write(tmp_path, dump_text(ts=42, rows=["4 1 1 2 0", "6 1 2 2 0", "4 1 3 3 0", "6 2 4 4 0", "1 1 5 5 0"]))
    with pytest.raises(InputError, match="2 atom ids occur more than once") as e:
        read_dump(p)
    assert_names(e, p, 0, 42, [4, 6])


def test_bad_empty_frame(tmp_path):
    p = write(tmp_path, dump_text() + dump_text(ts=7, rows=[]))
    with pytest.raises(InputError, match="holds no atoms") as e:
        list(iter_dump(p))
    assert_names(e, p, 1, 7)


def test_bad_truncated_atom_lines(tmp_path):
    text = dump_text() + dump_text(ts=300, rows=["1 1 1 2 0", "2 1 2 3 0"], natoms=5)
    p = write(tmp_path, text)
    assert count_frames(p) == 2
    with pytest.raises(InputError, match="truncated: NUMBER OF ATOMS is 5 but only 2 atom line") as e:
        read_dump(p, 1)
    assert_names(e, p, 1, 300, [2])
    # the complete frames remain readable
    assert [f.timestep for f in iter_dump(p, slice(0, -1))] == [100]


def test_bad_truncated_mid_line(tmp_path):
    text = dump_text(ts=300)
    p = write(tmp_path, text[: text.rindex("9.9") + 2])  # cut inside the last atom line
    with pytest.raises(InputError, match="truncated") as e:
        read_dump(p)
    assert_names(e, p, 0, 300, [2])
    assert "cut after 3 of 5 columns" in str(e.value)


def test_bad_truncated_header(tmp_path):
    text = dump_text() + "ITEM: TIMESTEP\n200\nITEM: NUMBER OF ATOMS\n3\nITEM: BOX BOU"
    p = write(tmp_path, text)
    with pytest.raises(InputError, match="header is cut off") as e:
        read_dump(p, 1)
    assert_names(e, p, 1, 200)
    p2 = write(tmp_path, dump_text() + "ITEM: TIMESTEP\n", "b.dump")
    with pytest.raises(InputError, match=r"frame 1: .*cut off"):
        read_dump(p2, 1)


@pytest.mark.parametrize("cols,what", [("type x y z", "'id'"), ("x y z", "no 'id' and no 'type' column"),
                                       ("id type vx vy vz", "no position columns")])
def test_bad_missing_columns(tmp_path, cols, what):
    p = write(tmp_path, dump_text(ts=9, rows=["1 1 1 2 0", "2 1 2 3 0"], cols=cols))
    with pytest.raises(InputError) as e:
        read_dump(p)
    assert what in str(e.value)
    assert_names(e, p, 0, 9)


def test_missing_type_column_reads_one_species_with_a_warning(tmp_path):
    """A dump without 'type' (dump custom ... id x y z q) is read as one species, type 1, and says so."""
    p = write(tmp_path, dump_text(ts=9, rows=["1 1.0 2.0 0.5 0.1", "2 2.0 3.0 0.5 0.2", "3 4.0 1.0 0.5 0.3"],
                                  cols="id x y z q"))
    with pytest.warns(ld.SingleSpeciesWarning, match=r"a.dump: the dump has no 'type' column .* type 1 \(one species\)"):
        f = read_dump(p)
    np.testing.assert_array_equal(f.types, [1, 1, 1])
    np.testing.assert_array_equal(f.ids, [1, 2, 3])
    assert f.dimension == 2 and f.properties["q"].tolist() == [0.1, 0.2, 0.3]
    assert "type" not in f.properties


@pytest.mark.parametrize("suffix,module", [(".bz2", "bz2"), (".xz", "lzma")])
def test_bz2_and_xz(tmp_path, suffix, module):
    opener = __import__(module).open
    p = tmp_path / f"a.dump{suffix}"
    with opener(p, "wt") as fh:
        fh.write(dump_text() + dump_text(ts=200))
    assert count_frames(str(p)) == 2 and ld.is_dump_file(str(p))
    assert ld.dump_columns(str(p)) == ["id", "type", "x", "y", "z"]
    assert read_dump(str(p), 1).timestep == 200
    np.testing.assert_array_equal(read_dump(str(p), 0).positions, read_dump(write(tmp_path, dump_text())).positions)
    bad = tmp_path / f"bad.dump{suffix}"
    bad.write_bytes(b"this is not compressed")
    with pytest.raises(InputError, match=r"bad.dump.*cannot"):
        read_dump(str(bad))


def test_windows_line_ends(tmp_path):
    p = tmp_path / "crlf.dump"
    p.write_bytes((dump_text() + dump_text(ts=200)).replace("\n", "\r\n").encode())
    ref = read_dump(write(tmp_path, dump_text()))
    f = read_dump(str(p), 1)
    assert f.timestep == 200
    np.testing.assert_array_equal(f.positions, ref.positions)
    np.testing.assert_array_equal(f.types, ref.types)


def test_bad_not_a_dump(tmp_path):
    p = write(tmp_path, "hello\nworld\n")
    with pytest.raises(InputError, match="not a LAMMPS text dump"):
        read_dump(p)
    with pytest.raises(InputError, match="the file is empty"):
        read_dump(write(tmp_path, "", "e.dump"))
    with pytest.raises(InputError, match="no such dump file"):
        read_dump(str(tmp_path / "missing.dump"))


def test_bad_extra_atom_lines(tmp_path):
    p = write(tmp_path, dump_text(rows=["1 1 1 2 0", "2 1 2 3 0", "3 1 1 1 0"], natoms=2))
    with pytest.raises(InputError, match="3 atom lines but NUMBER OF ATOMS is 2"):
        read_dump(p)


# ------------------------------------------------------------------ writing
def random_frame(d=2, n=40, tri=True, seed=0, **kw):
    rng = np.random.default_rng(seed)
    m = np.diag([7.0] * d)
    if tri:
        m[1, 0] = 1.3
        if d == 3:
            m[2, 0], m[2, 1] = -0.7, 0.4
    box = Box(m, origin=rng.random(d) - 0.5)
    return Frame(box.to_cartesian(rng.random((n, d))), rng.integers(1, 4, n), box,
                 ids=rng.permutation(n) + 1, **kw)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("tri", [False, True])
def test_write_read_roundtrip_exact(tmp_path, d, tri):
    rng = np.random.default_rng(d)
    n = 40
    f = random_frame(d, n, tri, images=rng.integers(-3, 3, (n, d)),
                     unwrapped=rng.random((n, d)) * 30 - 15,
                     properties={"c_pe": rng.normal(size=n) * 1e-7 + 1 / 3, "Theta_L2.0": rng.random(n),
                                 "vec": rng.random((n, 3)), "count": rng.integers(0, 9, n),
                                 "flag": rng.random(n) > 0.5, "label": np.array(["A", "B"] * 20)},
                     timestep=1234)
    p = str(tmp_path / "w.dump")
    assert write_dump(p, f) == p
    g = read_dump(p)
    assert g.dimension == d and g.timestep == 1234
    np.testing.assert_array_equal(g.positions, f.positions)  # %.17g round-trips float64 exactly
    np.testing.assert_array_equal(g.unwrapped, f.unwrapped)
    np.testing.assert_array_equal(g.images, f.images)
    np.testing.assert_array_equal(g.ids, f.ids)
    np.testing.assert_array_equal(g.types, f.types)
    np.testing.assert_allclose(g.box.matrix, f.box.matrix, rtol=0, atol=1e-14)
    np.testing.assert_allclose(g.box.origin, f.box.origin, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(g.properties["c_pe"], f.properties["c_pe"])
    np.testing.assert_array_equal(g.properties["Theta_L2.0"], f.properties["Theta_L2.0"])
    for k in range(3):
        np.testing.assert_array_equal(g.properties[f"vec[{k + 1}]"], f.properties["vec"][:, k])
    np.testing.assert_array_equal(g.properties["count"], f.properties["count"])
    np.testing.assert_array_equal(g.properties["flag"], f.properties["flag"].astype(float))
    np.testing.assert_array_equal(g.properties["label"], f.properties["label"])


def test_write_2d_keeps_z_bounds_and_columns_subset(tmp_path):
    text = dump_text(box="pp pp pp\n0 10\n0 10\n-2.5 3.5", rows=["1 1 1 2 0 0.5", "2 2 3 4 0 0.25"],
                     cols="id type x y z c_a")
    f = read_dump(write(tmp_path, text)).with_properties(c_b=np.array([7.0, 8.0]))
    out = str(tmp_path / "o.dump")
    write_dump(out, f, columns=["c_b"])
    lines = open(out).read().splitlines()
    assert lines[7] == "-2.5 3.5"
    assert lines[8] == "ITEM: ATOMS id type x y z c_b"
    assert lines[9] == "1 1 1 2 0 7"
    with pytest.raises(InputError, match="no per-atom property 'nope'"):
        write_dump(out, f, columns=["nope"])
    # a 2D frame made in memory gets the LAMMPS default z range
    write_dump(out, random_frame(2, tri=False))
    assert open(out).read().splitlines()[7] == "-0.5 0.5"


def test_write_general_cell_is_rotated(tmp_path):
    # an OVITO/MDAnalysis cell need not be LAMMPS-restricted: a along (1,1,0)
    rng = np.random.default_rng(2)
    R = np.array([[1, 1, 0], [-1, 1, 0], [0, 0, np.sqrt(2)]]) / np.sqrt(2)
    m = np.array([[6.0, 0, 0], [1.0, 5.0, 0], [0.5, -0.3, 7.0]]) @ R
    box = Box(m)
    f = Frame(box.to_cartesian(rng.random((30, 3))), np.ones(30, int), box)
    p = str(tmp_path / "r.dump")
    write_dump(p, f)
    g = read_dump(p)
    np.testing.assert_allclose(g.box.matrix, [[6.0, 0, 0], [1.0, 5.0, 0], [0.5, -0.3, 7.0]], atol=1e-12)
    # distances are invariant under the rotation
    d_f = np.linalg.norm(f.positions[:, None] - f.positions[None], axis=-1)
    d_g = np.linalg.norm(g.positions[:, None] - g.positions[None], axis=-1)
    np.testing.assert_allclose(d_f, d_g, atol=1e-12)


def test_append_mode(tmp_path):
    p = str(tmp_path / "t.dump")
    frames = [random_frame(3, seed=k, timestep=k * 10) for k in range(3)]
    write_dump(p, frames[0])
    write_dump(p, frames[1:], append=True)
    assert count_frames(p) == 3
    got = list(iter_dump(p))
    for a, b in zip(got, frames):
        assert a.timestep == b.timestep
        np.testing.assert_array_equal(a.positions, b.positions)
    write_dump(p, frames[2])  # overwrite (no append)
    assert count_frames(p) == 1


def test_write_interrupted_leaves_target_untouched(tmp_path):
    p = tmp_path / "keep.dump"
    write_dump(str(p), random_frame(2, seed=1, timestep=5))
    before = p.read_bytes()
    frames = [random_frame(2, seed=2, n=200_000 // 1000), random_frame(2, seed=3)]
    calls = {"n": 0}
    real = ld._write_frame

    def failing(fh, frame, columns, fmt, chunk=50_000):
        calls["n"] += 1
        if calls["n"] == 2:  # the first frame is already in the temporary file
            fh.write("ITEM: TIMESTEP\n")
            raise OSError("disk full (injected)")
        return real(fh, frame, columns, fmt, chunk)

    for append in (False, True):
        calls["n"] = 0
        with mock.patch.object(ld, "_write_frame", failing):
            with pytest.raises(OSError, match="injected"):
                write_dump(str(p), frames, append=append)
        assert p.read_bytes() == before
        assert sorted(os.listdir(tmp_path)) == ["keep.dump"]  # no temporary file left
    # a new target that fails is never created
    with mock.patch.object(ld, "_write_frame", side_effect=KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            write_dump(str(tmp_path / "new.dump"), frames)
    assert sorted(os.listdir(tmp_path)) == ["keep.dump"]


def test_write_bad_inputs(tmp_path):
    f = random_frame(2)
    with pytest.raises(InputError, match="clashes with a standard dump column"):
        write_dump(str(tmp_path / "a.dump"), f.with_properties(xu=np.zeros(40)))
    with pytest.raises(InputError, match="does not exist"):
        write_dump(str(tmp_path / "nodir" / "a.dump"), f)
    with pytest.raises(InputError, match="no frames"):
        write_dump(str(tmp_path / "a.dump"), [])
    assert not os.path.exists(tmp_path / "a.dump")


def test_index_cache_follows_file_changes(tmp_path):
    p = str(tmp_path / "c.dump")
    write_dump(p, random_frame(2, timestep=1))
    assert count_frames(p) == 1
    write_dump(p, [random_frame(2, timestep=2)], append=True)
    assert count_frames(p) == 2


def test_bad_garbage_inside_atom_block_names_file_and_frame(tmp_path):
    # e.g. two processes wrote the same file: a non-number where a coordinate should be
    path = tmp_path / "garbage.dump"
    frame = Frame(np.random.default_rng(0).random((5, 2)) * 5, np.ones(5, int), Box.orthorhombic([5, 5]))
    write_dump(path, [frame, frame])
    lines = path.read_text().split("\n")
    second = [k for k, ln in enumerate(lines) if ln.startswith("ITEM: ATOMS")][1]
    lines[second + 2] = lines[second + 2].split()[0] + " 1 abc 2.0 0"
    path.write_text("\n".join(lines))
    assert len(list(iter_dump(path, frames=[0]))) == 1
    with pytest.raises(InputError, match=r"garbage\.dump, frame 1: the frame is corrupt.*abc"):
        read_dump(path, 1)


def test_append_only_writes_the_new_frames(tmp_path):
    # appending opens the file in append mode: the old bytes are neither read nor rewritten, the
    # file keeps its inode, and what is added is exactly the new frame as a fresh file holds it
    p = tmp_path / "a.dump"
    frames = [random_frame(2, seed=k, timestep=k) for k in range(3)]
    write_dump(p, frames[:2])
    before, inode = p.read_bytes(), os.stat(p).st_ino
    opened = []
    real_open = open

    def spy(file, mode="r", *args, **kwargs):
        if os.fspath(file) == str(p):
            opened.append(mode)
        return real_open(file, mode, *args, **kwargs)

    with mock.patch("builtins.open", spy):
        write_dump(p, frames[2], append=True)
    assert opened == ["a"]
    assert os.stat(p).st_ino == inode
    after = p.read_bytes()
    write_dump(tmp_path / "one.dump", frames[2])
    assert after[:len(before)] == before
    assert after[len(before):] == (tmp_path / "one.dump").read_bytes()
    assert [f.timestep for f in iter_dump(p)] == [0, 1, 2]


def test_append_failure_truncates_back_to_the_old_length(tmp_path):
    p = tmp_path / "a.dump"
    write_dump(p, random_frame(3, seed=0, timestep=0))
    before, inode = p.read_bytes(), os.stat(p).st_ino
    real = ld._write_frame
    calls = {"n": 0}

    def failing(fh, frame, columns, fmt, chunk=50_000):
        calls["n"] += 1
        if calls["n"] == 2:  # the first new frame is written, the second fails half-way
            real(fh, frame, columns, fmt, chunk)
            raise KeyboardInterrupt
        return real(fh, frame, columns, fmt, chunk)

    with mock.patch.object(ld, "_write_frame", failing):
        with pytest.raises(KeyboardInterrupt):
            write_dump(p, [random_frame(3, seed=1, timestep=1), random_frame(3, seed=2, timestep=2)], append=True)
    assert p.read_bytes() == before and os.stat(p).st_ino == inode
    with pytest.raises(InputError, match="write_dump needs Frame objects"):
        write_dump(p, [random_frame(3, seed=1, timestep=1), "not a frame"], append=True)
    assert p.read_bytes() == before
    with pytest.raises(InputError, match="no frames"):
        write_dump(p, [], append=True)
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["a.dump"]
