"""MDAnalysis front end: ``AnalysisBase`` classes that run glassdyn's core frame by frame.

* :class:`GlassDescriptors` - per-particle descriptors of every analysed frame
  (:func:`glassdyn.descriptors.compute_features`).
* :class:`Propensity` - propensity ``<|dr_i(t)|^2>_iso`` over a set of replica Universes
  (iso-configurational runs started from one reference configuration), one row per frame
  (time) of the replicas (:mod:`glassdyn.dynamics`).
* :class:`PropensityPrediction` - a trained model file applied to every frame.

All three are parallelisable over frames with MDAnalysis' backends (MDAnalysis >= 2.8):
``.run(backend="multiprocessing", n_workers=2)`` or ``backend="dask"`` give the same numbers as
``backend="serial"``. Results are in ``.results`` after :meth:`run`; :func:`attach_results`
stores one frame's columns as per-atom attributes (``ag.Propensity``, ``ag.Theta_L2_0``) and
:func:`write_results` writes them to a LAMMPS dump that OVITO, MDAnalysis and glassdyn read
back. :func:`universe_from_dump` opens a LAMMPS dump with the right coordinate convention
(unwrapped coordinates for replicas) and every extra column.

MDAnalysis stores coordinates in float32, so results differ from glassdyn's native dump
reader (float64) by round-off (relative ~1e-6).

Example::

    import MDAnalysis as mda
    from glassdyn.mdanalysis import GlassDescriptors, Propensity, universe_from_dump

    u = universe_from_dump("config.dump")
    desc = GlassDescriptors(u.atoms, potential="ka2d", lengths=(1.0, 2.0)).run(backend="multiprocessing",
                                                                             n_workers=2)
    desc.results.features   # (n_frames, N, F), desc.results.names

    reps = [universe_from_dump(p, unwrapped=True) for p in sorted(glob.glob("replica_*.dump"))]
    prop = Propensity(reps).run()
    prop.results.propensity  # (T, N), prop.results.times
"""
from ..adapters.mdanalysis_data import universe_from_dump
from .analysis import (BACKENDS, GlassDescriptors, Propensity, PropensityPrediction, attach_results, attribute_name,
                       write_results)

__all__ = ["GlassDescriptors", "Propensity", "PropensityPrediction", "universe_from_dump", "attach_results",
           "write_results", "attribute_name", "BACKENDS"]
