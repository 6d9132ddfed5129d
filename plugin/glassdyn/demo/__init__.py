"""``glassdyn demo`` as a library: the whole pipeline on a small 2D Kob-Andersen system.

:func:`run_pipeline` simulates with LAMMPS, computes propensity and descriptors, selects features
by information imbalance, trains and scores a model on held-out configurations, renders pictures
and writes a report (:mod:`glassdyn.demo.report`); the ``glassdyn demo`` command calls it.
"""
from .pipeline import DEFAULT_OUTPUT, SIZES, DemoSize, run_pipeline

__all__ = ["DemoSize", "SIZES", "run_pipeline", "DEFAULT_OUTPUT"]
