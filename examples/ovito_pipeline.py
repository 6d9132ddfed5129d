"""OVITO pipeline with the glassdyn modifiers: propensity, descriptors, graph metrics, imbalance.

Run with the Python that has ``ovito`` and ``glassdyn`` installed (or ``ovitos`` in OVITO Pro)::

    python examples/ovito_pipeline.py "run/replica_*.dump" -o annotated.dump --png propensity.png

Input: the replica dumps of one iso-configurational ensemble (one file per replica, unwrapped
``xu yu`` columns, first frame = the common starting configuration at t = 0), e.g. written by
``glassdyn simulate``. The same modifiers appear in OVITO Pro's "Add modification" list once
glassdyn is installed into OVITO's interpreter (``ovitos -m pip install glassdyn``).

Output: a LAMMPS dump of the starting configuration with the propensity (named after its kind:
``Propensity CR`` for the cage-relative propensity, the 2D default, ``Propensity`` for the plain
one; OVITO's dump exporter drops the space: ``PropensityCR``), the descriptors and the graph
flags; the information-imbalance plane printed (and available as a data table in the pipeline
output); optionally a picture of the propensity.
"""
from __future__ import annotations

import argparse

import numpy as np
from ovito.io import export_file, import_file

from glassdyn.ovito.descriptors_modifier import GlassDescriptorsModifier
from glassdyn.ovito.graph_modifier import GlassGraphModifier
from glassdyn.ovito.imbalance_modifier import PLANE_TABLE, InformationImbalanceModifier
from glassdyn.ovito.prediction_modifier import PropensityPredictionModifier
from glassdyn.ovito.propensity_modifier import DynamicPropensityModifier


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("replicas", help="wildcard pattern of the replica dumps, e.g. 'run/replica_*.dump'")
    parser.add_argument("-o", "--output", required=True, help="annotated LAMMPS dump to write")
    parser.add_argument("--potential", default="ka2d", help="potential preset (ka2d, ternary2d, ka3d)")
    parser.add_argument("--lengths", default="1:3:1", help="coarse-graining lengths, list or start:stop:step")
    parser.add_argument("--model", default=None, help="optional trained model (.gdm) to add Predicted Propensity")
    parser.add_argument("--png", default=None, help="optional picture of the propensity")
    args = parser.parse_args(argv)

    # one file per replica: the pipeline's frames are all replicas at all times
    pipeline = import_file(args.replicas)
    pipeline.modifiers.append(DynamicPropensityModifier(potential=args.potential))          # -> Propensity CR (2D)
    pipeline.modifiers.append(GlassDescriptorsModifier(potential=args.potential, lengths=args.lengths))
    pipeline.modifiers.append(GlassGraphModifier())                                        # -> graph_* flags
    pipeline.modifiers.append(InformationImbalanceModifier())  # target: the propensity above -> data tables
    if args.model:
        pipeline.modifiers.append(PropensityPredictionModifier(model_file=args.model))     # -> Predicted Propensity

    data = pipeline.compute(0)   # frame 0 = the starting configuration (t = 0 of the first replica)
    prop = data.attributes["Propensity.property"]                 # "Propensity CR" in 2D, "Propensity" in 3D
    names = data.attributes["GlassDescriptors.names"].split(",")
    plane = data.tables[PLANE_TABLE].xy()
    print(f"{data.particles.count} particles, {data.attributes['Propensity.replicas']} replicas, "
          f"{prop} at t = {data.attributes['Propensity.time']:g}, tau_alpha = "
          f"{data.attributes['Propensity.tau_alpha']:.4g}")
    print(f"information imbalance  Delta(X -> {prop})  Delta({prop} -> X)")
    for k in np.argsort(plane[:, 0])[:5]:
        print(f"  {names[k]:<14s} {plane[k, 0]:.3f}  {plane[k, 1]:.3f}")
    print(f"graph: {data.attributes['GlassGraph.n_components']} components, "
          f"{data.attributes['GlassGraph.n_bb_edges']} B-B edges, "
          f"{data.attributes['GlassGraph.n_isolated_a']} isolated A")

    columns = ["Particle Identifier", "Particle Type", "Position.X", "Position.Y", "Position.Z", prop,
               *names, "graph_degree", "graph_component", "graph_isolated_a"]
    if args.model:
        columns.append("Predicted Propensity")
    export_file(pipeline, args.output, "lammps/dump", columns=columns, frame=0)
    print(f"wrote {args.output}")

    if args.png:
        from glassdyn.plots.render import render_property
        render_property(args.output, prop.replace(" ", ""), args.png, size=(800, 600))  # the exported name
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
