"""The ``compose`` method: through rank-1 bottlenecks (:mod:`pwl.engine.compose`);
counts without listing, so ``2^1000`` pieces take milliseconds."""

from __future__ import annotations

from ..values.domain import Domain
from ..errors import ResourceLimitError
from ..values.network import Network
from .base import CountResult, NotApplicable, Request

NAME = "compose"
LISTS = False
REFUSAL = ("the compose method needs a chain of layers with a hidden layer after the first "
           "whose weight matrix has rank 1")


def applies(net: Network, domain: Domain) -> bool:
    from ..engine import compose

    return compose.applies(net)


def preferred(net: Network, domain: Domain) -> bool:
    return applies(net, domain)


def count(req: Request) -> CountResult:
    from ..engine import compose

    try:
        pieces, regions = compose.compose_count(req.net, req.domain, req.output)
    except ResourceLimitError:
        if req.forced:
            raise
        raise NotApplicable("too many image intervals") from None
    return req.result(pieces=pieces, activation_regions=regions, method=NAME)
