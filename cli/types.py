"""click parameter types for what the command line parses."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Optional

import click

from pwl.errors import PWLError
from pwl.values.numbers import to_fraction

__all__ = ["RATIONAL", "NETWORK", "SIZE"]


class RationalType(click.ParamType):
    """An exact number: ``3``, ``-3/7``, ``0.25``, ``1e-3``."""

    name = "rational"

    def convert(self, value: Any, param: Optional[click.Parameter],
                ctx: Optional[click.Context]) -> Fraction:
        if isinstance(value, Fraction):
            return value
        try:
            return to_fraction(str(value), "number")
        except PWLError:
            self.fail(f"{value!r} is not an exact number (use 3, -3/7, 0.25 or 1e-3)",
                      param, ctx)


class NetworkPathType(click.ParamType):
    """The path of a network file.  Whether it exists, is readable and
    parses is the loader's to say (a missing file is bad input, exit 1,
    like any other)."""

    name = "file"

    def convert(self, value: Any, param: Optional[click.Parameter],
                ctx: Optional[click.Context]) -> str:
        text = str(value)
        if not text:
            self.fail("the path is empty", param, ctx)
        return text


class SizeType(click.ParamType):
    """A memory size: ``512M``, ``2G``, ``1.5GiB``, ``1000000`` (bytes)."""

    name = "size"

    def convert(self, value: Any, param: Optional[click.Parameter],
                ctx: Optional[click.Context]) -> int:
        if isinstance(value, int):
            return value
        from pwl.engine.parallel import parse_size

        try:
            return parse_size(str(value))
        except PWLError as exc:
            self.fail(str(exc), param, ctx)


RATIONAL = RationalType()
SIZE = SizeType()
NETWORK = NetworkPathType()
