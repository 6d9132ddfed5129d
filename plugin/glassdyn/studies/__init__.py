"""Reproductions of the source studies: pipeline, figures and report of each, every number beside the
published one.

* :mod:`glassdyn.studies.information_imbalance`: Sharma et al., information imbalance for glassy
  dynamics (``glassdyn reproduce``).
"""
