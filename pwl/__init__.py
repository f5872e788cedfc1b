"""pwl: exact piecewise-linear analysis of ReLU networks with one input."""

from .values.activations import Activation as Activation, get_activation as get_activation
from .errors import (
    DomainError as DomainError,
    NetworkFormatError as NetworkFormatError,
    PWLError as PWLError,
    PWLTypeError as PWLTypeError,
    PWLValueError as PWLValueError,
    ResourceLimitError as ResourceLimitError,
)
from .values.function import Piece as Piece, PiecewiseLinear as PiecewiseLinear
from .values.network import Layer as Layer, Network as Network
from .io.loaders import load as load
from .values.numbers import from_float_exact as from_float_exact, to_fraction as to_fraction
from .values.partition import LayerStats as LayerStats, Partition as Partition
from .engine.propagate import function_of as function_of, propagate as propagate
from .engine.line import restrict_to_line as restrict_to_line
from .counting import CountResult as CountResult, count as count
from .plane import PlanarPartition as PlanarPartition, partition2d as partition2d
from .vision import VisionNetwork as VisionNetwork, count_line as count_line

__version__ = "0.1.0"
