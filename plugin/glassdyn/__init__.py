"""glassdyn: which local structure decides where a glassy liquid will move.

The package is built in three rings, visible in its tree:

* **core** (the top-level modules): :mod:`~glassdyn.frame`, :mod:`~glassdyn.neighbors`,
  :mod:`~glassdyn.potentials`, :mod:`~glassdyn.structure`, :mod:`~glassdyn.graph`,
  :mod:`~glassdyn.descriptors`, :mod:`~glassdyn.voronoi`, :mod:`~glassdyn.windows`, :mod:`~glassdyn.dynamics`,
  :mod:`~glassdyn.ensemble`, :mod:`~glassdyn.imbalance`, :mod:`~glassdyn.selection`,
  :mod:`~glassdyn.learn`, :mod:`~glassdyn.validation`, :mod:`~glassdyn.classification`,
  :mod:`~glassdyn.modelfile`, :mod:`~glassdyn.tg`, :mod:`~glassdyn.stats`. Arrays in, arrays out;
  numpy, scipy and scikit-learn only; no file formats.
* **adapters** (:mod:`glassdyn.adapters`: LAMMPS dumps and data files, a live ``lammps``, OVITO,
  MDAnalysis, feature tables, replica ensembles) and :mod:`glassdyn.lammps` (driving LAMMPS).
* **front ends**: :mod:`glassdyn.cli` (the ``glassdyn`` command), :mod:`glassdyn.ovito` (modifiers),
  :mod:`glassdyn.mdanalysis` (analysis classes), :mod:`glassdyn.plots` (plots and rendered pictures),
  :mod:`glassdyn.deep` (the CNN and D-MPNN classifiers, with PyTorch),
  :mod:`glassdyn.studies` (the reproductions) and :mod:`glassdyn.demo`.

Every core module is an attribute of the package (imported on first use): ``glassdyn.dynamics``.
"""
from __future__ import annotations

import importlib

from ._util import glassdyn_version
from .errors import GlassdynError, InputError
from .frame import Box, Frame

#: Names re-exported from core modules, imported on first use: ``import glassdyn`` (every
#: ``glassdyn`` command, ``--help`` and a usage error included) does not pay for scipy.spatial.
_LAZY_NAMES = {"FeatureTable": "descriptors", "compute_features": "descriptors", "NeighborList": "neighbors",
               "neighbor_list": "neighbors", "PRESETS": "potentials", "PairPotential": "potentials",
               "get_potential": "potentials"}

__version__ = glassdyn_version()

#: The core modules, importable as attributes (``glassdyn.dynamics``) without an explicit import.
CORE_MODULES = ("frame", "neighbors", "potentials", "structure", "graph", "descriptors", "voronoi", "windows",
                "dynamics", "ensemble", "imbalance", "selection", "learn", "validation", "classification",
                "modelfile", "tg", "stats", "errors")
#: The outer rings, importable as attributes too (they may need optional packages).
SUBPACKAGES = ("adapters", "lammps", "cli", "ovito", "mdanalysis", "plots", "studies", "demo", "deep")

__all__ = ["Box", "Frame", "FeatureTable", "compute_features", "NeighborList", "neighbor_list", "PairPotential",
           "PRESETS", "get_potential", "GlassdynError", "InputError", "__version__", *CORE_MODULES]


def __getattr__(name: str):
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY_NAMES[name]}"), name)
        globals()[name] = value
        return value
    if name in CORE_MODULES or name in SUBPACKAGES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                raise AttributeError(f"module 'glassdyn' has no attribute '{name}'") from None
            raise
        globals()[name] = module
        return module
    raise AttributeError(f"module 'glassdyn' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_NAMES) | set(CORE_MODULES) | set(SUBPACKAGES))
