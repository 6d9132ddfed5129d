"""The command line never shows a traceback (issue 14), checked through the real command line.

Every case runs ``python -m glassdyn.cli ...`` in a subprocess (or, for failure injection, the same
module through ``runpy`` after a few lines that break the world: a full disk, a missing package,
Ctrl-C, an unexpected exception) and checks the exit code (0 success, 1 input/data error, 2 usage
error, 130 interrupted), that the message is one line naming the path, file or option, and that no
output (nor a hidden temporary file) is left behind. The inputs are tiny and synthetic: no LAMMPS.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from glassdyn import Box, Frame
from glassdyn.adapters.lammps_dump import count_frames, write_dump

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))  # the shared test helpers in tests/
from frontend_synthetic import configuration  # noqa: E402
from synthetic_replicas import make_reference, make_trajectories, write_ensemble  # noqa: E402

NAMES = ["rho_L1.0", "Theta_L1.0", "e_L2.0", "noise_L1.0"]
POSIX = os.name == "posix"
ROOT = POSIX and os.geteuid() == 0

#: run glassdyn.cli as ``python -m`` does, after the failure-injection lines before it
RUN = "\nimport runpy, sys\nsys.argv = ['glassdyn', *sys.argv[1:]]\n" \
      "runpy.run_module('glassdyn.cli', run_name='__main__', alter_sys=True)\n"

#: a full disk: every write to a hidden file (the temporary file of an atomic write) fails with ENOSPC
FULL_DISK = textwrap.dedent("""
    import builtins, errno, io, os
    _open = builtins.open

    class _Full:
        def __init__(self, fh):
            self._fh = fh
        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        def __getattr__(self, name):
            return getattr(self._fh, name)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self._fh.close()

    def _open_on_a_full_disk(file, mode="r", *args, **kwargs):
        fh = _open(file, mode, *args, **kwargs)
        if isinstance(file, (str, os.PathLike)) and os.path.basename(os.fspath(file)).startswith(".") \\
                and set(mode) & set("wax"):
            return _Full(fh)
        return fh

    builtins.open = io.open = _open_on_a_full_disk
""")

#: optional packages missing: importing them fails (as in tests/test_rings.py)
BLOCK = textwrap.dedent("""
    import importlib.abc, sys
    BLOCKED = {blocked!r}

    class _Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, _Blocker())
""")


# ----------------------------------------------------------------------------- helpers
def _glassdyn(*args, prelude: str | None = None, env=None, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "glassdyn.cli"] if prelude is None else [sys.executable, "-c", prelude + RUN]
    full_env = None if env is None else {**os.environ, **env}
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=full_env,
                          cwd=cwd)


def _one_line(proc: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """The exit code is ``code`` and stderr one line holding every word, without a traceback."""
    err = proc.stderr.strip()
    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:])
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for w in words:
        assert str(w) in err, (w, err)
    assert ".tmp" not in err and ".glassdyn-check" not in err, err  # never the hidden temporary name
    return err


def _listing(folder: Path) -> list[str]:
    """Every file and folder under ``folder`` (hidden ones included), relative."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _frame(seed: int, n: int = 120) -> Frame:
    rng = np.random.default_rng(seed)
    L = np.sqrt(n / 1.2)
    X = rng.normal(size=(n, len(NAMES)))
    props = {name: X[:, k] for k, name in enumerate(NAMES)}
    props["propensity_t10"] = X @ np.array([0.8, -1.5, 0.4, 0.0]) + 0.05 * rng.normal(size=n)
    return Frame(rng.uniform(0, L, size=(n, 2)), np.where(np.arange(n) < 0.65 * n, 1, 2), Box.orthorhombic([L, L]),
                 ids=np.arange(1, n + 1), properties=props, timestep=seed)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    """Tiny inputs of every command: dumps with features and a target, plain configurations, a
    linear model file, a replica ensemble."""
    from glassdyn.learn import PropensityModel
    from glassdyn.modelfile import save_model
    d = tmp_path_factory.mktemp("cli_inputs")
    out = {"dir": d}
    for k in range(2):
        write_dump(d / f"c{k}.dump", [_frame(10 * k), _frame(10 * k + 1)])
        write_dump(d / f"conf{k}.dump", [configuration(n_side=12, seed=k), configuration(n_side=12, seed=k + 5)])
        out[f"c{k}"], out[f"conf{k}"] = str(d / f"c{k}.dump"), str(d / f"conf{k}.dump")
    frames = [_frame(s) for s in (0, 1, 10, 11)]
    X = np.concatenate([np.column_stack([f.properties[n] for n in NAMES]) for f in frames])
    y = np.concatenate([f.properties["propensity_t10"] for f in frames])
    groups = np.repeat(np.arange(4), 120)
    model = PropensityModel("ridge").fit(X, y, groups, feature_names=NAMES)
    out["model"] = str(save_model(model, d / "ridge.gdm", target="propensity_t10"))
    ens = d / "ens"
    ens.mkdir()
    ref = make_reference(n=64)
    out["reference"], out["replicas"] = write_ensemble(ens, ref, make_trajectories(ref, R=3))
    out["reference"] = str(out["reference"])
    out["replicas"] = [str(p) for p in out["replicas"]]
    return out


def _command(name: str, data: dict, out) -> list:
    """A quick, valid invocation of ``name`` writing to ``out``."""
    return {
        "describe": ["describe", data["conf0"], "-o", out, "--lengths", "1.0", "--quiet"],
        "train": ["train", data["c0"], data["c1"], "--target", "propensity_t10", "-o", out, "--cv", "none"],
        "predict": ["predict", data["c0"], "--model", data["model"], "-o", out],
        "select": ["select", data["c0"], data["c1"], "--target", "propensity_t10", "-o", out, "--n-features", "2",
                   "--no-plots"],
        "propensity": ["propensity", *data["replicas"], "--reference", data["reference"], "-o", out, "--q", "6"],
        "render": ["render", data["c0"], "-p", "rho_L1.0", "-o", out],
        "demo": ["demo", "--size", "tiny", "-o", out],
        "simulate": ["simulate", "ensemble", "--temperature", "0.5", "--n", "40", "--replicas", "2", "-o", out],
    }[name]


# ----------------------------------------------------------------------------- outputs
@pytest.mark.parametrize("command, target", [
    ("describe", "/proc/x.dump"), ("select", "/proc/sel"), ("propensity", "/proc/p.dump"), ("render", "/proc/x.png"),
    ("demo", "/proc/demo"), ("describe", "{tmp}/no/such/folder/x.dump"), ("train", "{tmp}/c0.dump/x.gdm"),
    ("predict", "/dev/full"), ("train", "{readonly}/m.gdm"), ("simulate", "/proc/run"),
])
def test_unwritable_output_is_one_line_before_any_work(data, tmp_path, command, target):
    if target.startswith("/proc/") and not os.path.isdir("/proc") or target == "/dev/full" and not os.path.exists(target):
        pytest.skip(f"no {target} here")
    if "{readonly}" in target:
        if ROOT:  # root writes into any folder it owns: use sysfs, where nobody creates files
            if not os.path.isdir("/sys"):
                pytest.skip("running as root without /sys")
            readonly = "/sys"
        else:
            readonly = tmp_path / "readonly"
            readonly.mkdir()
            readonly.chmod(stat.S_IRUSR | stat.S_IXUSR)
        target = target.format(readonly=readonly)
    (tmp_path / "c0.dump").write_text("a file where a folder should be\n")
    target = target.format(tmp=tmp_path)
    before = _listing(tmp_path)
    device = os.stat(target).st_rdev if target.startswith("/dev/") else None
    proc = _glassdyn(*_command(command, data, target))
    err = _one_line(proc, 1, f"cannot write {target}")
    assert any(w in err for w in ("choose", "create it", "give the name")), err  # says what to do
    assert proc.stdout == ""  # refused before any work (train would print its scores)
    assert _listing(tmp_path) == before
    if device is not None:
        assert stat.S_ISCHR(os.stat(target).st_mode) and os.stat(target).st_rdev == device  # not replaced


@pytest.mark.parametrize("command, name", [("describe", "d.dump"), ("select", "sel")])
def test_full_disk_names_the_output_and_leaves_nothing(data, tmp_path, command, name):
    proc = _glassdyn(*_command(command, data, tmp_path / name), prelude=FULL_DISK)
    target = tmp_path / name / ("order.csv" if command == "select" else "")
    _one_line(proc, 1, f"cannot write {str(target).rstrip(os.sep)}: no space left on the device", "free some")
    assert "wrote" not in proc.stdout + proc.stderr
    assert _listing(tmp_path) == []  # no output, no temporary file, no new empty folder


@pytest.mark.skipif(not POSIX, reason="RLIMIT_FSIZE is POSIX")
def test_file_size_limit_is_reported_as_such(data, tmp_path):
    """A real failure of the kernel, not an injected one: ulimit -f 4 (KiB) makes the dump too large (EFBIG)."""
    import resource

    def limit():  # the child only; Python ignores SIGXFSZ, so the write fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    out = tmp_path / "big.dump"
    proc = subprocess.run([sys.executable, "-m", "glassdyn.cli", *map(str, _command("describe", data, out))],
                          capture_output=True, text=True, timeout=300, preexec_fn=limit)
    _one_line(proc, 1, f"cannot write {out}", "file size limit")
    assert _listing(tmp_path) == []


# ----------------------------------------------------------------------------- damaged model files
def _members(path) -> dict:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _zip(path, members: dict, extra: list | None = None) -> Path:
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate member
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for n, b in members.items():
                z.writestr(n, b)
            for n, b in extra or []:
                z.writestr(n, b)
    return Path(path)


def _damage(kind: str, good: str, path: Path) -> Path:
    """A copy of the model file ``good`` with one kind of damage."""
    raw = Path(good).read_bytes()
    mem = _members(good)
    meta = json.loads(mem["meta.json"])
    if kind == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif kind == "bad zip data":  # the central directory is intact, a member's compressed bytes are not
        b = bytearray(raw)
        with zipfile.ZipFile(good) as z:
            info = z.getinfo("arrays.npz")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 5
        b[start:start + 16] = bytes(16)
        path.write_bytes(bytes(b))
    elif kind == "skops member in a linear model":
        _zip(path, {**mem, "model.skops": b"PK\x03\x04 not a skops file"})
    elif kind == "pickle member":
        _zip(path, {**mem, "model.pkl": b"\x80\x04cos\nsystem\n."})
    elif kind == "meta.json field of the wrong type":
        _zip(path, {**mem, "meta.json": json.dumps({**meta, "feature_names": 4}).encode()})
    elif kind == "meta.json unknown parameter":
        _zip(path, {**mem, "meta.json": json.dumps({**meta, "params": {**meta["params"], "evil": 1}}).encode()})
    elif kind == "arrays.npz not an archive":
        _zip(path, {**mem, "arrays.npz": b"\x80\x04not arrays"})
    elif kind == "extra array":
        import io
        with np.load(io.BytesIO(mem["arrays.npz"])) as z:
            arrays = {k: z[k] for k in z.files}
        buf = io.BytesIO()
        np.savez(buf, **arrays, hidden=np.ones(3))
        _zip(path, {**mem, "arrays.npz": buf.getvalue()})
    elif kind == "NaN weights":
        import io
        with np.load(io.BytesIO(mem["arrays.npz"])) as z:
            arrays = {k: z[k] for k in z.files}
        arrays["coef"][0] = np.nan
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        _zip(path, {**mem, "arrays.npz": buf.getvalue()})
    elif kind == "meta.json twice":
        _zip(path, mem, extra=[("meta.json", json.dumps({**meta, "model": "lasso"}).encode())])
    elif kind == "not a zip":
        path.write_text("just some text\n")
    else:
        raise AssertionError(kind)
    return path


DAMAGES = ["truncated", "bad zip data", "skops member in a linear model", "pickle member",
           "meta.json field of the wrong type", "meta.json unknown parameter", "arrays.npz not an archive",
           "extra array", "NaN weights", "meta.json twice", "not a zip"]


@pytest.mark.parametrize("kind", DAMAGES)
def test_every_damage_is_refused_by_load_model(data, tmp_path, kind):
    """The library refuses each damage with an InputError naming the file (nothing loaded, nothing ignored)."""
    from glassdyn.errors import InputError
    from glassdyn.modelfile import load_model
    bad = _damage(kind, data["model"], tmp_path / "damaged.gdm")
    with pytest.raises(InputError, match="damaged.gdm"):
        load_model(bad)


@pytest.mark.parametrize("kind", ["bad zip data", "skops member in a linear model"])
def test_damaged_model_file_through_predict(data, tmp_path, kind):
    bad = _damage(kind, data["model"], tmp_path / "damaged.gdm")
    out = tmp_path / "pred.dump"
    proc = _glassdyn("predict", data["c0"], "--model", bad, "-o", out)
    err = _one_line(proc, 1, str(bad))
    assert any(w in err for w in ("damaged", "refusing", "not a glassdyn model")), err
    assert _listing(tmp_path) == ["damaged.gdm"]


# ----------------------------------------------------------------------------- inputs
def test_propensity_on_a_missing_folder(tmp_path):
    missing = tmp_path / "no_such_run"
    proc = _glassdyn("propensity", missing, "-o", tmp_path / "prop")
    _one_line(proc, 1, f"{missing}: no such file or folder")
    assert _listing(tmp_path) == []


# ----------------------------------------------------------------------------- optional packages
def test_plot_without_matplotlib_is_refused_before_the_work(data, tmp_path):
    out = tmp_path / "p.dump"
    proc = _glassdyn(*_command("propensity", data, out), "--plot", prelude=BLOCK.format(blocked=["matplotlib"]))
    _one_line(proc, 1, "--plot needs matplotlib", "pip install 'glassdyn[plots]'")
    assert _listing(tmp_path) == []  # refused before any work: no dump, no table


def test_select_plots_and_mlp_files_name_their_extras(data, tmp_path):
    cmd = _command("select", data, tmp_path / "sel")
    cmd.remove("--no-plots")
    proc = _glassdyn(*cmd, prelude=BLOCK.format(blocked=["matplotlib"]))
    _one_line(proc, 1, "needs matplotlib", "glassdyn[plots]", "--no-plots")
    proc = _glassdyn(*_command("train", data, tmp_path / "m.gdm"), "--model", "mlp",
                     prelude=BLOCK.format(blocked=["skops"]))
    _one_line(proc, 1, "needs skops", "pip install 'glassdyn[models]'")
    assert _listing(tmp_path) == []


def _in_a_terminal(args, prelude: str = "") -> tuple[int, str, str]:
    """Run the command with stderr on a pseudo-terminal; returns (exit code, stderr, stdout)."""
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 x 100, as a real terminal
    proc = subprocess.Popen([sys.executable, "-c", prelude + RUN, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=slave, stdin=subprocess.DEVNULL, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    out = proc.stdout.read().decode()
    proc.wait(timeout=300)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode(errors="replace"), out


@pytest.mark.skipif(not POSIX, reason="pseudo-terminals are POSIX")
def test_progress_bars_only_on_a_terminal_and_never_when_quiet(data, tmp_path):
    pytest.importorskip("tqdm")
    args = ["describe", data["conf0"], data["conf1"], "-o", tmp_path / "described", "--lengths", "1.0"]
    rc, err, _ = _in_a_terminal(args)
    assert rc == 0 and "describe: " in err and "frame" in err and "4/4" in err, err  # the tqdm bar
    rc, err, _ = _in_a_terminal([*args, "--quiet"])
    assert rc == 0 and err.strip() == "", err
    proc = _glassdyn(*args)  # stderr is a pipe: no bar, only what was written
    assert proc.returncode == 0
    assert proc.stderr.splitlines() == [f"wrote {tmp_path / 'described' / 'conf0.dump'}",
                                        f"wrote {tmp_path / 'described' / 'conf1.dump'}"]
    # without tqdm the command still runs on a terminal, without a bar
    rc, err, out = _in_a_terminal(["propensity", *data["replicas"], "--reference", data["reference"], "-o",
                                   tmp_path / "p.dump", "--q", "6"], prelude=BLOCK.format(blocked=["tqdm"]))
    assert rc == 0 and "replica" not in err and "wrote" in out, err + out


# ----------------------------------------------------------------------------- usage errors
@pytest.mark.parametrize("args, words", [  # more cases run in-process in the other CLI tests
    (["train", "{c0}", "--target", "propensity_t10", "-o", "{tmp}/m.gdm", "--n-features", "0"],
     ["argument --n-features: must be a positive integer, got '0'"]),
    (["train", "{c0}", "--target", "propensity_t10", "-o", "{tmp}/model.txt"], ["-o {tmp}/model.txt", ".gdm"]),
    (["train", "{c0}", "{c1}", "--target", "propensity_t10", "-o", "{tmp}/m.gdm", "--select", "pearson",
      "--n-features", "9"], ["--n-features 9 is more than the 4 feature columns"]),
    (["describe", "{conf0}", "-o", "{tmp}/d.dump", "--lengths", "-1"], ["--lengths", "positive"]),
    (["describe", "{conf0}", "-o", "{tmp}/d.dump", "--no-such-option"], ["unrecognized arguments: --no-such-option"]),
    (["propensity", "{rep0}", "{rep1}", "--reference", "{ref}", "-o", "{tmp}/p.dump", "--dt", "0"], ["--dt"]),
    (["propensity", "{rep0}", "{rep1}", "--reference", "{ref}", "-o", "{tmp}/p.dump", "--r-in", "2", "--r-out", "1"],
     ["--r-out 1 must be larger than --r-in 2"]),
    (["select", "{c0}", "-o", "{tmp}/sel", "--mode", "unsupervised", "--baselines", "lasso"], ["Lasso baseline"]),
    (["render", "{c0}", "-p", "rho_L1.0", "-o", "{tmp}/x.png", "--size", "big"], ["--size", "WIDTHxHEIGHT"]),
    (["demo", "--size", "tiny", "-o", "{tmp}/demo", "--replicas", "1"], ["--replicas 1", "at least 2"]),
    (["simulate", "ensemble", "--temperature", "-1", "-o", "{tmp}/run"], ["--temperature", "positive"]),
    (["simulate", "ensemble", "--temperature", "0.5", "--replicas", "1", "-o", "{tmp}/run"], ["at least 2"]),
    (["simulate", "ensemble", "--temperature", "0.5", "--model", "ka4d", "-o", "{tmp}/run"], ["--model", "ka2d"]),
    (["simulate", "ensemble", "--temperature", "0.5", "--times", "0", "10", "5", "-o", "{tmp}/run"],
     ["--times", "ascending"]),
    (["simulate", "cool", "--partitions", "4", "-o", "{tmp}/run"], ["--partitions", "ensemble"]),
    (["reproduce", "-o", "{tmp}/study", "--temperature", "-1"], ["--temperature", "positive"]),
    (["reproduce", "-o", "{tmp}/study", "--reference", "{tmp}/nowhere"], ["--reference {tmp}/nowhere", "no such folder"]),
    (["reproduce", "swanson", "-o", "{tmp}/study", "--temperature", "0.5"], ["--temperature", "sharma"]),
    (["reproduce", "swanson", "-o", "{tmp}/study", "--size", "medium"], ["--size medium", "full and reduced"]),
    (["classify", "--class", "liquid", "{conf0}", "-o", "{tmp}/c.json"], ["exactly two --class"]),
])
def test_bad_options_are_usage_errors_before_any_work(data, tmp_path, args, words):
    fill = dict(tmp=tmp_path, c0=data["c0"], c1=data["c1"], conf0=data["conf0"], ref=data["reference"],
                rep0=data["replicas"][0], rep1=data["replicas"][1])
    proc = _glassdyn(*[a.format(**fill) for a in args])
    _one_line(proc, 2, *[w.format(**fill) for w in words], f"glassdyn {args[0]}")
    assert _listing(tmp_path) == []


def test_every_command_has_quiet_and_the_old_spellings(data):
    """One --quiet switch everywhere (and --debug); --no-progress stays as a hidden alias."""
    from glassdyn.cli import COMMANDS, build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in COMMANDS:
        opts = sub.choices[name]._option_string_actions
        assert {"--quiet", "--no-progress", "--debug"} <= set(opts), name
        assert opts["--quiet"].dest == opts["--no-progress"].dest == "quiet", name
    proc = _glassdyn("propensity", "run", "-o", "out", "--no-progress", "--nope")
    _one_line(proc, 2, "glassdyn propensity: error: unrecognized arguments: --nope")  # --no-progress is accepted
    from glassdyn.cli.train import MODEL_SUFFIX
    from glassdyn.modelfile import SUFFIX
    assert MODEL_SUFFIX == SUFFIX


# ----------------------------------------------------------------------------- exit codes, --debug, Ctrl-C
BROKEN = textwrap.dedent("""
    import glassdyn.adapters.lammps_dump as _ld
    def _broken(*args, **kwargs):
        return 1 / 0
    _ld.count_frames = _broken
""")


def test_unexpected_errors_are_one_line_unless_debug(data, tmp_path):
    args = _command("describe", data, tmp_path / "d.dump")
    proc = _glassdyn(*args, prelude=BROKEN)
    _one_line(proc, 1, "glassdyn describe: unexpected error: ZeroDivisionError: division by zero",
              "run again with --debug for the traceback")
    for debug_args, env in ((["--debug", *args], None), (args, {"GLASSDYN_DEBUG": "1"})):
        proc = _glassdyn(*debug_args, prelude=BROKEN, env=env)
        assert proc.returncode == 1 and "Traceback (most recent call last)" in proc.stderr, proc.stderr
        assert "ZeroDivisionError: division by zero" in proc.stderr.splitlines()[-2]  # the traceback's last line
        assert proc.stderr.splitlines()[-1].startswith("glassdyn describe: unexpected error: ZeroDivisionError")
    assert _listing(tmp_path) == []
    from glassdyn.cli import build_parser  # --debug is also accepted after the command
    assert build_parser("describe").parse_args([*map(str, args), "--debug"]).debug is True


CTRL_C = textwrap.dedent("""
    import os, signal
    import glassdyn.descriptors as _d
    _compute, _calls = _d.compute_features, []
    def _compute_then_ctrl_c(*args, **kwargs):
        _calls.append(1)
        if len(_calls) == 3:  # the first frame of the second dump
            os.kill(os.getpid(), signal.SIGINT)
        return _compute(*args, **kwargs)
    _d.compute_features = _compute_then_ctrl_c
""")


@pytest.mark.skipif(not POSIX, reason="SIGINT to oneself is POSIX")
def test_ctrl_c_keeps_finished_outputs_and_says_so(data, tmp_path):
    out = tmp_path / "described"
    proc = _glassdyn("describe", data["conf0"], data["conf1"], "-o", out, "--lengths", "1.0", "--cutoffs", "1.5",
                     "--quiet", prelude=CTRL_C)
    _one_line(proc, 130, "glassdyn describe: interrupted", "outputs already written are complete",
              "run the same command again")
    assert _listing(tmp_path) == ["described", "described/conf0.dump"]
    assert count_frames(out / "conf0.dump") == 2
