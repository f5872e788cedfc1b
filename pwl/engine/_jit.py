"""Compiled kernels for the engine's most common step (optional: numba).

:func:`pwl.engine._jit_kernel.refine` cuts a partition where the pre-activations
cross a single kink, as :func:`pwl.engine.refine._refine` does with numpy, in
one pass per stage instead of some fifty numpy calls per layer; on small
networks those calls, not the arithmetic, are the cost.  The arithmetic is
the same exact int64 arithmetic: the caller checks the bounds that make
every product and sum fit (``|za cn| + |zc cd| < 2^62``; for exact ties
also ``|num| * den < 2^62``), and the kernel reports what it cannot settle
so that the numpy path takes over.  For the certified route
(:mod:`pwl.engine.certified`) three kernels do in one pass what numpy does in many:
:func:`pwl.engine._jit_kernel.decide_certified` (the same float operations in the
same order as :func:`pwl.engine.certified._decide`, hence the same decisions),
:func:`pwl.engine._jit_kernel.affine_bounds` (the entry bounds after a layer's
product) and :func:`pwl.engine._jit_kernel.gather_on` (forms onto the new
regions, times the relu's pieces).

numba (the optional extra ``fast``) is imported on first use only: that
costs a few tenths of a second, so the policy says when it is worth it.
``PWL_JIT`` sets it: ``on`` (the library's default: any layer), ``large``
(the command line's default: only layers of at least :data:`LARGE` entries,
big enough to win the loading time back, or once numba is loaded anyway)
or ``off``.
"""

from __future__ import annotations

import os
import warnings
from types import ModuleType
from typing import Optional

__all__ = ["kernels", "OK", "UNDECIDED", "OVER_LIMIT", "LARGE", "set_default_policy"]

#: Status codes of the kernel.
OK, UNDECIDED, OVER_LIMIT = 0, 1, 2

#: Neurons x regions of a layer from which the "large" policy loads numba.
LARGE = 1 << 21

_POLICIES = {"1": "on", "on": "on", "true": "on", "yes": "on",
             "0": "off", "off": "off", "false": "off", "no": "off", "large": "large"}
_default = "on"
_KERNELS: Optional[ModuleType] = None
_TRIED = False


def set_default_policy(policy: str) -> None:
    """The policy when ``PWL_JIT`` is not set: ``on``, ``large`` or ``off``."""
    global _default
    if policy not in ("on", "large", "off"):
        raise ValueError(f"unknown policy {policy!r}")
    _default = policy


def policy() -> str:
    value = os.environ.get("PWL_JIT", "").strip().lower()
    return _POLICIES.get(value, _default)


def kernels(entries: int = 0) -> Optional[ModuleType]:
    """The compiled kernels (:mod:`pwl.engine._jit_kernel`) for a layer of
    ``entries`` neurons x regions, or None (numba missing, or not worth
    loading under the policy)."""
    global _KERNELS, _TRIED
    if _KERNELS is not None and _default == "on" and "PWL_JIT" not in os.environ:
        return _KERNELS
    mode = policy()
    if mode == "off" or (mode == "large" and not _TRIED and entries < LARGE):
        return None
    if not _TRIED:
        _TRIED = True
        try:
            from . import _jit_kernel
        except ImportError:     # numba is not installed: numpy alone
            _KERNELS = None
        except Exception as exc:  # numba present but unusable here (say, no cache folder)
            warnings.warn(f"pwl: the compiled kernel is unavailable ({exc}); using numpy alone",
                          RuntimeWarning, stacklevel=2)
            _KERNELS = None
        else:
            _KERNELS = _jit_kernel
    return _KERNELS
