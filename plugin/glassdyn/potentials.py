"""Pair potentials and the parameter sets of the models (see SCIENCE.md section 1).

All in Lennard-Jones units, masses 1. Types are 1-based as in LAMMPS; parameter matrices
are indexed by ``type - 1``.

Presets
-------
``ka2d``
    2D Kob-Andersen, A:B = 65:35, density 1.2, LJ truncated at 2.5 sigma_ab and shifted to
    zero there.
``ka3d``
    3D Kob-Andersen, A:B = 80:20, density 1.2, same parameters and truncation as ``ka2d``.
``ternary2d``
    The three-component 2D mixture of GlassBench (600:330:360, density 1.192) with the
    polynomial smoothing that makes V, V' and V'' vanish at 2.5 sigma_ab.

A user-defined set is a :class:`PairPotential` built from epsilon and sigma matrices.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError

__all__ = ["PairPotential", "PRESETS", "get_potential", "default_potential_name", "resolve_potential",
           "TERNARY_SMOOTHING"]

#: C0, C2, C4 of the ternary2d smoothing polynomial 4 eps (C0 + C2 x^2 + C4 x^4), x = r / sigma.
TERNARY_SMOOTHING = (0.04049023795, -0.00970155098, 0.00062012616)

FORMS = ("lj_shifted", "lj_smooth", "lj")


@dataclass(frozen=True)
class PairPotential:
    """A Lennard-Jones-type pair potential for a multi-component mixture.

    Parameters
    ----------
    name : str
        Preset name (``ka2d``, ``ternary2d``, ``ka3d``) or a user label.
    epsilon, sigma : array_like, shape (n_types, n_types)
        Symmetric interaction matrices (energy and length units).
    cutoff_factor : float
        The pair cutoff is ``cutoff_factor * sigma_ab`` (2.5 for every preset).
    form : {'lj_shifted', 'lj_smooth', 'lj'}
        ``lj_shifted``: 4 eps [(s/r)^12 - (s/r)^6] - V(r_c) inside the cutoff.
        ``lj_smooth``: 4 eps [(s/r)^12 - (s/r)^6 + C0 + C2 (r/s)^2 + C4 (r/s)^4] (ternary2d).
        ``lj``: plain truncation, no shift.
    smoothing : tuple of float
        (C0, C2, C4) for ``lj_smooth``.
    fractions : tuple of float, optional
        Composition (number fractions per type) of the model, used to build systems.
    number_density : float, optional
        Number density of the model.
    dimension : int, optional
        2 or 3; None for a user potential usable in both.
    """

    name: str
    epsilon: np.ndarray
    sigma: np.ndarray
    cutoff_factor: float = 2.5
    form: str = "lj_shifted"
    smoothing: tuple = TERNARY_SMOOTHING
    fractions: tuple | None = None
    number_density: float | None = None
    dimension: int | None = None
    type_names: tuple = field(default=())

    def __post_init__(self):
        eps = np.array(self.epsilon, dtype=float)
        sig = np.array(self.sigma, dtype=float)
        if eps.shape != sig.shape or eps.ndim != 2 or eps.shape[0] != eps.shape[1]:
            raise InputError(f"epsilon {eps.shape} and sigma {sig.shape} must be equal square matrices")
        if not (np.allclose(eps, eps.T) and np.allclose(sig, sig.T)):
            raise InputError("epsilon and sigma must be symmetric")
        if np.any(sig <= 0) or np.any(eps < 0):
            raise InputError("sigma must be positive and epsilon non-negative")
        if self.form not in FORMS:
            raise InputError(f"unknown potential form '{self.form}'; choose one of {FORMS}")
        eps.setflags(write=False)
        sig.setflags(write=False)
        object.__setattr__(self, "epsilon", eps)
        object.__setattr__(self, "sigma", sig)
        if not self.type_names:
            object.__setattr__(self, "type_names", tuple("ABCDEFGH"[k] for k in range(eps.shape[0])))

    @property
    def n_types(self) -> int:
        return self.epsilon.shape[0]

    def cutoff_matrix(self) -> np.ndarray:
        """Pair cutoffs ``cutoff_factor * sigma_ab``, shape (n_types, n_types)."""
        return self.cutoff_factor * self.sigma

    @property
    def max_cutoff(self) -> float:
        return float(self.cutoff_matrix().max())

    def _params(self, ti, tj):
        a = np.asarray(ti) - 1
        b = np.asarray(tj) - 1
        return self.epsilon[a, b], self.sigma[a, b]

    def energy(self, r, ti, tj) -> np.ndarray:
        """Pair energy V_ab(r) for types ``ti``, ``tj`` (1-based); zero beyond the cutoff."""
        r = np.asarray(r, dtype=float)
        eps, sig = self._params(ti, tj)
        x = r / sig
        inv6 = x ** -6.0
        v = inv6 * inv6 - inv6
        if self.form == "lj_shifted":
            xc6 = self.cutoff_factor ** -6.0
            v = v - (xc6 * xc6 - xc6)
        elif self.form == "lj_smooth":
            c0, c2, c4 = self.smoothing
            x2 = x * x
            v = v + c0 + c2 * x2 + c4 * x2 * x2
        return np.where(x < self.cutoff_factor, 4.0 * eps * v, 0.0)

    def force(self, r, ti, tj) -> np.ndarray:
        """Radial force F(r) = -dV/dr; zero beyond the cutoff."""
        r = np.asarray(r, dtype=float)
        eps, sig = self._params(ti, tj)
        x = r / sig
        inv6 = x ** -6.0
        dv_dx = (-12.0 * inv6 * inv6 + 6.0 * inv6) / x
        if self.form == "lj_smooth":
            _, c2, c4 = self.smoothing
            dv_dx = dv_dx + 2.0 * c2 * x + 4.0 * c4 * x ** 3
        return np.where(x < self.cutoff_factor, -4.0 * eps * dv_dx / sig, 0.0)

    def check_types(self, types, ids=None, *, source=None, frame=None) -> None:
        """Raise :class:`InputError` naming the atoms whose type the potential does not know."""
        types = np.asarray(types)
        bad = (types < 1) | (types > self.n_types)
        if bad.any():
            ids = np.arange(1, len(types) + 1) if ids is None else np.asarray(ids)
            raise InputError(f"atom types {sorted(set(types[bad].tolist()))} are unknown to potential "
                             f"'{self.name}' (types 1..{self.n_types})", source=source, frame=frame,
                             atom_ids=ids[bad])

    def composition(self, n_atoms: int) -> np.ndarray:
        """Number of atoms of each type for ``n_atoms`` in all (largest-remainder rounding)."""
        if self.fractions is None:
            raise InputError(f"potential '{self.name}' has no composition; give the counts explicitly")
        f = np.asarray(self.fractions, dtype=float)
        f = f / f.sum()
        raw = f * n_atoms
        counts = np.floor(raw).astype(int)
        counts[np.argsort(counts - raw)[: n_atoms - counts.sum()]] += 1
        return counts

    def box_length(self, n_atoms: int) -> float:
        """Edge of the square (cubic) box holding ``n_atoms`` at the model's density."""
        if self.number_density is None or self.dimension is None:
            raise InputError(f"potential '{self.name}' has no density or dimension")
        return float((n_atoms / self.number_density) ** (1.0 / self.dimension))


_KA_EPS = [[1.0, 1.5], [1.5, 0.5]]
_KA_SIG = [[1.0, 0.8], [0.8, 0.88]]

PRESETS: dict[str, PairPotential] = {
    "ka2d": PairPotential("ka2d", _KA_EPS, _KA_SIG, form="lj_shifted", fractions=(0.65, 0.35),
                          number_density=1.2, dimension=2),
    "ka3d": PairPotential("ka3d", _KA_EPS, _KA_SIG, form="lj_shifted", fractions=(0.8, 0.2),
                          number_density=1.2, dimension=3),
    "ternary2d": PairPotential(
        "ternary2d",
        epsilon=[[1.0, 1.5, 0.75], [1.5, 0.5, 1.5], [0.75, 1.5, 0.75]],
        sigma=[[1.0, 0.8, 0.9], [0.8, 0.88, 0.8], [0.9, 0.8, 0.94]],
        form="lj_smooth", fractions=(600 / 1290, 330 / 1290, 360 / 1290),
        number_density=1290 / 32.8962 ** 2, dimension=2),
}


def get_potential(potential) -> PairPotential:
    """Return a preset by name, or the :class:`PairPotential` given."""
    if isinstance(potential, PairPotential):
        return potential
    try:
        return PRESETS[str(potential)]
    except KeyError:
        raise InputError(f"unknown potential '{potential}'; presets are {sorted(PRESETS)}, "
                         "or build a glassdyn.potentials.PairPotential") from None


def default_potential_name(dimension: int, n_types: int) -> str:
    """The preset that ``"auto"`` means for data of this dimension and number of types.

    3D: ``ka3d``; 2D with three types: ``ternary2d``; other 2D data: ``ka2d``. This is the one
    rule every front end (command line, OVITO, MDAnalysis, the demo) uses for ``potential="auto"``.
    """
    if int(dimension) == 3:
        return "ka3d"
    return "ternary2d" if int(n_types) == 3 else "ka2d"


def resolve_potential(potential, frame) -> PairPotential | None:
    """The pair potential to use for ``frame``, checked against its types and dimension.

    Parameters
    ----------
    potential : PairPotential, str or None
        A potential, a preset name, ``"auto"`` (:func:`default_potential_name` of the frame's
        dimension and number of types), or None / ``"none"`` (no potential: the result is None).
    frame : glassdyn.frame.Frame
        The data (its types must be known to the potential).

    Raises
    ------
    InputError
        Unknown preset; types unknown to the potential (naming the atoms); a preset of the
        other dimension.
    """
    if potential is None or (isinstance(potential, str) and potential.lower() == "none"):
        return None
    if isinstance(potential, str) and potential == "auto":
        potential = default_potential_name(frame.dimension, frame.n_types)
    pot = get_potential(potential)
    if pot.dimension is not None and pot.dimension != frame.dimension:
        raise InputError(f"potential '{pot.name}' is {pot.dimension}D but the data are {frame.dimension}D; "
                         "choose a potential of the right dimension (or 'auto')",
                         source=frame.source, frame=frame.index)
    pot.check_types(frame.types, frame.ids, source=frame.source, frame=frame.index)
    return pot
