"""MDAnalysis workflow: propensity from replica Universes, descriptors, attributes, annotated dump.

    python examples/mdanalysis_workflow.py run/reference.dump run/replica_*.dump -o annotated.dump --workers 2

Input: the starting configuration and one LAMMPS dump per replica (unwrapped ``xu yu [zu]`` or
image flags). The analyses run frame-parallel with MDAnalysis' ``multiprocessing`` backend
(``--backend dask`` works as well) and give the same numbers as ``--backend serial``.
Output: a LAMMPS dump of the starting configuration with the propensity (named after its kind:
``Propensity_CR``, the cage-relative 2D default, or ``Propensity``), the bond breaking and the
descriptors, and the five descriptors most correlated with the propensity.
"""
from __future__ import annotations

import argparse
import warnings

import numpy as np

from glassdyn.mdanalysis import GlassDescriptors, Propensity, attach_results, universe_from_dump, write_results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", help="LAMMPS dump of the starting configuration")
    parser.add_argument("replicas", nargs="+", help="one LAMMPS dump per replica")
    parser.add_argument("-o", "--output", required=True, help="annotated LAMMPS dump to write")
    parser.add_argument("--potential", default="ka2d")
    parser.add_argument("--lengths", type=float, nargs="+", default=[1.0, 2.0, 3.0])
    parser.add_argument("--backend", default="multiprocessing", choices=("serial", "multiprocessing", "dask"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    # MDAnalysis' notes about LAMMPS dumps ('Guessed all Masses to 1.0', 'Reader has no dt information')
    warnings.filterwarnings("ignore", category=UserWarning)

    run_opts = {} if args.backend == "serial" else dict(backend=args.backend, n_workers=args.workers)

    # 1. propensity over the replicas, at every dumped time (rows) and atom (columns), with F_s and tau_alpha
    replicas = [universe_from_dump(p, unwrapped=True, dt=0.005) for p in args.replicas]
    prop = Propensity(replicas, potential=args.potential, dt=0.005).run(**run_opts)
    name = next(iter(prop.columns()))          # Propensity_CR in 2D (cage-relative), Propensity in 3D
    print(f"{len(replicas)} replicas, times {prop.results.times.tolist()}, "
          f"mean {name} at the last time {prop.results.propensity[-1].mean():.4g}, "
          f"F_s at the last time {prop.results.fs[0, -1]:.3f}, tau_alpha {prop.results.tau_alpha[0]:.4g}")

    # 2. descriptors of the starting configuration
    ref = universe_from_dump(args.reference)
    desc = GlassDescriptors(ref.atoms, potential=args.potential, lengths=args.lengths).run(**run_opts)

    # 3. per-atom attributes: selections on them work like on any MDAnalysis attribute
    ref.trajectory[0]
    attach_results(ref.atoms, prop)
    attach_results(ref.atoms, desc)
    cut = np.quantile(getattr(ref.atoms, name), 0.9)
    mobile = ref.select_atoms(f"prop {name} > {cut}")
    print(f"{mobile.n_atoms} most mobile atoms (top 10%): types {np.unique(mobile.types).tolist()}")

    # 4. which descriptors follow the propensity
    p = prop.results.propensity[-1]
    feats = desc.results.features[0]
    ok = np.all(np.isfinite(feats), axis=0) & (feats.std(axis=0) > 0)
    r = np.full(feats.shape[1], np.nan)
    r[ok] = [np.corrcoef(feats[:, k], p)[0, 1] for k in np.flatnonzero(ok)]
    print("descriptor      Pearson r with propensity")
    for k in np.argsort(-np.abs(np.nan_to_num(r)))[:5]:
        print(f"  {desc.results.names[k]:<14s} {r[k]:+.3f}")

    # 5. annotated dump that glassdyn, OVITO and MDAnalysis read back
    write_results(args.output, ref.atoms, [prop, desc])
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
