"""glassdyn: which local structure decides where a glassy liquid will move.

The core (this package's top-level modules) takes plain arrays and returns plain arrays; it
imports only numpy, scipy and scikit-learn. Adapters (``glassdyn.adapters``) translate LAMMPS,
OVITO and MDAnalysis data into :class:`~glassdyn.frame.Frame` objects, and front ends (the
``glassdyn`` command, OVITO modifiers, MDAnalysis analyses) attach results back as per-atom
properties.
"""
from importlib.metadata import PackageNotFoundError, version as _version

from .errors import GlassdynError, InputError
from .descriptors import FeatureTable, compute_features
from .frame import Box, Frame
from .neighbors import NeighborList, neighbor_list
from .potentials import PRESETS, PairPotential, get_potential

try:
    __version__ = _version("glassdyn")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"

__all__ = ["Box", "Frame", "FeatureTable", "compute_features", "NeighborList", "neighbor_list", "PairPotential", "PRESETS",
           "get_potential", "GlassdynError", "InputError", "__version__"]
