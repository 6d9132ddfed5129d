"""Vectorised, printf-identical text formatting of numeric columns (internal to the dump writer).

:func:`format_rows` returns exactly the bytes of ``"".join((" ".join(fmts) + "\\n") % row for row in
rows)`` for the formats the LAMMPS dump writer uses, without a Python call per number:

* ``%d``: integers (integer-valued floats, such as ids and types, are truncated as ``%d`` does),
  in int64 arithmetic;
* ``%.<P>g`` (``1 <= P <= 17``; the writer's default ``%.17g``): each value is scaled by a power
  of ten held as a double-double (``10**p = hi + lo`` to 2**-106), the product split exactly
  (Dekker's two-product, no FMA needed) and rounded to P significant digits half to even; the
  digits are laid out by the C ``%g`` rules (fixed notation for decimal exponents
  -4 <= X < P, else ``d.ddd...e+XX``; trailing zeros of the fraction and a bare point removed).

Exactness: exact ties (short binary fractions such as 1.00000762939453125 at 17 digits) are
decided exactly, half to even, like printf. Otherwise the double-double is within 2**-104 of
the exact scaled value, so the digits are printf's unless that value lies within about 2**-47
of a last-digit unit of a tie (not met in the tests, tens of millions of random bit patterns
and decimal-looking values). Even then a ``%.17g`` string stays within 0.5 + 2**-47 units of
its 17th digit of the value, less than half a unit in the last place of the float64, so the
written text always reads back to the identical float64.

NaN, infinities and magnitudes outside [1e-280, 1e280) (zero excepted) are formatted by Python's
``%`` operator one by one. Other formats (``%.6f``, ``%s``, ...) are not handled here:
:func:`supported` says which are, and the writer keeps its per-row formatting for the others.

Method: rows are processed in blocks; each block is rendered into a ``(rows, width)`` byte
matrix with fixed slots per column (unused slot bytes are NUL), and the NUL bytes are dropped
with one ``bytes.translate``. Blocks can be rendered by several threads (numpy releases the
GIL); the order of the output never depends on it.
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["supported", "format_rows"]

_G = re.compile(r"^%\.(\d{1,2})g$")
_PMIN, _PMAX = -300, 300  # power-of-ten table (the exponents used stay within -297 .. 296)
_LO, _HI = 1e-280, 1e280  # vectorised for |x| in [_LO, _HI) and 0
_SPLIT = 134217729.0  # 2**27 + 1 (Veltkamp splitting)
_NUL, _ZERO, _DOT, _MINUS, _PLUS, _E = 0, ord("0"), ord("."), ord("-"), ord("+"), ord("e")
#: Layout positions used by at most this fraction of the values of a block are left out and those
#: values formatted by Python (see :class:`_GColumns`).
RARE_FRACTION = 0.002
#: Values per block (rows x columns): 1 MB per float64 temporary, which stays in the caches.
BLOCK_VALUES = 1 << 17


def _precision(fmt: str) -> int | None:
    m = _G.match(fmt)
    if m is None:
        return None
    p = int(m.group(1))
    return p if 1 <= p <= 17 else None


def supported(fmt: str) -> bool:
    """True for the formats :func:`format_rows` reproduces exactly: ``%d`` and ``%.<P>g``, 1 <= P <= 17."""
    return fmt == "%d" or _precision(fmt) is not None


@lru_cache(maxsize=1)
def _pow10() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """10**p, p in [_PMIN, _PMAX], as double-doubles (hi, lo) and the Veltkamp halves of hi."""
    his, los = [], []
    for p in range(_PMIN, _PMAX + 1):
        exact = Fraction(10) ** p
        hi = float(exact)
        his.append(hi)
        los.append(float(exact - Fraction(hi)))
    hi = np.array(his)
    c = _SPLIT * hi
    hh = c - (c - hi)
    return hi, np.array(los), hh, hi - hh


@lru_cache(maxsize=1)
def _groups4() -> np.ndarray:
    """The ASCII of 0000 .. 9999 as uint32 words (memory order = character order), shape (10000,)."""
    text = "".join(f"{k:04d}" for k in range(10000)).encode()
    return np.frombuffer(text, dtype=np.uint8).view(np.uint32).copy()


def _digits(m: np.ndarray, width: int) -> np.ndarray:
    """ASCII digits of non-negative int64 ``m`` (< 10**width), zero padded: shape (n, width) uint8."""
    groups = -(-width // 4)
    table = _groups4()
    out = np.empty((len(m), groups), dtype=np.uint32)
    rest = m
    for g in range(groups - 1, -1, -1):
        q = rest // 10000
        out[:, g] = table[rest - q * 10000]
        rest = q
    return out.view(np.uint8)[:, 4 * groups - width:]


@lru_cache(maxsize=1)
def _tz4() -> np.ndarray:
    """Trailing decimal zeros of 0 .. 9999 as four-digit strings (4 for 0000), int64."""
    return np.array([4 - len(f"{k:04d}".rstrip("0")) for k in range(10000)], dtype=np.int64)


def _scaled(x, k):
    """x * 10**(k + _PMIN) as a normalised double-double (vh, vl); k indexes the table."""
    hi_t, lo_t, hh_t, hl_t = _pow10()
    b, bh, bl = hi_t[k], hh_t[k], hl_t[k]
    p = x * b
    c = _SPLIT * x
    ah = c - (c - x)
    al = x - ah
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    e += x * lo_t[k]
    vh = p + e
    vl = e - (vh - p)
    return vh, vl


def _decimal(x: np.ndarray, P: int):
    """P-digit decimal of float64 ``x``: (mantissa int64, exponent int64, sign, fallback mask).

    ``x = mantissa * 10**(exponent - P + 1)`` correctly rounded (see the module docstring);
    zeros get mantissa 0, exponent 0. ``fallback`` marks NaN, inf and extreme magnitudes.
    """
    a = np.abs(x)
    neg = np.signbit(x)
    ok = (a >= _LO) & (a < _HI)
    special = ~ok
    any_special = bool(special.any())
    if any_special:
        a = np.where(ok, a, 1.0)
    hi_t = _pow10()[0]
    _, e2 = np.frexp(a)
    E = ((e2 - 1) * 0.30102999566398120).astype(np.int64)  # floor(log10 a) or one less (a >= 1e-280)
    E -= e2 <= 0  # astype truncates towards zero: floor for negative products
    E += a >= hi_t[E + (1 - _PMIN)]
    k = (P - 1 - _PMIN) - E
    vh, vl = _scaled(a, k)
    top, bottom = 10.0 ** P, 10.0 ** (P - 1)
    bad = np.flatnonzero((vh >= top) | (vh <= bottom))
    if len(bad):  # a wrong exponent (near powers of ten) is off by one: fix and rescale those
        for _ in range(3):
            h, lo = vh[bad], vl[bad]
            up = (h > top) | ((h == top) & (lo >= 0.0))
            down = (h < bottom) | ((h == bottom) & (lo < 0.0))
            fix = bad[up | down]
            if len(fix) == 0:
                break
            E[fix] += up[up | down].astype(np.int64) - down[up | down]
            vh[fix], vl[fix] = _scaled(a[fix], (P - 1 - _PMIN) - E[fix])
            bad = fix
    if P == 17:  # vh >= 1e16 > 2**53 is an even integer: round vl half to even
        m = vh.astype(np.int64)
        m += np.rint(vl).astype(np.int64)
    else:
        f = np.floor(vh)
        r = (vh - f) + vl
        fr = np.floor(r)
        g = r - fr
        m = f.astype(np.int64)
        m += fr.astype(np.int64)
        m += (g > 0.5) | ((g == 0.5) & (m & 1).astype(bool))  # half to even
    over = np.flatnonzero(m >= 10 ** P)
    if len(over):
        m[over] = 10 ** (P - 1)
        E[over] += 1
    if any_special:
        m[special] = 0
        E[special] = 0
    return m, E, neg, special & (x != 0.0)


def _digit_words(m: np.ndarray, P: int, keep_fixed: np.ndarray | None, E: np.ndarray):
    """Digits of ``m`` (n,) as uint32 words with stripped trailing zeros set to NUL.

    Returns (words (n, G) uint32, pad, keep): the digit characters are
    ``words.view(uint8)[:, pad:pad + P]``; ``keep`` is the number of digits kept per value
    (trailing zeros stripped, but at least ``keep_fixed`` where that is positive, and at least 1).
    """
    n = len(m)
    G = -(-P // 4)
    pad = 4 * G - P
    table = _groups4()
    tz4 = _tz4()
    words = np.empty((n, G), dtype=np.uint32)
    rems = [None] * G
    rest = m
    for g in range(G - 1, 0, -1):
        q = rest // 10000
        r = rest - q * 10000
        rems[g] = r
        words[:, g] = table[r]
        rest = q
    rems[0] = rest  # most significant group (< 10**(4 - pad))
    words[:, 0] = table[rest]
    # trailing zeros from the last group; values whose last group is 0000 look further
    keep = P - tz4[rems[G - 1]]
    deep = np.flatnonzero(rems[G - 1] == 0)
    if len(deep):
        tz = np.full(len(deep), 4, dtype=np.int64)
        allz = np.ones(len(deep), dtype=bool)
        for g in range(G - 2, -1, -1):
            r = rems[g][deep]
            tz += allz * tz4[r]
            allz &= r == 0
        keep[deep] = P - tz
        keep[deep[m[deep] == 0]] = 1
    if keep_fixed is not None:
        np.maximum(keep, keep_fixed, out=keep, where=keep_fixed > 0)
    strip = np.flatnonzero(keep < P)
    if len(strip):
        chars = words.view(np.uint8)
        sub = chars[strip]
        sub *= np.arange(4 * G)[None, :] < (keep[strip] + pad)[:, None]
        chars[strip] = sub
    return words, pad, keep


@lru_cache(maxsize=1)
def _keep_masks() -> np.ndarray:
    """uint32 masks keeping the first c characters (memory order) of a word, c = 0..4."""
    b = np.zeros((5, 4), dtype=np.uint8)
    for c in range(5):
        b[c, :c] = 0xFF
    return b.view(np.uint32).reshape(5).copy()


class _GColumns:
    """%.Pg of a (rows, cols) float block: the digits, then the layout that fits every value.

    The slot of a value is a fixed sequence of character positions shared by the block: an
    optional sign, the ``0.`` and up to three ``0`` of fixed notation with X < 0, the P digits
    with a possible decimal point after digit j for each fixed-notation exponent X = j present
    (and after digit 0 for exponent notation), then ``e``, the exponent sign and digits.
    Positions a value does not use hold NUL, removed afterwards.
    """

    def __init__(self, x: np.ndarray, P: int, fmt: str):
        self.shape = x.shape
        self.P, self.fmt = P, fmt
        self.flat = x.ravel()
        m, E, neg, fb = _decimal(self.flat, P)
        fixed = (E >= -4) & (E < P)
        # integer digits of fixed notation are never stripped: keep >= X + 1 there
        keep_fixed = np.where(fixed, E + 1, 0)
        self.words, self.pad, keep = _digit_words(m, P, keep_fixed, E)
        self.E, self.neg, self.fixed, self.keep = E, neg, fixed, keep
        # A layout position that only a few values use (a sign, exponent notation, a third '0' after
        # '0.', a decimal point after digit j) costs a pass and a NUL byte for every value: such
        # values are formatted by Python instead, and the position is left out.
        rare = int(RARE_FRACTION * len(self.flat))

        def drop(mask):
            nonlocal fb
            count = int(np.count_nonzero(mask & ~fb))
            if 0 < count <= rare:
                fb = fb | mask
                return True
            return count == 0

        drop(neg)
        drop(~fixed)
        hist = np.bincount(E[fixed & ~fb] + 4, minlength=P + 4) if fixed.any() else np.zeros(P + 4, dtype=np.int64)
        for z in (3, 2, 1):  # values with X <= -1 - z need a z-th '0' after '0.'
            if hist[:4 - z].sum() == 0:
                continue
            if not drop(fixed & (E <= -1 - z)):
                break
        for j in np.flatnonzero((hist[4:P + 3] > 0) & (hist[4:P + 3] <= rare)):
            drop(fixed & (E == j))
        ok = ~fb
        self.has_neg = bool((neg & ok).any())
        fx_ok = fixed & ok
        present = np.flatnonzero(np.bincount(E[fx_ok] + 4, minlength=P + 4)) - 4 if fx_ok.any() else []
        self.zeros = max([-int(v) - 1 for v in present if v < 0], default=-1)  # '0.' + zeros, -1: none
        ex_ok = ~fixed & ok
        self.exp_any = bool(ex_ok.any())
        self.exp3 = self.exp_any and bool((np.abs(E[ex_ok]) >= 100).any())
        dots = {int(v) for v in present if 0 <= v < P - 1}
        if self.exp_any:
            dots.add(0)
        self.dots = sorted(dots)
        width = self.has_neg + (2 + self.zeros if self.zeros >= 0 else 0) + P + len(self.dots)
        width += (2 + 2 + self.exp3) if self.exp_any else 0
        self.fb_rows = np.flatnonzero(fb)
        self.fb_text = [(fmt % v).encode("ascii") for v in self.flat[self.fb_rows].tolist()]
        self.width = max([width] + [len(t) for t in self.fb_text])

    def write(self, V):
        """Write into ``V`` (rows, cols, >= width) uint8, zero-filled."""
        rows, cols = self.shape
        P = self.P
        D = self.words.view(np.uint8)[:, self.pad:self.pad + P].reshape(rows, cols, P)
        E = self.E.reshape(rows, cols)
        fx = self.fixed.reshape(rows, cols)
        kp = self.keep.reshape(rows, cols)
        pos = 0
        if self.has_neg:
            V[:, :, 0] = np.where(self.neg, _MINUS, _NUL).reshape(rows, cols)
            pos = 1
        if self.zeros >= 0:
            small = fx & (E < 0)
            V[:, :, pos] = np.where(small, _ZERO, _NUL)
            V[:, :, pos + 1] = np.where(small, _DOT, _NUL)
            pos += 2
            for z in range(1, self.zeros + 1):
                V[:, :, pos] = np.where(small & (E <= -1 - z), _ZERO, _NUL)
                pos += 1
        j = 0
        for dj in self.dots:
            V[:, :, pos:pos + dj + 1 - j] = D[:, :, j:dj + 1]
            pos += dj + 1 - j
            j = dj + 1
            cond = fx & (E == dj)
            if dj == 0 and self.exp_any:
                cond |= ~fx
            V[:, :, pos] = np.where(cond & (kp > dj + 1), _DOT, _NUL)
            pos += 1
        V[:, :, pos:pos + P - j] = D[:, :, j:]
        pos += P - j
        if self.exp_any:
            ex = ~fx
            V[:, :, pos] = np.where(ex, _E, _NUL)
            V[:, :, pos + 1] = np.where(ex, np.where(E < 0, _MINUS, _PLUS), _NUL)
            ed = _digits(np.abs(self.E), 3).reshape(rows, cols, 3)
            pos += 2
            if self.exp3:
                V[:, :, pos] = np.where(ex & (np.abs(E) >= 100), ed[:, :, 0], _NUL)
                pos += 1
            V[:, :, pos] = np.where(ex, ed[:, :, 1], _NUL)
            V[:, :, pos + 1] = np.where(ex, ed[:, :, 2], _NUL)
        if len(self.fb_rows):
            w = V.shape[2]
            texts = np.frombuffer(b"".join(t.ljust(w, b"\0") for t in self.fb_text), dtype=np.uint8)
            V[self.fb_rows // cols, self.fb_rows % cols, :] = texts.reshape(-1, w)


def _render_int(view, v: np.ndarray):
    """Write %d of int64 ``v`` (rows, cols) into ``view`` (rows, cols, width)."""
    rows, cols = v.shape
    flat = v.ravel()
    neg = flat < 0
    a = np.abs(flat)
    width = view.shape[2]
    nd_max = width - 1
    D = _digits(a, nd_max)
    nd = np.ones(len(a), dtype=np.int64)
    for p in range(1, nd_max):
        nd += a >= 10 ** p
    D *= np.arange(nd_max)[None, :] >= (nd_max - nd)[:, None]  # leading zeros -> NUL
    blk = np.empty((len(a), width), dtype=np.uint8)
    blk[:, 0] = np.where(neg, _MINUS, _NUL)
    blk[:, 1:] = D
    view[:, :, :] = blk.reshape(rows, cols, width)


def _int_width(blocks) -> int:
    amax = 0
    for b in blocks:
        if b.size:
            lo, hi = int(b.min()), int(b.max())
            if lo == np.iinfo(np.int64).min:
                raise OverflowError("an integer column holds -2**63")
            amax = max(amax, abs(lo), abs(hi))
    return 1 + len(str(amax))  # sign slot + digits


def _runs(fmts):
    """Consecutive columns of one kind: [(kind, P or None, [column indices])]."""
    runs = []
    for c, fmt in enumerate(fmts):
        kind = ("d", None) if fmt == "%d" else ("g", _precision(fmt))
        if runs and runs[-1][:2] == kind:
            runs[-1][2].append(c)
        else:
            runs.append((kind[0], kind[1], [c]))
    return runs


def _render_block(arrays, fmts, runs, start: int, stop: int) -> bytes:
    rows = stop - start
    parts, total = [], 0
    for kind, P, cols in runs:
        if kind == "d":
            data = np.empty((rows, len(cols)), dtype=np.int64)
            for j, c in enumerate(cols):
                a = arrays[c][start:stop]
                data[:, j] = np.trunc(a) if a.dtype.kind == "f" else a
            width = _int_width([data])
        else:
            data = np.empty((rows, len(cols)), dtype=np.float64)
            for j, c in enumerate(cols):
                data[:, j] = arrays[c][start:stop]
            data = _GColumns(data, P, fmts[cols[0]])
            width = data.width
        parts.append((kind, cols, data, width, total))
        total += len(cols) * (width + 1)
    buf = np.zeros((rows, total), dtype=np.uint8)
    for kind, cols, data, width, off in parts:
        view = as_strided(buf[:, off:], shape=(rows, len(cols), width + 1), strides=(total, width + 1, 1),
                          writeable=True)
        view[:, :, width] = ord(" ")
        if kind == "d":
            _render_int(view[:, :, :width], data)
        else:
            data.write(view[:, :, :width])
    buf[:, total - 1] = ord("\n")
    return buf.tobytes().translate(None, b"\x00")


def format_rows(arrays, fmts, *, n_jobs: int | None = None) -> bytes:
    """``"".join((" ".join(fmts) + "\\n") % row for row in zip(*arrays)).encode()``, vectorised.

    Parameters
    ----------
    arrays : sequence of ndarray, shape (n,) each
        Columns: integer (or integer-valued float) arrays for ``%d``, float arrays for ``%.Pg``.
    fmts : sequence of str
        One format per column, each :func:`supported`.
    n_jobs : int, optional
        Threads rendering row blocks (default: the number of cores, at most 4).

    Returns
    -------
    bytes
    """
    if not arrays:
        return b""
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    if n == 0:
        return b""
    runs = _runs(fmts)
    step = max(1, BLOCK_VALUES // len(arrays))
    bounds = [(s, min(n, s + step)) for s in range(0, n, step)]
    jobs = min(len(bounds), n_jobs if n_jobs is not None else min(4, os.cpu_count() or 1))
    if jobs <= 1:
        return b"".join(_render_block(arrays, fmts, runs, s, e) for s, e in bounds)
    with ThreadPoolExecutor(jobs) as pool:
        return b"".join(pool.map(lambda se: _render_block(arrays, fmts, runs, *se), bounds))
