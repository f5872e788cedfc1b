"""The native JSON network format, read exactly."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import NetworkFormatError, PWLError
from ..values.network import Network
from .files import check_input_file
from ..values.numbers import MAX_DIGITS

__all__ = ["read_native", "parse_native"]


def _parse_int(text: str) -> object:
    """JSON integers as ints; absurdly long ones stay text, so that the number
    reader refuses them with the place they were found."""
    return text if len(text) > MAX_DIGITS else int(text)


def parse_native(text: str) -> Network:
    """Parse native-format JSON text; decimals are kept as their exact text."""
    try:
        # decimals and NaN/Infinity stay text, so that to_fraction reads the former
        # exactly and refuses the latter with the place they were found
        data = json.loads(text, parse_float=str, parse_constant=str, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise NetworkFormatError(
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise NetworkFormatError("JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal beyond Python's digit limit
        raise NetworkFormatError(f"unreadable number in JSON: {exc}") from None
    return Network.from_dict(data)


def read_native(path: Path) -> Network:
    """Read and validate a native network file; errors start with the path."""
    check_input_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NetworkFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise NetworkFormatError(f"{path}: is a directory") from None
    except UnicodeDecodeError:
        raise NetworkFormatError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise NetworkFormatError(f"{path}: {exc.strerror}") from None
    except PWLError as exc:
        raise type(exc)(f"{path}: {exc}") from None
    try:
        return parse_native(text)
    except PWLError as exc:
        raise type(exc)(f"{path}: {exc}") from None
