"""Frame / Box validation: every bad input raises InputError naming the source, frame and atoms."""
import numpy as np
import pytest

from glassdyn import Box, Frame, InputError


def make(n=6, d=2, **kw):
    rng = np.random.default_rng(0)
    args = dict(positions=rng.random((n, d)) * 4.0, types=np.ones(n, int), box=Box.orthorhombic([4.0] * d),
                ids=np.arange(10, 10 + n), source="conf.dump", index=3)
    args.update(kw)
    return Frame(**args)


def test_valid_frame_roundtrip_fields():
    f = make(d=3)
    assert f.dimension == 3 and f.n_atoms == 6
    assert f.label == "conf.dump, frame 3"


def test_nan_coordinates_named():
    pos = np.random.default_rng(1).random((6, 2)) * 4
    pos[2, 0] = np.nan
    pos[4, 1] = np.inf
    with pytest.raises(InputError) as e:
        make(positions=pos)
    msg = str(e.value)
    assert "conf.dump" in msg and "frame 3" in msg and "NaN or infinite" in msg
    assert e.value.atom_ids == [12, 14]
    assert "12, 14" in msg


def test_duplicate_ids_named():
    with pytest.raises(InputError) as e:
        make(ids=[1, 2, 3, 2, 5, 5])
    assert "more than once" in str(e.value)
    assert e.value.atom_ids == [2, 5]
    assert "conf.dump, frame 3" in str(e.value)


def test_empty_frame():
    with pytest.raises(InputError, match=r"conf.dump, frame 3: the frame holds no atoms"):
        make(n=0, ids=np.zeros(0, int))


def test_non_periodic_box():
    box = Box(np.diag([4.0, 4.0]), periodic=(True, False))
    with pytest.raises(InputError) as e:
        make(box=box)
    assert "not periodic" in str(e.value) and "boundary p p p" in str(e.value)


def test_missing_box():
    with pytest.raises(InputError, match="no simulation box"):
        make(box=None)


def test_bad_types_named():
    with pytest.raises(InputError) as e:
        make(types=[1, 0, 1, 1, -2, 1])
    assert e.value.atom_ids == [11, 14]


def test_wrong_shapes():
    with pytest.raises(InputError, match="types has 5 entries for 6 atoms"):
        make(types=[1] * 5)
    with pytest.raises(InputError, match="unwrapped"):
        make(unwrapped=np.zeros((5, 2)))
    with pytest.raises(InputError, match="property 'c_pe' has 2 rows for 6 atoms"):
        make(properties={"c_pe": np.zeros(2)})


def test_box_errors():
    with pytest.raises(InputError, match="non-positive volume"):
        Box(np.array([[1.0, 0], [0, -1.0]]))
    with pytest.raises(InputError, match="non-finite"):
        Box(np.array([[1.0, 0], [0, np.nan]]))
    with pytest.raises(InputError, match="2x2 or 3x3"):
        Box(np.eye(4))


def test_from_lammps_matches_cell_vectors():
    b = Box.from_lammps([1, 2, 3], [11, 14, 18], (2.0, -1.0, 0.5))
    np.testing.assert_allclose(b.matrix, [[10, 0, 0], [2, 12, 0], [-1, 0.5, 15]])
    np.testing.assert_allclose(b.origin, [1, 2, 3])
    assert b.volume == pytest.approx(10 * 12 * 15)
    b2 = Box.from_lammps([1, 2, -0.5], [11, 14, 0.5], (2.0, 0, 0), dimension=2)
    np.testing.assert_allclose(b2.matrix, [[10, 0], [2, 12]])


def test_wrap_and_unwrap_consistent_triclinic():
    rng = np.random.default_rng(3)
    box = Box(np.array([[5.0, 0, 0], [1.5, 4.0, 0], [-1.0, 0.7, 6.0]]), origin=[0.3, -1.0, 2.0])
    frac = rng.random((40, 3))
    pos = box.to_cartesian(frac)
    images = rng.integers(-3, 4, (40, 3))
    f = Frame(pos, np.ones(40, int), box, images=images)
    unw = f.unwrapped_positions()
    np.testing.assert_allclose(unw, pos + images @ box.matrix)
    np.testing.assert_allclose(box.wrap(unw), pos, atol=1e-12)
    with pytest.raises(InputError, match="no unwrapped coordinates"):
        Frame(pos, np.ones(40, int), box).unwrapped_positions()


def test_sorted_by_id_and_take():
    f = make(ids=[15, 11, 13, 10, 14, 12], properties={"a": np.arange(6.0)})
    s = f.sorted_by_id()
    assert list(s.ids) == [10, 11, 12, 13, 14, 15]
    assert list(s.properties["a"]) == [3, 1, 5, 2, 4, 0]
    np.testing.assert_array_equal(s.positions[0], f.positions[3])
