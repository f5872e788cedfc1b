"""`pwl regions` and `pwl plot2d`: counts, bounds, figures, exports, bad input in one line."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from cli_helpers import run
from pwl import Network
from pwl.plane.bounds import montufar_lower_bound, serra_upper_bound

ABS_DIAMOND = {"format": "pwl-network/1", "layers": [
    {"weights": [[1, 0], [-1, 0], [0, 1], [0, -1]], "bias": [0, 0, 0, 0]},
    {"weights": [[1, 1, 1, 1]], "bias": [-1]},
    {"weights": [[1], [-1]], "bias": [0, "1/2"], "activation": "identity"}]}


@pytest.fixture
def net_file(tmp_path):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(ABS_DIAMOND))
    return str(path)


@pytest.fixture
def net3_file(tmp_path):
    path = tmp_path / "net3.json"
    Network.sequential([([[1, 2, -1], [0, 1, 1], [1, -1, 0]], [0, "-1/2", "1/3"]),
                        ([[1, -1, 1]], [0], "identity")]).save(path)
    return str(path)


def test_regions_json_counts_match_the_library(runner, net_file):
    r = run(runner, "regions", net_file, "--box", "-2", "2", "-2", "2", "--json",
            "--output", "all", "--per-layer")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    p = Network.from_dict(ABS_DIAMOND).partition2d(box=(-2, 2, -2, 2))
    assert data["regions"] == p.num_regions == 8
    assert data["pieces"] == {"outputs": [p.pieces(0), p.pieces(1)], "joint": p.pieces(None)}
    assert data["vertices"] - data["edges"] + data["regions"] == data["euler"] == 1
    assert data["bound_serra"] == serra_upper_bound([4, 1], 2) >= data["regions"]
    assert [row["regions"] for row in data["layers"]] == list(p.layer_regions)


def test_regions_table_plot_and_exports(runner, net_file, tmp_path):
    fig = tmp_path / "r.svg"
    out = tmp_path / "regions.csv"
    r = run(runner, "regions", net_file, "--box", "-2", "2", "-2", "2", "--plot", str(fig),
            "--regions-json", str(out), "--output", "1")
    assert r.exit_code == 0, r.output
    assert "pieces of output 1" in r.stdout and "bound (Serra et al. 2018)" in r.stdout
    assert fig.read_text().startswith("<?xml")
    lines = out.read_text().splitlines()
    assert len(lines) == 9 and lines[0].startswith("region,piece,vertices")
    # every vertex in the CSV is an exact rational inside the box
    for line in lines[1:]:
        verts = line.split(",")[2].split(";")
        for v in verts:
            x, y = map(Fraction, v.split())
            assert -2 <= x <= 2 and -2 <= y <= 2


def test_regions_on_a_plane_npy_and_json_points(runner, net3_file, tmp_path):
    p0 = tmp_path / "p0.npy"
    np.save(p0, np.array([0.0, 0.0, 0.0]))
    r = run(runner, "regions", net3_file, "--plane", str(p0), "[1, 0, 1]", "[0, 1, 0.5]",
            "--json")
    assert r.exit_code == 0, r.output
    net = Network.sequential([([[1, 2, -1], [0, 1, 1], [1, -1, 0]], [0, "-1/2", "1/3"]),
                              ([[1, -1, 1]], [0], "identity")])
    p = net.partition2d(plane=([0, 0, 0], [1, 0, 1], [0, 1, "0.5"]))
    assert json.loads(r.stdout)["regions"] == p.num_regions


def test_plot2d_with_points(runner, net_file, tmp_path):
    pts = tmp_path / "pts.npz"
    np.savez(pts, x=np.array([[0.1, 0.2], [1.5, -1.0]]), y=np.array([0, 1]))
    fig = tmp_path / "r.png"
    r = run(runner, "plot2d", net_file, "--box", "-2", "2", "-2", "2", "--points", str(pts),
            "--color", "piece", "-o", str(fig))
    assert r.exit_code == 0, r.output
    assert fig.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, message", [
    (["--polygon", "[[0,0],[1,1],[2,2]]"], "degenerate polygon"),
    (["--box", "1", "0", "0", "1"], "X0 < X1"),
    (["--box", "0", "1", "0", "1", "--polygon", "[[0,0],[1,0],[0,1]]"], "choose one"),
    ([], "give the domain"),
    (["--box", "0", "1", "0", "1", "--output", "7"], "output"),
    (["--box", "0", "1", "0", "1", "--plot", "x.jpg"], "unsupported figure format"),
    (["--polygon", "not json"], "not a JSON list"),
])
def test_bad_input_one_line(runner, net_file, args, message):
    r = run(runner, "regions", net_file, *args)
    assert r.exit_code in (1, 2)
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_three_inputs_with_box_and_collinear_plane_refused(runner, net3_file):
    r = run(runner, "regions", net3_file, "--box", "0", "1", "0", "1")
    assert r.exit_code == 1 and "2 inputs; this one has 3" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run(runner, "regions", net3_file, "--plane", "[0,0,0]", "[1,1,1]", "[2,2,2]")
    assert r.exit_code == 1 and "collinear" in r.stderr
    r = run(runner, "regions", net3_file, "--plane", "[0,0]", "[1,1,1]", "[2,2,2]")
    assert r.exit_code == 1 and "expected 3 coordinates" in r.stderr


def test_bounds_against_brute_force_arrangements():
    # one layer of n lines in general position in the plane: 1 + n + C(n, 2) regions
    for n in range(1, 7):
        assert serra_upper_bound([n], 2) == 1 + n + n * (n - 1) // 2
    assert serra_upper_bound([3, 3, 3], 1) == 64
    assert montufar_lower_bound([2, 2, 3], 2) == 7
    # a random float network never beats the bound
    rng = np.random.default_rng(5)
    net = Network.from_arrays([rng.normal(0, 1, (6, 2)), rng.normal(0, 1, (4, 6)),
                               rng.normal(0, 1, (1, 4))])
    p = net.partition2d(box=(-5, 5, -5, 5))
    assert p.num_regions <= serra_upper_bound([6, 4], 2)
