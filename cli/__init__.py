"""The ``pwl`` command line: parse, call :mod:`pwl`, format."""
