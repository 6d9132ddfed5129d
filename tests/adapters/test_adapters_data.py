"""LAMMPS data file reader: styles, tilt, 2D detection, image flags, bad input; load_frames dispatch."""
import numpy as np
import pytest

from glassdyn import InputError
from glassdyn.adapters import is_data_file, load_frames
from glassdyn.adapters.lammps_data import read_data_file

HEADER = """LAMMPS data file via write_data, version 22 Jul 2025, timestep = 1500, units = lj

{n} atoms
2 atom types

0.5 10.5 xlo xhi
-1 11 ylo yhi
{zlo} {zhi} zlo zhi
{tilt}
Masses

1 1
2 1

Pair Coeffs # lj/cut

1 1 1
2 1 1

"""


def data_text(rows, style="atomic", zlo=-0.5, zhi=0.5, tilt="", n=None, vel=True):
    text = HEADER.format(n=len(rows) if n is None else n, zlo=zlo, zhi=zhi, tilt=tilt)
    text += f"Atoms{' # ' + style if style else ''}\n\n" + "\n".join(rows) + "\n"
    if vel:
        text += "\nVelocities\n\n" + "\n".join(f"{r.split()[0]} 0.1 0.2 0.3" for r in rows) + "\n"
    return text


def write(tmp_path, text, name="a.data"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_atomic_2d_detected_with_images(tmp_path):
    rows = ["3 1 1.0 2.0 0.0 1 0 0", "1 2 4.0 5.0 0.0 0 -1 0", "2 1 7.0 8.0 0.0 0 0 0"]
    f = read_data_file(write(tmp_path, data_text(rows)))
    assert f.dimension == 2 and f.timestep == 1500 and f.index == 0
    np.testing.assert_array_equal(f.ids, [3, 1, 2])
    np.testing.assert_array_equal(f.positions, [[1, 2], [4, 5], [7, 8]])
    np.testing.assert_array_equal(f.images, [[1, 0], [0, -1], [0, 0]])
    np.testing.assert_allclose(f.box.matrix, np.diag([10.0, 12.0]))
    np.testing.assert_allclose(f.box.origin, [0.5, -1])
    np.testing.assert_allclose(f.unwrapped_positions()[0], [11, 2])
    assert read_data_file(write(tmp_path, data_text(rows), "b.data"), dimension=3).dimension == 3


def test_3d_tilt_and_charge_style(tmp_path):
    rows = ["1 1 0.5 1.0 2.0 3.0", "2 2 -0.5 4.0 5.0 6.0"]
    f = read_data_file(write(tmp_path, data_text(rows, style="charge", zlo=0, zhi=9, tilt="1.5 -2 0.25 xy xz yz\n")))
    assert f.dimension == 3
    np.testing.assert_allclose(f.box.matrix, [[10, 0, 0], [1.5, 12, 0], [-2, 0.25, 9]])
    np.testing.assert_array_equal(f.positions, [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(f.properties["q"], [0.5, -0.5])
    assert f.images is None


def test_style_from_argument_when_no_comment(tmp_path):
    rows = ["1 7 1 0.0 1.0 2.0", "2 7 2 0.0 4.0 5.0"]
    p = write(tmp_path, data_text(rows, style=None))
    with pytest.raises(InputError, match="does not match atom style 'atomic'"):
        read_data_file(p)
    f = read_data_file(p, atom_style="molecular")
    np.testing.assert_array_equal(f.types, [1, 2])
    np.testing.assert_array_equal(f.properties["mol"], [7, 7])
    assert f.dimension == 3  # columns are id mol type x y z: z = 2, 5
    np.testing.assert_array_equal(f.positions, [[0, 1, 2], [0, 4, 5]])


def test_bad_inputs(tmp_path):
    rows = ["1 1 1 2 3", "2 1 2 2 3", "3 1 3 3 3"]
    with pytest.raises(InputError, match=r"a.data, frame 0: the Atoms section is truncated: the header says 5"):
        read_data_file(write(tmp_path, data_text(rows, n=5, vel=False)))
    with pytest.raises(InputError, match="does not define the box"):
        read_data_file(write(tmp_path, data_text(rows).replace("0.5 10.5 xlo xhi", ""), "b.data"))
    with pytest.raises(InputError, match="no 'Atoms' section"):
        read_data_file(write(tmp_path, data_text(rows).split("Atoms")[0], "c.data"))
    with pytest.raises(InputError, match="atom style 'hybrid' is not supported"):
        read_data_file(write(tmp_path, data_text(rows, style="hybrid"), "d.data"))
    with pytest.raises(InputError) as e:
        read_data_file(write(tmp_path, data_text(["1 1 1 2 3", "2 1 nan 2 3", "1 1 3 3 3"]), "e.data"))
    assert "NaN" in str(e.value) and e.value.atom_ids == [2] and "e.data, frame 0" in str(e.value)
    with pytest.raises(InputError) as e:
        read_data_file(write(tmp_path, data_text(["4 1 1 2 3", "4 1 2 2 3", "1 1 3 3 3"]), "f.data"))
    assert "more than once" in str(e.value) and e.value.atom_ids == [4]
    with pytest.raises(InputError, match="no atoms"):
        read_data_file(write(tmp_path, data_text([], n=0), "g.data"))
    with pytest.raises(InputError, match="no such LAMMPS data file"):
        read_data_file(str(tmp_path / "nope.data"))


def test_load_frames_dispatch(tmp_path):
    rows = ["1 1 1.0 2.0 0.0", "2 2 4.0 5.0 0.0"]
    p = write(tmp_path, data_text(rows), "conf.lmp")
    assert is_data_file(p)
    (f,) = load_frames(p)
    assert f.n_atoms == 2 and f.dimension == 2
    with pytest.raises(InputError, match="holds one frame"):
        load_frames(p, slice(1, None))
    with pytest.raises(InputError, match="unknown reader"):
        dump = tmp_path / "x.dump"
        dump.write_text("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 1\n0 1\n0 1\n"
                        "ITEM: ATOMS id type x y z\n1 1 0 0 0\n")
        assert not is_data_file(str(dump))
        load_frames(str(dump), reader="nope")
