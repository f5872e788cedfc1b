"""``pwl count MODEL --line A B`` for convolutional networks (pwl.vision).

The count command hands a line through a vision network here; this module
reads the points (``.npy`` arrays of the model's input shape, or two rows of
a data file), counts with :func:`pwl.vision.count_line` and prints what the
command prints for lines through dense networks, plus the density of
regions per unit length and the op that cuts the line most.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

import click
import numpy as np

from pwl.errors import PWLValueError
from pwl.values.numbers import format_exact

__all__ = ["count_vision", "is_vision"]


def is_vision(network: str, file_format: Optional[str]) -> bool:
    """Does the file hold a convolutional network?"""
    from pwl.io.loaders import is_vision_file

    return is_vision_file(network, file_format)


def _array(path: str, what: str) -> np.ndarray:
    if not path.lower().endswith(".npy"):
        raise PWLValueError(f"{what}: a convolutional network's points are .npy arrays, got "
                            f"{path[:60]!r}")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise PWLValueError(f"{what}: cannot read {path}: {exc}") from None
    if arr.dtype.kind not in "fiu":
        raise PWLValueError(f"{what}: {path} holds {arr.dtype}, not numbers")
    return arr


def _points(line: Optional[tuple[str, str]], line_from: Optional[str],
            pair: Optional[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, str]:
    if line is not None:
        if line_from is not None or pair is not None:
            raise click.UsageError("give either --line A B or --line-from DATA --pair I J")
        a, b = _array(line[0], "--line A"), _array(line[1], "--line B")
        return a, b, f"{line[0]} -> {line[1]}"
    if line_from is None or pair is None:
        raise click.UsageError("--line-from DATA needs --pair I J (two rows of DATA)")
    data = _array(line_from, "--line-from")
    if data.ndim < 2:
        raise PWLValueError(f"--line-from: {line_from} has shape {data.shape}; expected one "
                            "input per row")
    for i in pair:
        if not 0 <= i < data.shape[0]:
            raise PWLValueError(f"--pair: row {i} does not exist ({line_from} has "
                                f"{data.shape[0]} rows, numbered from 0)")
    return data[pair[0]], data[pair[1]], f"{line_from} rows {pair[0]} -> {pair[1]}"


def _as_float(x: np.ndarray) -> np.ndarray:
    """Integer images (uint8, ...) become float64 exactly; floats widen exactly."""
    return x.astype(np.float64)


def count_vision(network: str, file_format: Optional[str], line: Optional[tuple[str, str]],
                 line_from: Optional[str], pair: Optional[tuple[int, int]], *,
                 as_json: bool, per_layer: bool, output: str, method: str,
                 max_memory: Optional[int], plot_path: Optional[str],
                 progress: Optional[Callable[[int, int], None]]) -> None:
    """Count a convolutional network along a line and print the result."""
    from pwl.vision import count_line
    from pwl.vision.load import load_vision

    a, b, line_text = _points(line, line_from, pair)
    shape = a.shape[1:] if a.ndim == 4 and a.shape[0] == 1 else a.shape
    net = load_vision(network, shape, file_format)
    for name, x in (("A", a), ("B", b)):
        if x.size != net.input_size:
            raise PWLValueError(f"--line {name}: {x.size} numbers (shape {x.shape}), but the "
                                f"model's input is {net.input_shape}")
    if method not in ("auto", "certified", "enumerate"):
        raise click.UsageError(f"--method {method} does not apply to convolutional networks "
                               "(auto, certified, or enumerate for the exact route)")
    chosen = {"auto": None, "certified": "certified", "enumerate": "exact"}[method]
    if output == "all":
        which: Optional[int] = None
    else:
        try:
            which = int(output)
        except ValueError:
            raise click.BadParameter(f"{output!r} is neither an output number nor 'all'",
                                     param_hint="'--output'") from None
        if not 0 <= which < net.output_size:
            raise PWLValueError(f"output {which} does not exist (the network has "
                                f"{net.output_size} outputs, numbered from 0)")
    cap = 256
    if max_memory is not None:
        live = 4 * max(op.size for op in net.ops) * 2 * 8 * 3
        cap = max(1, int(max_memory // live))
    r = count_line(net, _as_float(a), _as_float(b), method=chosen, max_regions=cap,
                   progress=progress)
    if plot_path is not None and r.profile is not None:
        from pwl.vision.plot import plot_line

        t, values = r.profile
        plot_line(t, values, plot_path, None if which is None else [which],
                  title=f"{network}: {r.activation_regions} regions along the line")
    busiest = r.busiest
    length = f"sqrt({format_exact(r.length_squared)})"
    if as_json:
        # the keys of ``pwl count``'s schema where they mean the same (with
        # --output all, "pieces" is the joint count and "pieces_per_output"
        # each output's), whatever the flags
        payload: dict[str, Any] = {
            "network": network, "line": line_text, "input_shape": list(net.input_shape),
            "output": "all" if which is None else which,
            "pieces": r.joint_pieces if which is None else r.pieces[which],
            "pieces_per_output": list(r.pieces) if which is None else None,
            "activation_regions": r.activation_regions, "regions": r.regions,
            "length_squared": format_exact(r.length_squared),
            "density": r.density, "method": r.method, "decisions": r.decisions,
            "busiest_layer": None if busiest is None else busiest.name,
            "layers": [{"name": s.name, "kind": s.kind, "neurons": s.neurons,
                        "cuts": s.cuts, "regions": s.regions}
                       for s in (r.layers or ())] if per_layer else None,
            "figure": plot_path,
        }
        click.echo(json.dumps(payload))
        return
    rows: list[tuple[str, Any]] = [("network", network), ("line", f"{line_text} (t in [0, 1])"),
                                   ("input", str(net.input_shape))]
    if which is None:
        rows += [(f"pieces of output {k}", p) for k, p in enumerate(r.pieces)]
        rows.append(("joint pieces", r.joint_pieces))
    else:
        rows += [("output", which), ("pieces", r.pieces[which])]
    rows += [("activation regions", r.activation_regions),
             ("density", f"{r.density:.6g} regions per unit length (|B - A| = {length})"),
             ("method", r.method)]
    if busiest is not None:
        rows.append(("busiest layer", f"{busiest.name} ({busiest.kind}, {busiest.cuts} cuts)"))
    if r.decisions is not None:
        d = r.decisions
        rows.append(("decisions", f"{d['float64']:,} float64, {d['exact']:,} exact "
                                  f"({d['escalated_regions']:,} regions escalated)"))
    width = max(len(k) for k, _ in rows)
    click.echo("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    if per_layer:
        click.echo("\nlayer                    kind            neurons   cuts  regions after")
        for s in r.layers or ():
            click.echo(f"{s.name[:24]:<24} {s.kind:<14} {s.neurons:>8} {s.cuts:>6} "
                       f"{s.regions:>14}")
