"""Presentation: figures (:mod:`pwl.present.plot`, matplotlib) and exact
exports of networks and functions as JSON, sympy, LaTeX or CSV
(:mod:`pwl.present.export`)."""
