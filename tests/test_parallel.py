"""Chunked counting (:mod:`pwl.engine.parallel`): chunks of at most ``max_regions``
regions, counted here, in local processes or on a dask cluster, must add up
to exactly the counts of one enumeration of the whole domain, whatever the
seams; and the memory budget that decides when to chunk."""

from __future__ import annotations

import json
import random
import socket
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

import pwl
from cli.main import cli
from pwl.theory.constructions import sawtooth, telgarsky
from pwl.values.domain import as_domain
from pwl.engine.parallel import count_chunked, parse_size, regions_for_memory
from reference import RefNet
from strategies import cases, domains, network_specs
from cli_helpers import run

# -- helpers -----------------------------------------------------------------


def whole(net: pwl.Network, domain, output: int = 0) -> tuple[int, int]:
    part = pwl.propagate(net, domain)
    return part.pieces(output), part.activation_regions


def noisy_sawtooth(depth: int, n: int, seed: int) -> pwl.Network:
    """``sawtooth(depth, n)`` with every weight and bias moved by a seeded
    multiple of 1/256: a dense network with thousands of regions, no rank-1
    layer (so ``count`` enumerates) and pieces != regions."""
    rng = random.Random(seed)
    layers = []
    for layer in sawtooth(depth, n).layers:
        weights = [[w + Fraction(rng.randint(-4, 4), 256) for w in row] for row in layer.weights]
        bias = [b + Fraction(rng.randint(-4, 4), 256) for b in layer.bias]
        layers.append(pwl.Layer.make(weights, bias, layer.activation))
    return pwl.Network.sequential(layers)


def same_answer(a: pwl.CountResult, b: pwl.CountResult) -> None:
    """Every field but the number of chunks."""
    for field in ("domain", "depth", "widths", "output", "pieces", "activation_regions",
                  "method", "breakpoints", "layers"):
        assert getattr(a, field) == getattr(b, field), field


#: Networks with more regions than the smallest chunk ``count`` makes (1024).
BIG = [
    ("triangle 14", telgarsky(14), (0, 1)),
    ("triangle 12, line", telgarsky(12), None),
    ("noisy sawtooth 7x3", noisy_sawtooth(7, 3, 0), None),
    ("noisy sawtooth 6x4", noisy_sawtooth(6, 4, 1), ("-1/3", "4/3")),
]


# -- chunked against whole, on random networks ---------------------------------


@settings(max_examples=100)
@given(cases(network_specs(max_depth=4, max_width=4)),
       st.integers(2, 8) | st.integers(9, 200), st.sampled_from([1, 2]))
def test_chunked_equals_whole(case, max_regions: int, workers: int) -> None:
    spec, domain = case
    net = pwl.Network.sequential(spec)
    ref = RefNet(spec).partition(domain)
    part = pwl.propagate(net, domain)
    for output in range(net.output_size):
        chunked = count_chunked(net, as_domain(domain), output=output,
                                max_regions=max_regions, workers=workers)
        assert (chunked.pieces, chunked.activation_regions) == whole(net, domain, output) \
            == (ref.pieces(output), ref.activation_regions()), f"output {output}"
        # each chunk holds at most max_regions regions (its output layer's
        # own kinks aside)
        assert chunked.chunks >= -(-part.activation_regions // max_regions)


@settings(max_examples=100)
@given(cases(network_specs(max_depth=3, max_width=4)), st.data())
def test_given_seams(case, data: st.DataObject) -> None:
    """Chunks may start from any activation-region boundaries of the whole
    network (that is what a RegionLimit hands back)."""
    spec, domain = case
    net = pwl.Network.sequential(spec)
    seams = RefNet(spec).partition(domain).pattern_boundaries()
    splits = sorted(data.draw(st.sets(st.sampled_from(seams))) if seams else ())
    chunked = count_chunked(net, as_domain(domain), max_regions=10**6, splits=splits)
    assert chunked.chunks == len(splits) + 1
    assert (chunked.pieces, chunked.activation_regions) == whole(net, domain)


@settings(max_examples=12)
@given(st.integers(0, 10**6), st.sampled_from([(5, 3), (4, 4), (3, 5)]),
       st.integers(3, 200), st.data())
def test_chunked_dense_networks(seed: int, shape: tuple, max_regions: int,
                                data: st.DataObject) -> None:
    net = noisy_sawtooth(*shape, seed)
    domain = data.draw(domains(points=(Fraction(0), Fraction(1), Fraction(1, 2))))
    pieces, regions = whole(net, domain)
    chunked = count_chunked(net, as_domain(domain), max_regions=max_regions)
    assert (chunked.pieces, chunked.activation_regions) == (pieces, regions)
    assert chunked.chunks >= -(-regions // max_regions)


# -- seams where the output's form continues, and where it does not ----------


def ladder(k: int, merge: bool, deep: bool = False) -> pwl.Network:
    """Hidden units relu(x - j) and relu(j - x), j = 0..k-1: k + 1 activation
    regions.  With ``merge`` the output is y = sum_j relu(x - j) - relu(j - x)
    = sum_j (x - j): one piece, every seam inside it; else y = sum_j
    relu(x - j): k + 1 pieces, every seam a breakpoint.  ``deep`` adds a
    hidden layer relu(y), relu(-y) and outputs relu(y) - relu(-y) = y again."""
    rows = [[1]] * k + [[-1]] * k
    bias = [-j for j in range(k)] + [j for j in range(k)]
    out = [1] * k + ([-1] * k if merge else [0] * k)
    if not deep:
        return pwl.Network.sequential([(rows, bias, "relu"), ([out], [0], "identity")])
    return pwl.Network.sequential([(rows, bias, "relu"), ([out, [-w for w in out]], [0, 0]),
                                   ([[1, -1]], [0], "identity")])


LADDER_DOMAINS = [None, (-1, 12), (0, 9), ("1/2", "17/2")]


@pytest.mark.parametrize("max_regions", [2, 3, 5])
@pytest.mark.parametrize("domain", LADDER_DOMAINS)
@pytest.mark.parametrize("merge", [True, False])
def test_seams(merge: bool, domain, max_regions: int) -> None:
    """Chunks of at most ``max_regions`` regions: the seams fall inside the
    one piece (merge) or on breakpoints."""
    net = ladder(10, merge, deep=True)
    pieces, regions = whole(net, domain)
    assert pieces == (1 if merge else 1 + len([j for j in range(10) if _inside(j, domain)]))
    chunked = count_chunked(net, as_domain(domain), max_regions=max_regions)
    assert (chunked.pieces, chunked.activation_regions) == (pieces, regions)
    assert chunked.chunks >= -(-regions // max_regions), \
        f"{regions} regions in {chunked.chunks} chunk(s) of at most {max_regions}"


@pytest.mark.parametrize("merge", [True, False])
def test_last_layer_with_kinks_is_split(merge: bool) -> None:
    """Every cut comes from the last layer with kinks (the output is
    linear): its cuts are activation-region boundaries, so it must split
    like any hidden layer, even when it starts from a single region."""
    net = ladder(10, merge)
    pieces, regions = whole(net, None)
    assert (pieces, regions) == (1 if merge else 11, 11)
    chunked = count_chunked(net, None, max_regions=3)
    assert (chunked.pieces, chunked.activation_regions) == (pieces, regions)
    assert chunked.chunks >= 4, f"11 regions in {chunked.chunks} chunk(s) of at most 3"


def _inside(x: int, domain) -> bool:
    return domain is None or Fraction(domain[0]) < x < Fraction(domain[1])


@pytest.mark.parametrize("domain", LADDER_DOMAINS)
@pytest.mark.parametrize("merge", [True, False])
def test_seams_at_every_cut(merge: bool, domain) -> None:
    net = ladder(10, merge)
    cuts = [Fraction(j) for j in range(10) if _inside(j, domain)]
    chunked = count_chunked(net, as_domain(domain), max_regions=10**6, splits=cuts)
    assert chunked.chunks == len(cuts) + 1
    assert (chunked.pieces, chunked.activation_regions) == whole(net, domain)


def test_shallow_wide_network_respects_the_budget() -> None:
    """One hidden layer of 2000 units: 2001 regions, more than the 1024 a
    task may hold under a tiny budget, so the count must come in chunks."""
    n = 2000
    net = pwl.Network.sequential([([[1]] * n, [-j for j in range(n)]),
                                  ([[(-1) ** j for j in range(n)]], [0], "identity")])
    result = pwl.count(net, None, max_memory=1, workers=1)
    assert (result.pieces, result.activation_regions) == (n + 1, n + 1)
    assert result.chunks > 1


@pytest.mark.parametrize("splits, pieces, regions", [
    ([], 1, 2),
    ([Fraction(0)], 1, 2),
])
def test_seam_inside_one_piece(splits: list, pieces: int, regions: int) -> None:
    """relu(x) - relu(-x) = x: a seam at 0 is a region boundary, not a breakpoint."""
    net = pwl.Network.sequential([([[1], [-1]], [0, 0]), ([[1, -1]], [0], "identity")])
    chunked = count_chunked(net, None, max_regions=2, splits=splits)
    assert (chunked.pieces, chunked.activation_regions, chunked.chunks) == \
        (pieces, regions, len(splits) + 1)


def test_progress_reports_every_chunk() -> None:
    seen: list[tuple[int, int, int]] = []
    net = telgarsky(8)
    chunked = count_chunked(net, (Fraction(0), Fraction(1)), max_regions=16,
                            progress=lambda *a: seen.append(a))
    assert (chunked.pieces, chunked.activation_regions) == (256, 256)
    done, pending, pieces_so_far = seen[-1]
    assert (done, pending) == (chunked.chunks, 0)
    # chunks are joined on seams where the triangle turns, so nothing merges
    assert pieces_so_far == 256
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)


@pytest.mark.parametrize("max_regions", [1, 0, -5])
def test_max_regions_at_least_two(max_regions: int) -> None:
    with pytest.raises(pwl.PWLValueError, match="at least 2"):
        count_chunked(telgarsky(2), None, max_regions=max_regions)


# -- sizes and the memory budget -------------------------------------------------


@pytest.mark.parametrize("text, size", [
    ("1024", 1024),
    ("1", 1),
    ("2G", 2 * 2**30),
    ("512M", 512 * 2**20),
    ("512m", 512 * 2**20),
    ("1k", 1024),
    ("1K", 1024),
    ("1KB", 1024),
    ("1KiB", 1024),
    ("1.5GiB", 3 * 2**29),
    ("1.5G", 3 * 2**29),
    (" 3 MB ", 3 * 2**20),
    ("2T", 2 * 2**40),
    ("1/2K", 512),
    ("1e3", 1000),
    ("10B", 10),
])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text, match", [
    ("", "expected a number"),
    ("G", "expected a number"),
    ("banana", "expected a number"),
    ("12X", "expected a number"),
    ("1/0", "expected a number"),
    ("nan", "expected a number"),
    ("inf", "expected a number"),
    ("0", "must be positive"),
    ("-1M", "must be positive"),
    ("0K", "must be positive"),
])
def test_parse_size_errors(text: str, match: str) -> None:
    with pytest.raises(pwl.PWLValueError, match=match) as info:
        parse_size(text)
    assert repr(text) in str(info.value)


def test_regions_for_memory() -> None:
    net = telgarsky(3)
    assert regions_for_memory(net, 1) == 1024          # never below 1024
    big = regions_for_memory(net, 2**30)
    assert big > 1024
    assert regions_for_memory(net, 2**30, workers=4) == big // 4
    wide = pwl.Network.sequential([([[1]] * 50, [0] * 50), ([[1] * 50], [0], "identity")])
    assert regions_for_memory(wide, 2**30) < big


@pytest.mark.parametrize("name, net, domain", BIG, ids=[b[0] for b in BIG])
@pytest.mark.parametrize("workers", [1, 2])
def test_small_memory_goes_chunked(name: str, net: pwl.Network, domain, workers: int) -> None:
    expected = whole(net, domain)
    assert expected[1] > 1024
    single = pwl.count(net, domain, method="enumerate")
    assert single.chunks == 1
    small = pwl.count(net, domain, method="enumerate", max_memory=1, workers=workers)
    assert small.chunks > 1
    assert (small.pieces, small.activation_regions) == expected
    same_answer(small, single)


def test_listing_over_budget_is_refused() -> None:
    with pytest.raises(pwl.ResourceLimitError, match="listing needs more than 1024 regions"):
        pwl.count(telgarsky(12), (0, 1), breakpoints=True, max_memory=1)
    listed = pwl.count(telgarsky(10), (0, 1), breakpoints=True, max_memory=1)
    assert len(listed.breakpoints) == 2**10 - 1


@pytest.mark.parametrize("workers", [0, -1])
def test_workers_at_least_one(workers: int) -> None:
    with pytest.raises(pwl.PWLValueError, match="workers must be at least 1"):
        pwl.count(telgarsky(3), workers=workers)


# -- the command line ----------------------------------------------------------


@pytest.fixture
def net_file(tmp_path: Path) -> str:
    path = tmp_path / "noisy.json"
    noisy_sawtooth(7, 3, 0).save(path)
    return str(path)




def run_json(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = run(runner, *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("options", [["--workers", "1"], ["--workers", "2"]])
def test_cli_max_memory(runner: CliRunner, net_file: str, options: list) -> None:
    expected = whole(pwl.load(net_file), None)
    plain = run_json(runner, "count", net_file, "--method", "enumerate")
    small = run_json(runner, "count", net_file, "--method", "enumerate", "--max-memory", "1K", *options)
    assert plain["chunks"] == 1 and small["chunks"] > 1
    assert (small["pieces"], small["activation_regions"]) == expected
    assert {k: v for k, v in small.items() if k != "chunks"} == \
        {k: v for k, v in plain.items() if k != "chunks"}


@pytest.mark.parametrize("value", ["banana", "0"])
def test_cli_bad_max_memory_is_a_usage_error(runner: CliRunner, net_file: str,
                                             value: str) -> None:
    """A bad option value is bad usage (exit 2), like ``--workers 0``, and the
    message names the option."""
    result = run(runner, "count", net_file, "--max-memory", value)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "--max-memory" in lines[0], result.stderr


# -- dask.distributed ----------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as local:
        yield local


@pytest.mark.parametrize("name, net, domain", BIG[:3], ids=[b[0] for b in BIG[:3]])
def test_dask_matches_single_process(cluster: Any, name: str, net: pwl.Network,
                                     domain) -> None:
    single = pwl.count(net, domain, method="enumerate", workers=1)
    on_dask = pwl.count(net, domain, method="enumerate", max_memory=1,
                        scheduler=cluster.scheduler_address)
    assert on_dask.chunks > 1
    same_answer(on_dask, single)
    assert (on_dask.pieces, on_dask.activation_regions) == whole(net, domain)


def test_dask_count_chunked_small_chunks(cluster: Any) -> None:
    net = noisy_sawtooth(5, 3, 7)
    domain = (Fraction(-1, 2), Fraction(3, 2))
    chunked = count_chunked(net, domain, max_regions=7, scheduler=cluster.scheduler_address)
    local = count_chunked(net, domain, max_regions=7)
    assert chunked.chunks > 10
    assert (chunked.pieces, chunked.activation_regions) == \
        (local.pieces, local.activation_regions) == whole(net, domain)


def test_dask_from_the_command_line(cluster: Any, runner: CliRunner, net_file: str) -> None:
    plain = run_json(runner, "count", net_file, "--method", "enumerate")
    on_dask = run_json(runner, "count", net_file, "--method", "enumerate", "--max-memory", "1K",
                       "--scheduler", cluster.scheduler_address)
    assert on_dask["chunks"] > 1
    assert (on_dask["pieces"], on_dask["activation_regions"]) == \
        (plain["pieces"], plain["activation_regions"])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_scheduler() -> None:
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{closed_port()}"
    start = time.perf_counter()
    with pytest.raises(pwl.PWLValueError, match="cannot reach the dask scheduler"):
        pwl.count(telgarsky(12), (0, 1), method="enumerate", max_memory=1, scheduler=address)
    assert time.perf_counter() - start < 15
