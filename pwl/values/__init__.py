"""The values pwl computes with and returns, each validated once at
construction and immutable after: exact numbers (:mod:`pwl.values.numbers`,
the border where floats and text become exact rationals), intervals
(:mod:`pwl.values.domain`), activations as data
(:mod:`pwl.values.activations`), networks (:mod:`pwl.values.network`: no
engine, no file reading), partitions (:mod:`pwl.values.partition`) and
piecewise-linear functions (:mod:`pwl.values.function`)."""
