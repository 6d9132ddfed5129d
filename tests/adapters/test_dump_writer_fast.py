"""The vectorised number formatting of the dump writer: byte-identical to Python's '%' formatting,
exact round trips, and wide dumps read back by glassdyn, OVITO and MDAnalysis."""
import warnings
from unittest import mock

import numpy as np
import pytest

from glassdyn import Box, Frame
from glassdyn.adapters import numformat
from glassdyn.adapters.lammps_dump import read_dump, write_dump


def reference(arrays, fmts):
    row = " ".join(fmts) + "\n"
    return "".join(row % tuple(r) for r in zip(*[np.asarray(a).tolist() for a in arrays])).encode()


def tricky_values(rng, n):
    bits = rng.integers(0, 2**63, n, dtype=np.int64).view(np.float64).copy()  # every exponent
    bits[~np.isfinite(bits)] = 1.5
    special = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 5e-324, -2.2250738585072014e-308, 1e-300, 1.7976931348623157e308,
                        1e280, 9.999999999999999e279, 1e-280, 0.1, 0.5, -0.25, 1.00000762939453125, 2.5, 1e16, 1e17,
                        9.999999999999998e16, 123456789012345678.0, 1e-5, 9.99999999999999e-5, 0.0001, 1e21, 1e22, 1e23])
    decimal_like = np.array([round(v, d) for v, d in zip(rng.normal(size=n) * 10.0 ** rng.integers(-6, 8, n),
                                                          rng.integers(0, 9, n).tolist())])
    near_pow10 = np.nextafter(10.0 ** rng.integers(-25, 25, n), rng.choice([-np.inf, np.inf], n))
    return [bits[:n], rng.random(n), decimal_like, near_pow10, np.resize(special, n) * rng.choice([-1, 1], n)]


@pytest.mark.parametrize("precision", [17, 16, 15, 10, 6, 1])
def test_format_rows_is_byte_identical_to_percent(precision):
    rng = np.random.default_rng(precision)
    n = 5000
    cols = tricky_values(rng, n)
    fmt = f"%.{precision}g"
    arrays = [np.arange(n) - 2500, rng.integers(1, 4, n).astype(float)] + cols + [rng.integers(-10**15, 10**15, n)]
    fmts = ["%d", "%d"] + [fmt] * len(cols) + ["%d"]
    assert numformat.format_rows(arrays, fmts) == reference(arrays, fmts)
    # the same with small row blocks and threads (blocks are joined in order)
    with mock.patch.object(numformat, "BLOCK_VALUES", 700):
        assert numformat.format_rows(arrays, fmts, n_jobs=3) == reference(arrays, fmts)


def test_format_rows_round_trips_every_float64():
    rng = np.random.default_rng(7)
    x = np.concatenate(tricky_values(rng, 40000))
    x = x[np.isfinite(x)]
    text = numformat.format_rows([x], ["%.17g"]).split()
    back = np.array([float(t) for t in text])
    np.testing.assert_array_equal(back.view(np.int64), x.view(np.int64))  # bit for bit, -0.0 included


def test_unsupported_formats_keep_the_row_path(tmp_path):
    assert numformat.supported("%.17g") and numformat.supported("%d") and numformat.supported("%.1g")
    assert not any(numformat.supported(f) for f in ("%.18g", "%.6f", "%e", "%s", "%.0g", "%10.4g"))
    f = Frame(np.array([[0.5, 1.25], [2.0, 3.0]]), [1, 2], Box.orthorhombic([5, 5]),
              properties={"c_a": np.array([1 / 3, 2 / 3])})
    p = tmp_path / "f.dump"
    write_dump(p, f, float_format="%.6f")
    assert p.read_text().splitlines()[-1] == "2 2 2.000000 3.000000 0.000000 0.666667"


def wide_frame(n=3000, seed=0, extra=60):
    rng = np.random.default_rng(seed)
    L = np.sqrt(n / 1.2)
    box = Box.orthorhombic([L, L])
    props = {f"f{k}_L{0.5 * (k % 10 + 1):.1f}": rng.random(n) * 10.0 ** (k % 7 - 3) for k in range(extra)}
    props["c_pe"] = rng.normal(size=n)
    props["c_pe"][:4] = [np.nan, np.inf, -0.0, 1e-300]
    props["count"] = rng.integers(0, 9, n)
    props["flag"] = rng.random(n) > 0.5
    return Frame(rng.random((n, 2)) * L, rng.integers(1, 3, n), box, ids=rng.permutation(n) + 1,
                 images=rng.integers(-2, 3, (n, 2)), properties=props, timestep=4200)


def test_wide_dump_is_byte_identical_to_the_row_writer(tmp_path):
    f = wide_frame()
    fast, slow = tmp_path / "fast.dump", tmp_path / "slow.dump"
    write_dump(fast, f)
    with mock.patch.object(numformat, "supported", return_value=False):
        write_dump(slow, f)
    assert fast.read_bytes() == slow.read_bytes()


def test_wide_dump_reads_back_in_glassdyn(tmp_path):
    f = wide_frame()
    p = tmp_path / "w.dump"
    write_dump(p, f)
    g = read_dump(p)
    assert g.timestep == 4200
    np.testing.assert_array_equal(g.ids, f.ids)
    np.testing.assert_array_equal(g.positions, f.positions)
    np.testing.assert_array_equal(g.images, f.images)
    for k, v in f.properties.items():
        np.testing.assert_array_equal(g.properties[k], np.asarray(v, dtype=float))


@pytest.mark.ovito
def test_wide_dump_reads_back_in_ovito(tmp_path):
    pytest.importorskip("ovito")
    from ovito.io import import_file

    f = wide_frame(n=500)
    p = str(tmp_path / "w.dump")
    write_dump(p, f)
    data = import_file(p).compute(0)
    parts = data.particles
    np.testing.assert_array_equal(np.asarray(parts["Particle Identifier"]), f.ids)
    np.testing.assert_allclose(np.asarray(parts["Position"])[:, :2], f.positions, rtol=0, atol=1e-12)
    # OVITO lower-cases custom names and turns '.' into '_'; its own number parser can be 1 ulp off
    for k in (0, 7, 59):
        name = f"f{k}_L{0.5 * (k % 10 + 1):.1f}"
        np.testing.assert_allclose(np.asarray(parts[name.lower().replace(".", "_")]), f.properties[name], rtol=1e-15)
    np.testing.assert_allclose(np.asarray(parts["c_pe"]), f.properties["c_pe"], rtol=1e-15)  # nan, inf, -0 too
    np.testing.assert_array_equal(np.asarray(parts["count"]), f.properties["count"])


def test_wide_dump_reads_back_in_mdanalysis(tmp_path):
    mda = pytest.importorskip("MDAnalysis")
    f = wide_frame(n=500)
    p = str(tmp_path / "w.dump")
    write_dump(p, f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(p, format="LAMMPSDUMP")
    order = np.argsort(f.ids)
    np.testing.assert_array_equal(u.atoms.ids, f.ids[order])
    np.testing.assert_allclose(u.atoms.positions[:, :2], f.positions[order], rtol=1e-6, atol=1e-4)  # float32
