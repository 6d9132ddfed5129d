"""Adapters: translate LAMMPS, OVITO and MDAnalysis data to and from :class:`glassdyn.Frame`.

Adapters never compute physics. 2D detection happens here, once.
"""
