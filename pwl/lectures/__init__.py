"""The lectures' other constructions: approximating rectangles and the sine
(:mod:`pwl.lectures.approx`), exact interpolation of data points by shallow
and deep networks (:mod:`pwl.lectures.interpolation`) and gradients through
depth (:mod:`pwl.lectures.gradients`)."""
