"""Reproduction of Sharma et al., "Selecting relevant structural features for glassy dynamics by
information imbalance", on glassdyn's ternary 2D stand-in model.

* :mod:`.pipeline`: temperature scan, ensembles (LAMMPS), dynamics, features, imbalances,
  selections and held-out prediction, every stage cached and resumable (:func:`run_study`);
* :mod:`.figures`: every curve beside the published one;
* :mod:`.report`: ``report.md`` and ``summary.json``.

The published arrays are read from a folder the caller names (``reference_dir``; ``glassdyn
reproduce --reference``), never from a location guessed relative to the installation.
"""
from .constants import DESCRIPTOR_ORDER, LENGTHS, MODEL, load_reference
from .pipeline import (SIZES, StudySize, analyze, compute_feature_tables, get_size, heldout_prediction,
                       mean_abs_r_least_squares, measure_dynamics, qualitative_checks, run_study, simulate_ensembles,
                       temperature_scan)
from .report import write_report

__all__ = ["run_study", "SIZES", "StudySize", "get_size", "temperature_scan", "simulate_ensembles", "measure_dynamics",
           "compute_feature_tables", "analyze", "heldout_prediction", "mean_abs_r_least_squares", "qualitative_checks",
           "write_report", "load_reference", "DESCRIPTOR_ORDER", "LENGTHS", "MODEL"]
