"""``pwl export``: a network or its function in an exact text format."""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

import click

from pwl.present.export import FORMATS as EXPORT_FORMATS

from .main import cli, domain_option, format_option, load_network
from .types import NETWORK


@cli.command("export")
@click.argument("network", type=NETWORK)
@format_option
@click.option("--to", "to", type=click.Choice(EXPORT_FORMATS), default=None,
              help="json: the network in the native format; sympy, latex, csv: its function.")
@domain_option
@click.option("--output", "output", type=click.IntRange(min=0), default=None,
              help="Which output's function to export, numbered from 0 (default 0).")
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, writable=True),
              default=None, metavar="FILE", help="Write to FILE (atomically), not stdout.")
def export(network: str, to: Optional[str], domain: Optional[tuple[Fraction, Fraction]],
           output: Optional[int], out_path: Optional[str]) -> None:
    """Write NETWORK, or the exact function it computes, as text.

    json is the native network format, with exact numbers (so it converts
    npz, ONNX and PyTorch files); sympy prints a Piecewise expression, latex
    a cases block with exact fractions, csv one row lo,hi,slope,intercept per
    piece (an empty end is infinite).

    Example: pwl export examples/telgarsky-3.json --to csv --domain 0 1
    """
    from pwl.present.export import export as run
    from pwl.io.files import write_text_atomic

    if to is None:  # checked here: click's own message for a choice spans several lines
        raise click.UsageError("missing option --to (json, sympy, latex or csv)")
    if to == "json" and (domain is not None or output is not None):
        raise click.UsageError("--domain and --output apply to sympy, latex and csv, "
                               "not to json (which writes the whole network)")
    net = load_network(network)
    text = run(net, to, domain, output or 0)
    if out_path is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(out_path, text)
        if out_path != "-":
            click.echo(f"saved to {out_path}", err=True)
