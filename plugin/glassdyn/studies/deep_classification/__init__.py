"""Reproduction of Swanson et al., "Deep learning for automated classification and characterization of
amorphous materials", on the 2D Kob-Andersen mixture (``glassdyn reproduce swanson``).

* :mod:`.pipeline`: cooling ramps (LAMMPS), E_IS(T) and Tg per rate, the six data sets (+ fast vs slow
  glasses), descriptor models, the CNN and the attention D-MPNN under the paper's nested
  cross-validation, the attention analysis, graph metrics along the ramps; every stage cached and
  resumable (:func:`run_study`), the cost of a size (:func:`estimate_cost`);
* :mod:`.figures`: E_IS(T), ROC curves, the AUC table, attention renders, each beside the published
  numbers;
* :mod:`.report`: ``report.md`` and ``summary.json``;
* :mod:`.constants`: the published numbers and the measured costs.

The published numbers are the paper's own (text and appendix); there are no published arrays.
"""
from .constants import DATASETS, PUBLISHED_AUC, PUBLISHED_EIS, PUBLISHED_TG, SET_ORDER
from .pipeline import (SIZES, StudySize, attention_analysis, candidates, dataset_samples, deep_classification,
                       describe_cost, descriptor_classification, descriptor_features, estimate_cost, get_size,
                       graph_metrics_vs_temperature, load_samples, run_study, simulate, study_splits, thermodynamics)
from .report import write_report

__all__ = ["run_study", "SIZES", "StudySize", "get_size", "estimate_cost", "describe_cost", "candidates", "simulate",
           "thermodynamics", "dataset_samples", "load_samples", "study_splits", "descriptor_features",
           "descriptor_classification", "deep_classification", "attention_analysis", "graph_metrics_vs_temperature",
           "write_report", "DATASETS", "SET_ORDER", "PUBLISHED_AUC", "PUBLISHED_EIS", "PUBLISHED_TG"]
