class PiecewiseLinear: pass
