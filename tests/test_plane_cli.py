"""`pwl regions` and `pwl plot2d`: counts, bounds, figures, exports, bad input in one line."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from cli_helpers import run
from pwl import partition2d
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
    p = partition2d(Network.from_dict(ABS_DIAMOND), box=(-2, 2, -2, 2))
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
    p = partition2d(net, plane=([0, 0, 0], [1, 0, 1], [0, 1, "0.5"]))
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
    p = partition2d(net, box=(-5, 5, -5, 5))
    assert p.num_regions <= serra_upper_bound([6, 4], 2)


def test_moons_models_and_figure(runner, tmp_path):
    from pwl.plane.moons import moons, two_moons

    x, y = two_moons(60, 0.2, seed=3)
    assert x.shape == (60, 2) and y.sum() == 30
    xs, ys, models = moons(60, 0.2, seed=3, epochs=300)
    assert [m.parameters for m in models] == [81, 151]
    assert [m.network.widths for m in models] == [(20,), (10, 10)]
    for m in models:
        # the misclassified points agree with the exact forms of the regions holding them
        regions = m.partition.regions
        for (px, py), label, wrong in zip(xs.tolist(), ys.tolist(), m.wrong.tolist()):
            q = (Fraction(px), Fraction(py))
            value = m.network.evaluate(list(q))[0]
            assert wrong == ((value > 0) != bool(label) or value == 0)
            inside = [r for r in regions if all(
                (b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0]) >= 0
                for a, b in zip(r.vertices, r.vertices[1:] + r.vertices[:1]))]
            assert inside and all(r.forms[0][0] * q[0] + r.forms[0][1] * q[1] + r.forms[0][2]
                                  == value for r in inside)
    fig = tmp_path / "moons.png"
    r = run(runner, "moons", "--points", "60", "--seed", "3", "--epochs", "300", "-o", str(fig),
            "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [d["regions"] for d in data["models"]] == [m.regions for m in models]
    assert [d["misclassified"] for d in data["models"]] == [int(m.wrong.sum()) for m in models]
    assert fig.read_bytes()[:4] == b"\x89PNG"
