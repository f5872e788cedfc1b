"""The ``certified`` method: float64 with proven error bounds, undecided
regions settled locally in balls and exactly (:mod:`pwl.engine.certified`); the
default for weights with large denominators (floats, long decimals)."""

from __future__ import annotations

from ..values.domain import Domain
from ..errors import PWLValueError
from ..values.network import Network
from .base import CountResult, NotApplicable, Request

NAME = "certified"
LISTS = False
REFUSAL = ("the certified method needs a chain of layers whose activations have one kink, "
           "at 0 (relu, leaky_relu, abs), and an affine output layer")


def applies(net: Network, domain: Domain) -> bool:
    from ..engine import certified

    return certified.applies(net)


def preferred(net: Network, domain: Domain) -> bool:
    from . import big_numbers

    return applies(net, domain) and big_numbers(net)


def count(req: Request) -> CountResult:
    from ..engine import certified

    try:
        res = certified.certified_counts(req.net, req.domain, req.progress)
    except certified.Undecided:
        if req.forced:
            raise PWLValueError("the certified method needs numbers within the float range "
                                "(about 2^-900 to 2^1000); use --method enumerate") from None
        raise NotApplicable("numbers beyond the float range") from None
    return req.result(pieces=res.pieces[req.output], activation_regions=res.activation_regions,
                      method=NAME, decisions=res.decisions)
