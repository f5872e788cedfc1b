"""Piecewise-linear activations as data.

An activation is a continuous piecewise-linear map of one variable, given by
its kinks ``t_1 < ... < t_m`` and the affine form ``slope_p * z + intercept_p``
on each of the ``m + 1`` pieces (piece ``p`` lies between ``t_p`` and
``t_{p+1}``).  The engine never calls an activation: it reads these numbers.
Adding an activation is one entry in :data:`_BUILDERS`.

Convention at a kink: a pre-activation equal to ``t_j`` counts as lying on the
piece *below* it (``relu'(0) = 0``), which is what decides the activation
pattern of a neuron that is constant and exactly at a kink.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from fractions import Fraction
from typing import Callable, Mapping

from ..errors import NetworkFormatError
from .numbers import format_exact, to_fraction

__all__ = ["Activation", "get_activation", "ACTIVATIONS"]


_ZERO, _ONE = Fraction(0), Fraction(1)

@dataclass(frozen=True)
class Activation:
    """A continuous piecewise-linear activation, canonical (every kink real).

    Examples
    --------
    >>> relu = get_activation("relu")
    >>> relu.kinks, relu.slopes
    ((Fraction(0, 1),), (Fraction(0, 1), Fraction(1, 1)))
    >>> relu(Fraction(-2)), relu(Fraction(3))
    (Fraction(0, 1), Fraction(3, 1))
    """

    name: str
    kinks: tuple[Fraction, ...]
    slopes: tuple[Fraction, ...]
    intercepts: tuple[Fraction, ...]
    params: tuple[tuple[str, Fraction], ...] = ()

    def __post_init__(self) -> None:
        if len(self.slopes) != len(self.kinks) + 1 or len(self.intercepts) != len(self.slopes):
            raise NetworkFormatError(f"activation {self.name}: need one more piece than kinks")
        if any(a >= b for a, b in zip(self.kinks, self.kinks[1:])):
            raise NetworkFormatError(f"activation {self.name}: kinks must increase")
        for j, t in enumerate(self.kinks):
            left = self.slopes[j] * t + self.intercepts[j]
            right = self.slopes[j + 1] * t + self.intercepts[j + 1]
            if left != right:
                raise NetworkFormatError(f"activation {self.name}: not continuous at {t}")
            if self.slopes[j] == self.slopes[j + 1]:
                raise NetworkFormatError(
                    f"activation {self.name}: {t} is not a kink (same piece on both sides)")

    @cached_property
    def is_identity(self) -> bool:
        return not self.kinks and self.slopes[0] == 1 and self.intercepts[0] == 0

    @cached_property
    def is_relu(self) -> bool:
        """relu itself: one kink at 0, slopes 0 then 1, no offsets.

        >>> get_activation("relu").is_relu, get_activation("leaky_relu").is_relu
        (True, False)
        """
        return (self.kinks == (_ZERO,) and self.slopes == (_ZERO, _ONE)
                and self.intercepts == (_ZERO, _ZERO))

    def piece(self, z: Fraction) -> int:
        """Index of the piece ``z`` lies on (a kink counts with the piece below)."""
        return sum(1 for t in self.kinks if z > t)

    def __call__(self, z: Fraction) -> Fraction:
        p = self.piece(z)
        return self.slopes[p] * z + self.intercepts[p]

    def to_dict(self) -> dict[str, object]:
        """The native-format description: ``{"activation": name, **params}``."""
        out: dict[str, object] = {"activation": self.name}
        for key, value in self.params:
            out[key] = format_exact(value)
        return out


def _canonical(name: str, kinks: list[Fraction], slopes: list[Fraction],
               intercepts: list[Fraction], params: tuple[tuple[str, Fraction], ...]
               ) -> Activation:
    """Drop kinks where the pieces on both sides coincide (leaky_relu(1) = identity)."""
    k, s, c = [], [slopes[0]], [intercepts[0]]
    for j, t in enumerate(kinks):
        if slopes[j + 1] == s[-1] and intercepts[j + 1] == c[-1]:
            continue
        k.append(t)
        s.append(slopes[j + 1])
        c.append(intercepts[j + 1])
    return Activation(name, tuple(k), tuple(s), tuple(c), params)


def _relu() -> Activation:
    return _canonical("relu", [Fraction(0)], [Fraction(0), Fraction(1)],
                      [Fraction(0), Fraction(0)], ())


def _identity() -> Activation:
    return Activation("identity", (), (Fraction(1),), (Fraction(0),))


def _leaky_relu(alpha: object = Fraction(1, 100)) -> Activation:
    a = to_fraction(alpha, "leaky_relu alpha")
    return _canonical("leaky_relu", [Fraction(0)], [a, Fraction(1)],
                      [Fraction(0), Fraction(0)], (("alpha", a),))


def _hardtanh(min: object = -1, max: object = 1) -> Activation:  # noqa: A002
    lo, hi = to_fraction(min, "hardtanh min"), to_fraction(max, "hardtanh max")
    if lo >= hi:
        raise NetworkFormatError(f"hardtanh: min {format_exact(lo)} must be below "
                                 f"max {format_exact(hi)}")
    return Activation("hardtanh", (lo, hi), (Fraction(0), Fraction(1), Fraction(0)),
                      (lo, Fraction(0), hi), (("min", lo), ("max", hi)))


def _relu6() -> Activation:
    return Activation("relu6", (Fraction(0), Fraction(6)),
                      (Fraction(0), Fraction(1), Fraction(0)),
                      (Fraction(0), Fraction(0), Fraction(6)))


def _abs() -> Activation:
    return Activation("abs", (Fraction(0),), (Fraction(-1), Fraction(1)),
                      (Fraction(0), Fraction(0)))


#: name -> (builder, accepted parameter names)
_BUILDERS: Mapping[str, tuple[Callable[..., Activation], tuple[str, ...]]] = {
    "relu": (_relu, ()),
    "identity": (_identity, ()),
    "linear": (_identity, ()),
    "leaky_relu": (_leaky_relu, ("alpha",)),
    "hardtanh": (_hardtanh, ("min", "max")),
    "relu6": (_relu6, ()),
    "abs": (_abs, ()),
}

#: The names :func:`get_activation` knows.
ACTIVATIONS: tuple[str, ...] = tuple(_BUILDERS)


def get_activation(name: object, **params: object) -> Activation:
    """Build an activation from its name and parameters.

    >>> get_activation("leaky_relu", alpha="1/10").slopes
    (Fraction(1, 10), Fraction(1, 1))
    >>> get_activation("softplus")
    Traceback (most recent call last):
    ...
    pwl.errors.NetworkFormatError: unknown activation 'softplus' (known: relu, identity, linear, leaky_relu, hardtanh, relu6, abs)
    """
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str) or name.lower() not in _BUILDERS:
        raise NetworkFormatError(
            f"unknown activation {name!r} (known: {', '.join(ACTIVATIONS)})")
    builder, accepted = _BUILDERS[name.lower()]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise NetworkFormatError(f"activation {name!r} takes no parameter {unknown[0]!r}")
    return builder(**params)
