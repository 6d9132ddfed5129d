"""Driving LAMMPS: presets, input scripts and the `glassdyn simulate` runner."""
