"""The doors hold what they promise: the region limit on every route, one
JSON schema per command whatever the flags, labels that name the formula
used, and results that describe themselves."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import pwl
from pwl.constructions import telgarsky
from pwl.counting import count_outputs
from pwl.errors import ResourceLimitError
from cli_helpers import run

UNIT = (Fraction(0), Fraction(1))


def float_net(seed: int = 3, widths: tuple[int, ...] = (1, 12, 12, 2)) -> pwl.Network:
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal((m, n)) * np.sqrt(2 / n) for n, m in zip(widths, widths[1:])]
    bs = [rng.standard_normal(m) * 0.1 for m in widths[1:]]
    return pwl.Network.from_arrays(ws, bs)


# -- the region limit holds on every route --------------------------------------------------
@pytest.mark.parametrize("method", ["compose", "enumerate", None])
def test_region_limit_on_the_triangle(method: Any) -> None:
    net = telgarsky(10)
    exact = pwl.count(net, UNIT)
    assert exact.activation_regions == 1024
    with pytest.raises(ResourceLimitError, match="1000"):
        pwl.count(net, UNIT, method=method, max_regions=1000, workers=1)
    # the limit itself is allowed
    ok = pwl.count(net, UNIT, method=method, max_regions=1024, workers=1)
    assert (ok.pieces, ok.activation_regions) == (exact.pieces, exact.activation_regions)


def test_region_limit_when_chunked() -> None:
    net = telgarsky(12)
    with pytest.raises(ResourceLimitError, match="activation regions"):
        pwl.count(net, UNIT, method="enumerate", max_regions=1000, max_memory=2**17,
                  workers=1)


def test_region_limit_on_the_certified_route() -> None:
    net = float_net()
    exact = pwl.count(net, (-4, 4), method="enumerate")
    assert exact.activation_regions is not None and exact.activation_regions > 3
    cert = pwl.count(net, (-4, 4), method="certified")
    assert cert.activation_regions == exact.activation_regions
    with pytest.raises(ResourceLimitError):
        pwl.count(net, (-4, 4), method="certified", max_regions=exact.activation_regions - 1)
    with pytest.raises(ResourceLimitError):
        count_outputs(net, (-4, 4), max_regions=exact.activation_regions - 1)
    assert count_outputs(net, (-4, 4), max_regions=exact.activation_regions).pieces == \
        tuple(pwl.count(net, (-4, 4), output=k).pieces for k in range(2))


def test_region_limit_on_the_command_line(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "t12.json"
    telgarsky(12).save(path)
    for extra in (["--method", "enumerate", "--workers", "1"], [],
                  ["--method", "enumerate", "--max-memory", "200K", "--workers", "1"]):
        result = run(runner, "count", str(path), "--domain", "0", "1", "--max-regions", "1000",
                     *extra)
        assert result.exit_code == 1, (extra, result.stdout)
        assert "--max-regions" in result.stderr and len(result.stderr.splitlines()) == 1


def test_region_limit_along_a_line(runner: CliRunner, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    net = pwl.Network.from_arrays([rng.standard_normal((16, 6)), rng.standard_normal((1, 16))],
                                  [rng.standard_normal(16), np.zeros(1)])
    path = tmp_path / "mlp.json"
    net.save(path)
    a, b = json.dumps([-3] * 6), json.dumps([3, 2, 1, -1, -2, -3])
    full = run(runner, "count", str(path), "--line", a, b, "--json")
    assert full.exit_code == 0, full.stderr
    regions = json.loads(full.stdout)["activation_regions"]
    assert regions > 2
    for output in ("0", "all"):
        stopped = run(runner, "count", str(path), "--line", a, b, "--output", output,
                      "--max-regions", str(regions - 1))
        assert stopped.exit_code == 1 and "--max-regions" in stopped.stderr, stopped.stdout


# -- one JSON schema for count, whatever the flags -----------------------------------------
COUNT_KEYS = {"network", "line", "domain", "depth", "widths", "output", "pieces",
              "pieces_per_output", "activation_regions", "method", "decisions", "chunks",
              "breakpoints", "layers"}


def test_count_json_keys_do_not_depend_on_the_flags(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "t4.json"
    telgarsky(4).save(path)
    two = tmp_path / "two.json"
    float_net().save(two)
    seen = []
    for net, extra in ((path, []), (path, ["--breakpoints"]), (path, ["--per-layer"]),
                       (path, ["--method", "compose"]), (two, ["--output", "all"]),
                       (two, ["--output", "1"]), (two, ["--method", "certified"])):
        result = run(runner, "count", str(net), "--domain", "0", "1", "--json", *extra)
        assert result.exit_code == 0, (extra, result.stderr)
        payload = json.loads(result.stdout)
        assert set(payload) == COUNT_KEYS, extra
        assert isinstance(payload["pieces"], int), extra
        seen.append(payload)
    plain, listed, layered = seen[0], seen[1], seen[2]
    assert plain["breakpoints"] is None and plain["layers"] is None
    f = telgarsky(4).function(UNIT)
    assert [Fraction(b) for b in listed["breakpoints"]] == list(f.breakpoints)
    assert [row["activation_regions"] for row in layered["layers"]] == [2, 4, 8, 16]
    every = seen[4]
    net2 = float_net()
    part = net2.partition(UNIT)
    assert every["output"] == "all" and every["pieces"] == part.joint_pieces()
    assert every["pieces_per_output"] == [part.pieces(0), part.pieces(1)]
    assert seen[5]["pieces"] == part.pieces(1) and seen[5]["pieces_per_output"] is None


def test_count_result_to_dict_is_the_command_schema(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "t3.json"
    telgarsky(3).save(path)
    result = run(runner, "count", str(path), "--domain", "0", "1", "--json", "--per-layer")
    payload = json.loads(result.stdout)
    lib = pwl.count(telgarsky(3), UNIT, per_layer=True).to_dict()
    assert {"network": str(path), "line": None, **lib} == payload


# -- figures use the count's own result ---------------------------------------------------
def test_count_plot_refuses_what_it_cannot_draw(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "t40.json"
    telgarsky(40).save(path)
    counted = run(runner, "count", str(path), "--domain", "0", "1", "--json")
    assert json.loads(counted.stdout)["pieces"] == 2**40
    out = tmp_path / "t40.png"
    result = run(runner, "count", str(path), "--domain", "0", "1", "--plot", str(out))
    assert result.exit_code == 1 and "--plot" in result.stderr
    assert not out.exists()


def test_count_plot_draws_the_counted_function(runner: CliRunner, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "t5.json"
    telgarsky(5).save(path)
    out = tmp_path / "t5.svg"
    result = run(runner, "count", str(path), "--domain", "0", "1", "--plot", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["pieces"] == 32 and out.stat().st_size > 0
    assert str(out) in result.stderr
