"""``pwl``: exact piecewise-linear analysis of ReLU networks with one input.

Only this package imports click and only here does a :class:`pwl.PWLError`
become an exit status: 1 for bad input, 2 for bad usage (click's own).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from fractions import Fraction
from typing import Any, Callable, Iterator, Optional

import click

from pwl.counting import METHODS as COUNT_METHODS
from pwl.errors import PWLError, PWLValueError, RegionLimitError
from pwl.io.loaders import FORMATS as NETWORK_FORMATS, SUFFIXES as NETWORK_SUFFIXES
from pwl.values.numbers import format_exact

from .types import NETWORK, RATIONAL, SIZE
from .vision import count_vision, is_vision

__all__ = ["main", "cli"]


#: Error lines are cut to this many characters (inputs may be enormous).
MAX_MESSAGE = 400


def one_line(message: str) -> str:
    """A message on one line of bounded length."""
    text = " ".join(message.split())
    if len(text) > MAX_MESSAGE:
        text = f"{text[:MAX_MESSAGE - 60]}... ({len(text)} characters in all)"
    return text


class Terminated(BaseException):
    """SIGTERM arrived (a job scheduler's stop, ``timeout``): unwound like
    Ctrl-C, so that worker processes are stopped on the way out."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


#: Options that name a file pwl writes; ``-`` there is standard output.
OUTPUT_OPTIONS = ("--save", "-o", "--out", "--plot", "--csv")


def writes_to_stdout(args: list[str]) -> bool:
    """Whether one of the file options in ``args`` is ``-``."""
    return any(a in OUTPUT_OPTIONS and b == "-" for a, b in zip(args, args[1:])) or \
        any(a == f"{option}=-" for a in args for option in OUTPUT_OPTIONS)


class ReportToStderr(io.TextIOBase):
    """Standard output while a file is written there: the command's report
    (text) goes to stderr, the file's bytes (``.buffer``) to stdout."""

    def __init__(self, data: Any, report: Any):
        self.buffer = data.buffer
        self._report = report

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(self._report.encoding)

    @property
    def errors(self) -> Optional[str]:  # type: ignore[override]
        return getattr(self._report, "errors", None)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(self._report.isatty())

    def write(self, text: str) -> int:
        return int(self._report.write(text))

    def flush(self) -> None:
        self._report.flush()
        self.buffer.flush()


@contextlib.contextmanager
def report_to_stderr() -> Iterator[None]:
    saved = sys.stdout
    sys.stdout = ReportToStderr(saved, sys.stderr)
    try:
        yield
    finally:
        sys.stdout = saved


class Failure(click.ClickException):
    """Bad input (a :class:`pwl.PWLError`): one line on stderr, exit 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"pwl: error: {one_line(self.message)}", err=True)


class Stopped(click.ClickException):
    """The run was stopped or hit a bug: the line printed as it is."""

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True)


class Interrupted(Stopped):
    """Ctrl-C: exit 130, as a shell reports SIGINT."""

    exit_code = 130


class Terminated143(Stopped):
    """SIGTERM: exit 143, as a shell reports it."""

    exit_code = 143


class Bug(Stopped):
    """Anything unexpected: one line asking for a report, exit 3."""

    exit_code = 3


class Usage(click.UsageError):
    """Bad usage: one line with the command's help hint, exit 2."""

    def show(self, file: Any = None) -> None:
        hint = f" (see '{self.ctx.command_path} --help')" if self.ctx is not None else ""
        click.echo(f"pwl: usage error: {one_line(self.format_message())}{hint}", err=True)


def _one_line_usage(exc: click.UsageError) -> click.UsageError:
    """Click's usage error as one line; a request for help stays click's."""
    if isinstance(exc, Usage) or type(exc).__name__ == "NoArgsIsHelpError":
        return exc
    return Usage(exc.format_message(), exc.ctx)


class PWLGroup(click.Group):
    """click runs the process (standalone mode, its exit codes); this group
    only says how pwl's failures read: a :class:`pwl.PWLError` is one line
    on stderr and exit 1, a usage error one line and exit 2, Ctrl-C exit
    130, SIGTERM 143, a closed pipe ends quietly (click's own handling),
    and a bug one line and exit 3, never a traceback."""

    def make_context(self, info_name: Optional[str], args: list[str],
                     parent: Optional[click.Context] = None, **extra: Any) -> click.Context:
        if parent is None:
            _FORMAT["format"] = None        # a new command line: no format given yet
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _one_line_usage(exc) from None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if writes_to_stdout(args):   # the file takes stdout, the report stderr
            ctx.with_resource(report_to_stderr())
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line_usage(exc) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except PWLError as exc:
            raise Failure(str(exc)) from None
        except KeyboardInterrupt:
            raise Interrupted("pwl: interrupted") from None
        except Terminated:
            raise Terminated143("pwl: terminated") from None
        except MemoryError:
            raise Failure("out of memory; try a smaller --domain or --max-memory") from None
        except BrokenPipeError:
            raise       # click ends quietly when the reader closed the pipe
        except Exception as exc:  # a bug: say so in one line, never a traceback
            raise Bug(f"pwl: internal error: {type(exc).__name__}: {one_line(str(exc))} "
                      "(please report this with the command that caused it)") from None


_FORMAT: dict[str, Optional[str]] = {"format": None}


#: ``count --plot`` draws every piece: counts with more activation regions
#: than this are refused before they are listed (tri^20's 2^20 still draw).
PLOT_MAX_REGIONS = 2**21


def load_network(path: str) -> Any:
    """Load a network file, in the format given by ``--format`` if any."""
    import pwl

    return pwl.load(path, _FORMAT["format"])


def _set_format(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> None:
    if value is not None:
        _FORMAT["format"] = value


#: ``--format`` on every command that reads a network (and on ``pwl`` itself).
format_option = click.option(
    "--format", "file_format", type=click.Choice(NETWORK_FORMATS), default=None,
    expose_value=False, callback=_set_format, is_eager=True,
    help="Format of the network file(s); default: by suffix "
         f"({', '.join(f'{n}: {s}' for n, s in NETWORK_SUFFIXES.items())}).")


@click.group(cls=PWLGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pwl", prog_name="pwl")
@format_option
def cli() -> None:
    """Exact piecewise-linear analysis of ReLU networks with one input.

    Every number printed is exact: breakpoints and distances are rationals,
    counts are integers.  Network files use the native JSON format
    (see the README).
    """
    # one command per process: the compiled kernel only where it repays its loading
    from pwl.engine import _jit

    _jit.set_default_policy("large")


def progress_reporter(enabled: Optional[bool]) -> Optional[Callable[[int, int], None]]:
    """A per-layer progress line on stderr: layer, regions so far, rate.
    ``enabled`` None shows it on a terminal only; True forces it, False
    turns it off.  Nothing is shown during the first second."""
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return None
    import time

    start = time.perf_counter()
    terminal = sys.stderr.isatty()

    def report(layer: int, regions: int) -> None:
        elapsed = time.perf_counter() - start
        if elapsed < 1.0:
            return
        line = (f"layer {layer + 1}: {regions:,} regions, {elapsed:.1f} s "
                f"({regions / elapsed:,.0f} regions/s)")
        if terminal:
            click.echo(f"\r\033[K{line}", err=True, nl=False)
        else:
            click.echo(line, err=True)   # a log file gets one line per update

    return report


class StepReporter:
    """Progress of a long command on stderr: ``report(text)`` says which
    step starts; a timer thread shows the current step with the time so far
    once a second, from the first second on (a step that takes a minute is
    never silent).  ``close()`` stops it and clears the line."""

    def __init__(self) -> None:
        import threading
        import time

        self._clock = time.perf_counter
        self._start = self._clock()
        self._text: Optional[str] = None
        self._terminal = sys.stderr.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def __call__(self, text: str) -> None:
        self._text = text

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            if self._text is None:
                continue
            line = f"{self._text}, {self._clock() - self._start:.0f} s so far"
            if self._terminal:
                click.echo(f"\r\033[K{line}", err=True, nl=False)
            else:
                click.echo(line, err=True)    # a log file gets one line a second

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def step_reporter(enabled: Optional[bool]) -> Optional[StepReporter]:
    """A :class:`StepReporter` on a terminal (``enabled`` None), or when
    forced (True); None when turned off."""
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return None
    return StepReporter()


#: ``--progress/--no-progress`` for the commands that report steps.
progress_option = click.option(
    "--progress/--no-progress", default=None,
    help="Show progress on stderr (default: when stderr is a terminal).")


def chunk_reporter() -> Optional[Callable[[int, int, int], None]]:
    """Chunked counting's progress line on stderr, when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def report(done: int, pending: int, pieces: int) -> None:
        click.echo(f"\r\033[Kchunks {done} done, {pending} to go, {pieces:,} pieces so far",
                   err=True, nl=False)

    return report


def end_progress(report: Optional[Callable[..., None]]) -> None:
    if isinstance(report, StepReporter):
        report.close()
    if report is not None and sys.stderr.isatty():
        click.echo("\r\033[K", err=True, nl=False)


def emit_json(payload: dict[str, Any]) -> None:
    click.echo(json.dumps(payload))


def exact_list(values: Any) -> list[str]:
    return [format_exact(v) for v in values]


def table(rows: list[tuple[str, Any]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def domain_text(domain: Optional[tuple[Fraction, Fraction]]) -> str:
    if domain is None:
        return "the whole line"
    return f"[{format_exact(domain[0])}, {format_exact(domain[1])}]"


domain_option = click.option(
    "--domain", nargs=2, type=RATIONAL, default=None, metavar="LO HI",
    help="Closed interval [LO, HI] with exact ends (default: the whole line).")
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print one JSON object (exact numbers as strings).")


def plot_option(what: str = "a figure") -> Any:
    """``--plot FILE``: also draw ``what`` (needs the extra 'plot')."""
    return click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
                        metavar="FILE",
                        help=f"Also draw {what} to FILE (.png, .svg or .pdf; extra 'plot').")


@cli.command()
@click.argument("network", type=NETWORK)
@format_option
@domain_option
@json_option
@click.option("--breakpoints", is_flag=True, help="List the exact breakpoints of the output.")
@click.option("--per-layer", is_flag=True,
              help="Activation regions and largest neuron kappa after each hidden layer.")
@click.option("--output", "output", type=str, default="0", show_default=True,
              help="Which output to count, numbered from 0, or 'all' (each output and "
                   "all jointly).")
@click.option("--line", nargs=2, type=str, default=None, metavar="A B",
              help="For a network with many inputs: count t -> net(A + t (B - A)); A and B "
                   "are JSON lists or .npy files (default --domain 0 1).")
@click.option("--line-from", type=str, default=None, metavar="DATA.npy",
              help="Convolutional networks: the line through two rows of DATA (--pair I J).")
@click.option("--pair", nargs=2, type=click.IntRange(min=0), default=None, metavar="I J",
              help="With --line-from: the rows of DATA the line joins.")
@click.option("--method", type=click.Choice(("auto",) + COUNT_METHODS), default="auto",
              show_default=True,
              help="enumerate lists every piece; compose counts through rank-1 layers "
                   "without listing; certified counts in float64 with proven error bounds, "
                   "settling what they cannot prove exactly; auto picks compose when it "
                   "applies, certified for networks with large numbers.")
@click.option("--max-memory", type=SIZE, default=None, metavar="SIZE",
              help="Memory budget, e.g. 2G or 512M (default: a quarter of RAM); larger "
                   "jobs are counted in chunks joined exactly at the seams.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local processes for chunked counting (default: all cores).")
@click.option("--scheduler", type=str, default=None, metavar="ADDRESS",
              help="Run the chunks on a dask.distributed cluster (e.g. tcp://host:8786).")
@click.option("--max-regions", type=click.IntRange(min=1), default=None,
              help="Stop once the count has more activation regions than this, whatever "
                   "the method (default: chunked enumeration stops past 2^33, about an "
                   "hour).")
@click.option("--progress/--no-progress", default=None,
              help="Show per-layer progress on stderr (default: when stderr is a terminal).")
@click.option("--save", type=click.Path(dir_okay=False, writable=True), default=None,
              metavar="FILE",
              help="With --line: also write the one-input restriction t -> net(A + t (B - A)) "
                   "as a native network file.")
@plot_option("the output with its breakpoints")
def count(network: str, domain: Optional[tuple[Fraction, Fraction]], as_json: bool,
          breakpoints: bool, per_layer: bool, output: str, line: Optional[tuple[str, str]],
          method: str, max_memory: Optional[int], workers: Optional[int],
          scheduler: Optional[str], max_regions: Optional[int], progress: Optional[bool],
          save: Optional[str], plot_path: Optional[str], line_from: Optional[str] = None,
          pair: Optional[tuple[int, int]] = None) -> None:
    """Count the linear pieces and activation regions of NETWORK.

    Pieces are kappa(f), the minimal number of affine pieces of the output
    (collinear neighbours merged); activation regions are the maximal
    intervals on which every hidden neuron stays on one piece of its
    activation.

    Example: pwl count examples/telgarsky-3.json --domain 0 1
    """
    import pwl

    budget = max_memory
    if plot_path is not None:
        from pwl.present.plot import figure_format

        figure_format(plot_path)   # refuse a bad path before any work
    if line_from is not None or (line is not None and is_vision(network, _FORMAT["format"])):
        count_vision(network, _FORMAT["format"], line, line_from, pair, as_json=as_json,
                     per_layer=per_layer, output=output, method=method, max_memory=max_memory,
                     plot_path=plot_path, progress=progress_reporter(progress))
        return
    net = load_network(network)
    if line is not None:
        from pwl.engine.line import restrict_to_line

        net = restrict_to_line(net, line_point(line[0], "A"), line_point(line[1], "B"))
        if domain is None:
            domain = (Fraction(0), Fraction(1))
        if save is not None:
            net.save(save)
            if save != "-":
                click.echo(f"restriction to the line saved to {save}", err=True)
    elif save is not None:
        raise click.UsageError("--save writes the restriction to a line; it needs --line A B "
                               "(pwl export --to json converts a network file)")
    if output == "all":
        given = [name for name, on in (("--breakpoints", breakpoints), ("--per-layer", per_layer),
                                       ("--method compose", method == "compose"),
                                       ("--workers", workers is not None),
                                       ("--scheduler", scheduler is not None),
                                       ("--plot", plot_path is not None)) if on]
        if given:
            raise click.UsageError(f"--output all counts every output in one enumeration; "
                                   f"it does not take {given[0]}")
        count_all(network, net, domain, budget, as_json, line, progress, max_regions, save)
        return
    try:
        output_index = int(output)
    except ValueError:
        raise click.BadParameter(f"{output!r} is neither an output number nor 'all'",
                                 param_hint="'--output'") from None
    if output_index < 0:
        raise click.BadParameter(f"{output_index} is below 0", param_hint="'--output'")
    report = progress_reporter(progress)
    chunk_report = chunk_reporter()
    limit = max_regions
    if plot_path is not None:
        limit = PLOT_MAX_REGIONS if limit is None else min(limit, PLOT_MAX_REGIONS)
    try:
        result = pwl.count(net, domain, output=output_index,
                           breakpoints=breakpoints or plot_path is not None,
                           per_layer=per_layer, progress=report,
                           method=None if method == "auto" else method,
                           max_memory=budget, workers=workers, scheduler=scheduler,
                           chunk_progress=chunk_report,
                           **({} if limit is None else {"max_regions": limit}))
    except RegionLimitError as exc:
        if plot_path is None or max_regions is not None and max_regions <= PLOT_MAX_REGIONS:
            raise
        raise PWLValueError(f"--plot draws every piece, at most {PLOT_MAX_REGIONS} activation "
                            f"regions, and this count has more ({exc.regions} or more); count "
                            "without --plot, or plot a smaller --domain") from None
    finally:
        end_progress(report)
    if plot_path is not None:
        from pwl.present.plot import plot_function

        assert result.function is not None
        plot_function(result.function, plot_path, title=network)
        if plot_path != "-":
            click.echo(f"figure saved to {plot_path}", err=True)
    if as_json:
        payload: dict[str, Any] = {"network": network,
                                   "line": list(line) if line is not None else None}
        payload.update(result.to_dict())
        if not breakpoints:
            payload["breakpoints"] = None
        payload.update(saved=save, figure=plot_path)
        emit_json(payload)
        return
    rows = [
        ("network", network),
        ("domain", domain_text(result.domain)),
        ("depth", result.depth),
        ("widths", ", ".join(map(str, result.widths)) or "-"),
        ("output", result.output),
        ("pieces", result.pieces),
        ("activation regions", result.activation_regions),
        ("method", result.method),
    ]
    if result.decisions is not None:
        rows.append(("decisions", decisions_text(result.decisions)))
    click.echo(table(rows))
    if per_layer:
        click.echo("\nlayer  width  activation regions  max kappa")
        for s in result.layers or ():
            if s.index < net.depth:
                click.echo(f"{s.index + 1:>5}  {s.width:>5}  {s.regions:>18}  {s.max_kappa:>9}")
    if breakpoints:
        click.echo("\nbreakpoints")
        for b in result.breakpoints or ():
            click.echo(f"  {format_exact(b)}")


from . import bench as _bench  # noqa: E402,F401  (registers its commands)
from . import figures as _figures  # noqa: E402,F401
from . import export as _export  # noqa: E402,F401
from . import theory as _theory  # noqa: E402,F401
from . import plane as _plane  # noqa: E402,F401


def line_point(text: str, name: str) -> Any:
    """A point for ``--line``: a ``.npy`` file of floats stays a float array
    (restrict_to_line takes its floats at their exact binary value without a
    Fraction per coordinate); anything else as :func:`read_point` reads it."""
    if text.lower().endswith(".npy"):
        import numpy as np

        from pwl.errors import PWLValueError

        try:
            arr = np.load(text, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise PWLValueError(f"--line {name}: cannot read {text}: {exc}") from None
        if arr.dtype.kind == "f":
            if not np.isfinite(arr).all():
                raise PWLValueError(f"--line {name}: {text} holds a nan or an infinity")
            return arr
    return read_point(text, name)


def read_point(text: str, name: str) -> list[Any]:
    """An input point: a JSON list of numbers, or a ``.npy`` file of floats
    (taken at their exact binary value)."""
    from pwl.errors import PWLValueError
    from pwl.values.numbers import from_float_exact

    if text.lower().endswith(".npy"):
        import numpy as np

        try:
            arr = np.load(text, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise PWLValueError(f"--line {name}: cannot read {text}: {exc}") from None
        flat = arr.reshape(-1)
        if flat.dtype.kind == "f":
            return [from_float_exact(v, f"{text}[{i}]") for i, v in enumerate(flat.tolist())]
        if flat.dtype.kind in "iu":
            return [int(v) for v in flat.tolist()]
        raise PWLValueError(f"--line {name}: {text} holds {flat.dtype}, not numbers")
    try:
        value = json.loads(text, parse_float=str, parse_constant=str,
                           parse_int=lambda t: t if len(t) > 4000 else int(t))
    except (ValueError, RecursionError):
        raise PWLValueError(f"--line {name}: {text[:40]!r} is neither a JSON list nor a .npy file") from None
    if not isinstance(value, list):
        value = [value]
    return value


def count_all(network: str, net: Any, domain: Optional[tuple[Fraction, Fraction]],
              budget: Optional[int], as_json: bool, line: Optional[tuple[str, str]],
              progress: Optional[bool] = None, max_regions: Optional[int] = None,
              save: Optional[str] = None) -> None:
    """``pwl count --output all``: each output's pieces and the joint pieces."""
    from pwl.counting import count_outputs

    report = progress_reporter(progress)
    try:
        r = count_outputs(net, domain, max_memory=budget, progress=report,
                          **({} if max_regions is None else {"max_regions": max_regions}))
    finally:
        end_progress(report)
    if as_json:
        payload: dict[str, Any] = {"network": network, "line": list(line) if line else None}
        payload.update(r.to_dict())
        payload.update(saved=save, figure=None)
        emit_json(payload)
        return
    rows: list[tuple[str, Any]] = [("network", network), ("domain", domain_text(r.domain))]
    if line:
        rows.append(("line", f"{line[0]} -> {line[1]}"))
    rows += [(f"pieces of output {k}", p) for k, p in enumerate(r.pieces)]
    rows += [("joint pieces", r.joint_pieces), ("activation regions", r.activation_regions),
             ("method", r.method)]
    if r.decisions is not None:
        rows.append(("decisions", decisions_text(r.decisions)))
    click.echo(table(rows))


def decisions_text(decisions: dict[str, int]) -> str:
    """``1,234 float64, 5 exact (1 region escalated)``."""
    regions = decisions.get("escalated_regions", 0)
    return (f"{decisions['float64']:,} float64, {decisions['exact']:,} exact "
            f"({regions:,} region{'' if regions == 1 else 's'} escalated)")


def main() -> None:
    """Console entry point.  SIGTERM exits 143 like an uncaught SIGTERM,
    but only after stopping any worker processes."""
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli(prog_name="pwl")
    except Terminated:
        sys.exit(143)


if __name__ == "__main__":  # pragma: no cover
    # ``python -m cli.main``: run the module as imported, where every
    # command module has registered its commands on ``cli``
    from cli.main import main as _main

    _main()
