"""The exact engine's parts: integer plans (:mod:`pwl.engine.plans`), forms
on the regions (:mod:`pwl.engine.forms`) and the cut step
(:mod:`pwl.engine.refine`); :mod:`pwl.propagate` drives them through a
network."""
