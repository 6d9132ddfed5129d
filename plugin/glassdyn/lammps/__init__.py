"""Driving LAMMPS: presets, input scripts and the `glassdyn simulate` runner.

Modules: :mod:`~glassdyn.lammps.simulate` (the tasks: equilibration, cooling series,
ensembles; manifest and resume), :mod:`~glassdyn.lammps.execution` (jobs as plain data, run
here in threads or as cluster tasks), :mod:`~glassdyn.lammps.cluster` (dask.distributed and
dask-jobqueue: ``scheduler=``, :func:`~glassdyn.lammps.cluster.make_cluster`),
:mod:`~glassdyn.lammps.runner` (one LAMMPS process, MPI ranks and partitions),
:mod:`~glassdyn.lammps.tables` (pair-style tables).
"""
