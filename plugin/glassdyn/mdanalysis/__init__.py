"""MDAnalysis front end (an MDAKit): ``AnalysisBase`` classes that run glassdyn's core frame by frame.

* :class:`GlassDescriptors` - per-particle descriptors of every analysed frame
  (:func:`glassdyn.descriptors.compute_features`); neighbour cutoffs per frame (default) or one
  set for every analysed frame (``cutoffs="dataset"``, :func:`glassdyn.structure.dataset_cutoffs`).
* :class:`Propensity` - over a set of replica Universes (iso-configurational runs started from
  one reference configuration), one row per frame (time) of the replicas: the propensity
  (cage-relative in 2D, plain in 3D by default), the bond-breaking propensity, F_s(q, t) of all
  particles and per type and tau_alpha per type (:mod:`glassdyn.dynamics`; the same numbers as
  :func:`glassdyn.dynamics.analyze_ensemble`). :meth:`Propensity.to_result` gives the core's
  ``PropensityResult`` (e.g. for :func:`glassdyn.adapters.xarray_io.propensity_dataset`).
* :class:`PropensityPrediction` - a trained model file applied to every frame.

All three are parallelisable over frames with MDAnalysis' backends (MDAnalysis >= 2.8):
``.run(backend="multiprocessing", n_workers=2)`` or ``backend="dask"`` give the same numbers as
``backend="serial"``. Results are in ``.results`` after :meth:`run`; :func:`attach_results`
stores one frame's columns as per-atom attributes (``ag.Propensity_CR``, ``ag.Theta_L2_0``) and
:func:`write_results` writes them to a LAMMPS dump that OVITO, MDAnalysis and glassdyn read
back. Propensity columns are named after their kind (:func:`propensity_attribute`):
``Propensity`` (plain ``<|dr|^2>``), ``Propensity_CR`` (cage-relative), ``..._Abs`` (``<|dr|>``).
:func:`universe_from_dump` opens a LAMMPS dump with the right coordinate convention (unwrapped
coordinates for replicas), every extra column and the MD timestep (``dt``, so MDAnalysis' times
are ``step * dt`` and it does not warn about a missing dt); the coordinates keep the dump's box
origin (MDAnalysis moves it to 0, and twice for scaled columns: see
:mod:`glassdyn.adapters.mdanalysis_data`).

MDAnalysis stores coordinates in float32, so results differ from glassdyn's native dump
reader (float64) by round-off (relative ~1e-6).

Example::

    import glob
    from glassdyn.mdanalysis import GlassDescriptors, Propensity, universe_from_dump

    u = universe_from_dump("config.dump")
    desc = GlassDescriptors(u.atoms, potential="ka2d", lengths=(1.0, 2.0),
                            cutoffs="dataset").run(backend="multiprocessing", n_workers=2)
    desc.results.features   # (n_frames, N, F), desc.results.names, desc.results.cutoffs

    reps = [universe_from_dump(p, unwrapped=True, dt=0.005) for p in sorted(glob.glob("replica_*.dump"))]
    prop = Propensity(reps, dt=0.005).run()
    prop.results.propensity  # (T, N), prop.results.times
    prop.results.fs          # (n_types + 1, T): all particles, then per type
    prop.results.tau_alpha   # (n_types + 1,)
    prop.columns()           # {"Propensity_CR": ..., "Bond_Breaking": ...} at the last time
"""
from ..adapters.mdanalysis_data import universe_from_dump
from .analysis import (BACKENDS, GlassDescriptors, Propensity, PropensityPrediction, attach_results, attribute_name,
                       propensity_attribute, write_results)

__all__ = ["GlassDescriptors", "Propensity", "PropensityPrediction", "universe_from_dump", "attach_results",
           "write_results", "attribute_name", "propensity_attribute", "BACKENDS"]
