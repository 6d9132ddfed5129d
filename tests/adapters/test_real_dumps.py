"""Real LAMMPS dumps from another project: every dump MDAnalysisTests ships either loads with the
positions, ids, types and box that OVITO's reader gives (atoms matched by id), or is refused with a
clear InputError naming the file. glassdyn's MDAnalysis adapter gives the same coordinates (it undoes
MDAnalysis' box-origin shift, also when the origin moves between frames).

Needs ``pip install MDAnalysisTests`` (113 MB installed); skipped otherwise."""
from __future__ import annotations

import bz2
import gzip
import os
import re
import shutil
import warnings

import numpy as np
import pytest

from glassdyn.adapters import iter_dump, load_frames
from glassdyn.adapters.lammps_dump import SingleSpeciesWarning, dump_columns, open_dump
from glassdyn.errors import InputError

try:
    import MDAnalysisTests
    DATA = os.path.join(os.path.dirname(MDAnalysisTests.__file__), "data")
except ImportError:  # pragma: no cover - depends on the environment
    DATA = None

pytestmark = pytest.mark.skipif(DATA is None, reason="MDAnalysisTests is not installed (pip install MDAnalysisTests): "
                                "the real-file reader tests need the LAMMPS dumps it ships")

_NAME = re.compile(r"(lammpstrj|\.dump|lammpsdump)", re.IGNORECASE)
#: dumps glassdyn refuses, with the reason its message must give
REFUSED = {
    "lammps/spce_no_coords.lammpstrj.bz2": "the dump has no position columns (columns: id type)",
    # every atom line has one value more than the ATOMS header names (OVITO silently shifts the columns)
    "lammps/wat.lammpstrj_long.bz2": "atom line 1 of the frame has 6 values but the ATOMS header names 5 columns",
}
#: dumps without a 'type' column: one species, with a warning
SINGLE_SPECIES = {"lammps/additional_columns.lammpstrj"}


def _is_dump(path: str) -> bool:
    try:
        with open_dump(path) as fh:
            return fh.read(64).lstrip().startswith(b"ITEM: TIMESTEP")
    except (OSError, EOFError, ValueError):
        return False


def _real_dumps() -> list[str]:
    if DATA is None:
        return []
    out = []
    for root, _, files in os.walk(DATA):
        for name in files:
            path = os.path.join(root, name)
            if _NAME.search(name) and not name.endswith((".py", ".pyc")) and _is_dump(path):
                out.append(os.path.relpath(path, DATA))
    return sorted(out)


DUMPS = _real_dumps()


def test_the_dumps_are_found():
    # MDAnalysisTests 2.11: 11 dumps in data/lammps, one in data/windows, one in data/analysis/msd
    assert len(DUMPS) >= 12, DUMPS
    assert {"lammps/wat.lammpstrj.bz2", "lammps/albite_triclinic.dump", "lammps/spce_all_coords.lammpstrj.bz2",
            "windows/WIN_wat.lammpstrj"} <= set(DUMPS)
    assert set(REFUSED) | SINGLE_SPECIES <= set(DUMPS)


def _plain_copy(path: str, tmp_path) -> str:
    """OVITO reads plain and gzipped dumps, not bz2: a decompressed copy."""
    if not path.endswith(".bz2"):
        return path
    out = tmp_path / os.path.basename(path)[:-4]
    with bz2.open(path, "rb") as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return str(out)


def _read_native(path: str):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frames = load_frames(path)
    return frames, [w for w in caught if issubclass(w.category, SingleSpeciesWarning)]


@pytest.mark.ovito
@pytest.mark.parametrize("rel", DUMPS)
def test_real_dump_loads_as_ovito_reads_it_or_is_refused_clearly(rel, tmp_path):
    pytest.importorskip("ovito")
    from ovito.io import import_file

    path = os.path.join(DATA, rel)
    if rel in REFUSED:
        with pytest.raises(InputError) as info:
            load_frames(path)
        msg = str(info.value)
        assert path in msg and REFUSED[rel] in msg, msg
        with pytest.raises(InputError):
            list(iter_dump(path))
        return
    frames, single = _read_native(path)
    assert bool(single) == (rel in SINGLE_SPECIES)
    if single:
        assert path in str(single[0].message)
    cols = set(dump_columns(path))
    unwrapped_only = not ({"x", "xs"} & cols)
    pipeline = import_file(_plain_copy(path, tmp_path))
    assert pipeline.num_frames == len(frames)
    for k, fr in enumerate(frames):
        data = pipeline.compute(k)
        parts = data.particles
        ids = np.asarray(parts["Particle Identifier"])
        order = np.argsort(ids)
        g = fr.sorted_by_id()
        np.testing.assert_array_equal(ids[order], g.ids, err_msg=f"{rel} frame {k}")
        d = g.dimension
        mine = g.unwrapped if unwrapped_only else g.positions
        np.testing.assert_allclose(np.asarray(parts.positions)[order][:, :d], mine, rtol=0, atol=1e-12,
                                   err_msg=f"{rel} frame {k}")
        if d == 2:  # detected 2D (all z equal): OVITO keeps that z
            assert np.ptp(np.asarray(parts.positions)[:, 2]) == 0.0
        if "Particle Type" in parts:
            np.testing.assert_array_equal(np.asarray(parts["Particle Type"])[order], g.types, err_msg=rel)
        else:
            assert rel in SINGLE_SPECIES and np.all(g.types == 1)
        cell = np.asarray(data.cell[...])
        np.testing.assert_allclose(cell[:d, :d].T, g.box.matrix, rtol=0, atol=1e-12, err_msg=f"{rel} frame {k}")
        np.testing.assert_allclose(cell[:d, 3], g.box.origin, rtol=0, atol=1e-12, err_msg=f"{rel} frame {k}")
        if fr.timestep is not None:
            assert data.attributes["Timestep"] == fr.timestep


def _small(rel: str) -> bool:
    return os.path.getsize(os.path.join(DATA, rel)) < 1_000_000


@pytest.mark.parametrize("rel", [r for r in DUMPS if r not in REFUSED and _small(r)])
def test_real_dump_gzipped_reads_the_same(rel, tmp_path):
    """LAMMPS writes dump.gz: the same file gzipped gives the same frames (the 1.9 MB bz2 file, whose
    decompression alone takes about a second, is left out to keep the suite fast)."""
    path = os.path.join(DATA, rel)
    gz = tmp_path / (os.path.basename(path).removesuffix(".bz2") + ".gz")
    with open_dump(path) as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    a, _ = _read_native(path)
    b, _ = _read_native(str(gz))
    assert len(a) == len(b)
    for fa, fb in zip(a, b):
        np.testing.assert_array_equal(fa.positions, fb.positions)
        np.testing.assert_array_equal(fa.ids, fb.ids)
        np.testing.assert_array_equal(fa.types, fb.types)
        np.testing.assert_array_equal(fa.box.matrix, fb.box.matrix)
        np.testing.assert_array_equal(fa.box.origin, fb.box.origin)


@pytest.mark.mdanalysis
@pytest.mark.parametrize("rel", [r for r in DUMPS if r not in REFUSED])
def test_real_dump_through_mdanalysis_matches_native(rel):
    """glassdyn's MDAnalysis adapter gives the file's coordinates and box origin (float32 round-off),
    although MDAnalysis itself moves the origin to 0 (twice for scaled columns)."""
    pytest.importorskip("MDAnalysis")
    from glassdyn.adapters.mdanalysis_data import frames_from_mdanalysis_file

    path = os.path.join(DATA, rel)
    native, _ = _read_native(path)
    # MDAnalysis seeks into a bz2 stream by decompressing it from the start: the first two and the last
    # frame of a long file are enough (every frame of the short ones)
    picked = list(range(len(native))) if len(native) <= 3 else [0, 1, len(native) - 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        via = list(frames_from_mdanalysis_file(path, picked))
    native = [native[k] for k in picked]
    assert len(via) == len(native)
    for k, (a, b) in enumerate(zip(native, via)):
        a = a.sorted_by_id()
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_array_equal(a.types, b.types)
        scale = 1.0 + np.abs(a.positions).max()
        np.testing.assert_allclose(b.positions, a.positions, rtol=0, atol=4e-7 * scale, err_msg=f"{rel} frame {k}")
        np.testing.assert_allclose(b.box.origin, a.box.origin, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b.box.matrix, a.box.matrix, rtol=1e-6, atol=1e-6)


@pytest.mark.mdanalysis
def test_mdanalysis_origin_shift_is_not_inherited():
    """wat.lammpstrj frame 1 (box origin 0.214) and albite_triclinic.dump (origin -0.32): raw MDAnalysis
    2.11 is off by the origin (twice for scaled columns); frame_from_mdanalysis is not, so displacements
    between frames whose origin moved carry no spurious shift."""
    mda = pytest.importorskip("MDAnalysis")
    from glassdyn.adapters.mdanalysis_data import frame_from_mdanalysis

    for rel, k in (("lammps/wat.lammpstrj.bz2", 1), ("lammps/albite_triclinic.dump", 0)):
        path = os.path.join(DATA, rel)
        native = load_frames(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            u = mda.Universe(path, format="LAMMPSDUMP")
        u.trajectory[k]
        ref = native[k].sorted_by_id()
        raw = np.asarray(u.atoms.positions, dtype=float)[np.argsort(u.atoms.ids)]
        lo = ref.box.origin
        assert np.abs(lo).max() > 0.1
        assert np.abs(raw - ref.positions).max() > 0.5 * np.abs(lo).max()      # MDAnalysis' shift
        mine = frame_from_mdanalysis(u.atoms).sorted_by_id()
        np.testing.assert_allclose(mine.positions, ref.positions, rtol=0, atol=1e-5)
        np.testing.assert_allclose(mine.box.origin, lo, rtol=0, atol=1e-12)
    # displacements frame 0 -> 1 of wat.lammpstrj: the same as the native reader's
    path = os.path.join(DATA, "lammps/wat.lammpstrj.bz2")
    native = [f.sorted_by_id() for f in load_frames(path)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(path, format="LAMMPSDUMP")
    got = []
    for k in (0, 1):
        u.trajectory[k]
        got.append(frame_from_mdanalysis(u.atoms).sorted_by_id().positions)
    np.testing.assert_allclose(got[1] - got[0], native[1].positions - native[0].positions, rtol=0, atol=1e-5)
