"""Plots and rendered pictures: the one place of glassdyn that imports matplotlib (and renders with OVITO).

==============================  ==============================================================
module                          content
==============================  ==============================================================
:mod:`.dynamics`                ``plot_fs`` (F_s(q, t) curves), ``fs_curves``, ``plot_propensity_distribution``
:mod:`.imbalance`               ``plot_plane`` (information-imbalance plane), ``plot_curve`` (Delta vs d)
:mod:`.learn`                   ``parity_plot``, ``plot_learning_curve``, ``propensity_maps``, ``roc_plot``
:mod:`.render`                  ``render_property`` (OVITO), ``frame_to_datacollection``, ``side_by_side_images``
==============================  ==============================================================

Every picture is written atomically (temporary file + rename). The command line, the demo and the
studies draw through these functions and :func:`new_figure` / :func:`save_figure`.
"""
from ._base import colormap, new_figure, parse_size, save_figure

__all__ = ["new_figure", "save_figure", "parse_size", "colormap"]
