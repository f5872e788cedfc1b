"""Pushing a domain through a network, exactly.

* :mod:`pwl.engine.plans`: each node's integer affine map and activation;
* :mod:`pwl.engine.forms`: the affine forms on the regions;
* :mod:`pwl.engine.refine`: the cut step (where the forms change sign);
* :mod:`pwl.engine.propagate`: drives them through a network, giving a
  :class:`~pwl.values.partition.Partition`;
* :mod:`pwl.engine.exact` and :mod:`pwl.engine.exactsum`: the big-integer
  arithmetic (python-flint) behind them;
* :mod:`pwl.engine.certified` and :mod:`pwl.engine.escalate`: float64 with
  proven error bounds, undecided regions settled locally in ball
  arithmetic, then exactly;
* :mod:`pwl.engine.compose`: counting through rank-1 bottlenecks without
  listing the pieces;
* :mod:`pwl.engine.line`: the restriction of a many-input network to a line;
* :mod:`pwl.engine.parallel`: the worker pool that counts a domain in
  chunks;
* :mod:`pwl.engine._jit` and :mod:`pwl.engine._jit_kernel`: the compiled
  kernels (numba, optional).
"""
