"""The exactness boundary: everything that becomes a number in pwl passes here.

Inside pwl every number is an ``int`` or a :class:`fractions.Fraction`.  This
module is the only door:

* :func:`to_fraction` takes ints, Fractions, and *strings* that spell an exact
  rational: ``"3"``, ``"-3/7"``, ``"0.25"``, ``"1e-3"``.  A decimal string is
  read as the decimal it spells, so ``"0.1"`` is ``1/10``.  Python floats are
  refused here, because ``0.1`` as a float is not 1/10.
* :func:`from_float_exact` is the one explicit route for floats (from binary
  formats such as npz, ONNX or torch): it returns the float's exact binary
  value, so ``from_float_exact(0.1)`` is ``3602879701896397/36028797018963968``.

No input is ever evaluated as code.
"""

from __future__ import annotations

import math
import re
import sys
from fractions import Fraction
from numbers import Rational
from typing import Union

from ..errors import PWLTypeError, PWLValueError

__all__ = [
    "Number",
    "to_fraction",
    "from_float_exact",
    "format_exact",
    "format_decimal",
    "MAX_DIGITS",
]

Number = Union[int, Fraction, str]

#: Longest numerator, denominator or exponent (in decimal digits) accepted
#: from text.  Longer ones are refused rather than left to hang the engine.
MAX_DIGITS = 4000

_RATIONAL = re.compile(
    r"""\A\s*
    (?P<sign>[-+]?)
    (?:
        (?P<num>\d+)\s*/\s*(?P<den>\d+)                  # p/q
      | (?P<int>\d*)(?:\.(?P<frac>\d*))?                 # decimal
        (?:[eE](?P<exp>[-+]?\d+))?
    )
    \s*\Z""",
    re.VERBOSE | re.ASCII,
)


def _parse_text(text: str, where: str) -> Fraction:
    if text.strip().lstrip("+-").lower() in ("nan", "inf", "infinity"):
        raise PWLValueError(f"{where}: {text!r} is not a finite number")
    match = _RATIONAL.match(text)
    if match is None or (
        match["num"] is None and not (match["int"] or match["frac"])
    ):
        raise PWLValueError(f"{where}: {text!r} is not an exact number "
                            "(expected an integer, a decimal or 'p/q')")
    sign = -1 if match["sign"] == "-" else 1
    if match["num"] is not None:
        num, den = match["num"], match["den"]
        if len(num) > MAX_DIGITS or len(den) > MAX_DIGITS:
            raise PWLValueError(f"{where}: number has more than {MAX_DIGITS} digits")
        if int(den) == 0:
            raise PWLValueError(f"{where}: {text!r} has a zero denominator")
        return Fraction(sign * int(num), int(den))
    digits = (match["int"] or "") + (match["frac"] or "")
    exp_text = match["exp"] or "0"
    if len(digits) > MAX_DIGITS or len(exp_text.lstrip("+-")) > 6:
        raise PWLValueError(f"{where}: number {text[:40]!r}... is too long")
    exponent = int(exp_text) - len(match["frac"] or "")
    if abs(exponent) > MAX_DIGITS:
        raise PWLValueError(f"{where}: exponent of {text!r} is beyond "
                            f"10^{MAX_DIGITS}")
    mantissa = sign * int(digits)
    if exponent >= 0:
        return Fraction(mantissa * 10**exponent)
    return Fraction(mantissa, 10**-exponent)


def to_fraction(value: object, where: str = "value") -> Fraction:
    """Convert an exact number to a :class:`~fractions.Fraction`.

    Parameters
    ----------
    value : int, Fraction or str
        An integer, a rational, or a string ``"p/q"``, ``"-3/7"``, ``"0.25"``,
        ``"1e-3"``.  Decimal strings are read as the decimal they spell.
    where : str
        Where the value came from, for the error message.

    Raises
    ------
    PWLTypeError
        For floats, booleans and anything that is not a number.
    PWLValueError
        For strings that do not spell an exact finite rational.

    Examples
    --------
    >>> to_fraction("0.1")
    Fraction(1, 10)
    >>> to_fraction("-3/7")
    Fraction(-3, 7)
    >>> to_fraction(0.5)
    Traceback (most recent call last):
    ...
    pwl.errors.PWLTypeError: value: 0.5 is a float; give exact numbers as strings ('0.5' is read as the decimal 0.5), or take floats at their exact binary value with Network.from_arrays, Layer.from_floats or from_float_exact
    """
    if isinstance(value, bool):
        raise PWLTypeError(f"{where}: {value!r} is a boolean, not a number")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Fraction):
        return value
    if isinstance(value, str):
        return _parse_text(value, where)
    if isinstance(value, float):
        text = float.__repr__(float(value))     # 0.1, not np.float64(0.1)
        raise PWLTypeError(
            f"{where}: {text} is a float; give exact numbers as strings ('{text}' is read "
            f"as the decimal {text}), or take floats at their exact binary value with "
            "Network.from_arrays, Layer.from_floats or from_float_exact"
            if math.isfinite(value) else
            f"{where}: {text} is not a finite number"
        )
    if isinstance(value, Rational):
        return Fraction(int(value.numerator), int(value.denominator))
    raise PWLTypeError(f"{where}: {value!r} is not a number")


def from_float_exact(value: float, where: str = "value") -> Fraction:
    """The exact binary value of a finite float: the one route for floats.

    Binary network formats store IEEE doubles (or singles); pwl analyses the
    network *as stored*, so each float becomes the rational it is exactly.

    >>> from_float_exact(0.5)
    Fraction(1, 2)
    >>> from_float_exact(0.1) == Fraction(1, 10)
    False
    """
    number = float(value)
    if not math.isfinite(number):
        raise PWLValueError(f"{where}: {value!r} is not a finite number")
    return Fraction(number)


def _int_text(n: int) -> str:
    """Decimal text of any int: exact results may be longer than Python's
    default limit on int-to-text conversions (inputs are limited instead)."""
    try:
        return str(n)
    except ValueError:
        old = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
        try:
            return str(n)
        finally:
            sys.set_int_max_str_digits(old)


def format_exact(value: Fraction | int) -> str:
    """Exact text for a rational: ``"3"``, ``"-3/7"``.

    >>> format_exact(Fraction(6, 4)), format_exact(Fraction(-2))
    ('3/2', '-2')
    """
    value = Fraction(value)
    if value.denominator == 1:
        return _int_text(value.numerator)
    return f"{_int_text(value.numerator)}/{_int_text(value.denominator)}"


def format_decimal(value: Fraction | int, digits: int = 12) -> str:
    """A decimal approximation of an exact value, for reading only.

    Correctly rounded (half to even) to ``digits`` significant digits.

    >>> format_decimal(Fraction(5, 12), 6)
    '0.416667'
    """
    from decimal import Context, Decimal

    value = Fraction(value)
    ctx = Context(prec=digits)
    quotient = ctx.divide(Decimal(value.numerator), Decimal(value.denominator))
    text = format(quotient, "f") if abs(quotient.adjusted()) < 15 else str(quotient)
    if "." in text and "E" not in text:
        text = text.rstrip("0").rstrip(".")
    return text
