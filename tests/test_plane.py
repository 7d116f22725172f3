"""Exact 2-D slices (``plane_regions``): hand cases with closed forms, degeneracies, and the partition
checked against the public point-wise routines (activation patterns, forward, linear pieces)."""

from __future__ import annotations

from math import comb

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import relu_regions as rr
from conftest import random_net

EDGE_TOL = 1e-9


def lines_net(A, c, out=None):
    """One hidden layer whose units are the lines ``A[:, 0] s + A[:, 1] t + c`` (2-D input)."""
    A = np.asarray(A, np.float64)
    n = A.shape[0]
    out = np.ones((n, 2)) * [1.0, -1.0] if out is None else np.asarray(out, np.float64)
    return [(A.T.copy(), np.asarray(c, np.float64)), (out, np.zeros(out.shape[1]))]


def plane_2d(params, bounds, **kw):
    return rr.plane_regions(params, np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]), bounds, **kw)


def grid(bounds, n):
    (s0, s1), (t0, t1) = bounds
    s = np.linspace(s0, s1, n + 2)[1:-1]
    t = np.linspace(t0, t1, n + 2)[1:-1] + (t1 - t0) * 1e-3 / n   # off the symmetric lines
    S, T = np.meshgrid(s, t)
    return np.column_stack([S.ravel(), T.ravel()])


def edge_distances(poly, pts):
    """Signed distances ``(m, k)`` of points to the edge lines of a ccw polygon (positive inside)."""
    a, b = poly, np.roll(poly, -1, axis=0)
    d = b - a
    cross = d[None, :, 0] * (pts[:, None, 1] - a[None, :, 1]) - d[None, :, 1] * (pts[:, None, 0] - a[None, :, 0])
    return cross / np.linalg.norm(d, axis=1)[None, :]


def public_patterns_and_logits(params, X):
    with jax.enable_x64(True):
        p = [(jnp.asarray(W, jnp.float64), jnp.asarray(b, jnp.float64)) for W, b in params]
        pats = jax.vmap(lambda x: jnp.concatenate(rr.activation_pattern(p, x)) if len(p) > 1
                        else jnp.zeros(0, bool))(jnp.asarray(X))
        logits = jax.vmap(lambda x: rr.forward(p, x))(jnp.asarray(X))
    return np.asarray(pats), np.asarray(logits), np.asarray(logits).argmax(axis=1)


def exact_patterns_and_logits(params, X):
    """Activation patterns and logits in rational arithmetic (the reference for degenerate networks, where
    a unit can be exactly 0 on a whole region and float64 leaves a rounding residual of either sign)."""
    from fractions import Fraction

    net = [([[Fraction(w) for w in row] for row in np.asarray(W)], [Fraction(x) for x in b]) for W, b in params]
    pats, logits, top = [], [], []
    for x in X:
        h, pat = [Fraction(v) for v in x], []
        for k, (W, b) in enumerate(net):
            z = [sum((h[i] * W[i][j] for i in range(len(h))), b[j]) for j in range(len(b))]
            if k < len(net) - 1:
                pat += [v > 0 for v in z]
                h = [max(v, 0) for v in z]
        pats.append(pat)
        logits.append([float(v) for v in z])
        top.append(z.index(max(z)))          # exact argmax, ties to the lowest index
    return np.array(pats, bool).reshape(len(X), -1), np.array(logits), np.array(top)


def check_partition(part: rr.PlanePartition, params, n_grid=60, exact=False):
    """The verification of the issue on a grid: each point lies in the polygon with its pattern, the
    argmax matches the region's (or cell's) class away from edges, areas tile the window, no overlaps.
    ``exact``: the points' patterns and logits in rational arithmetic instead of the public float64
    routines."""
    assert part.n_regions == len(part.patterns) == len(part.classes) == len(part.logit_maps)
    assert len({p.tobytes() for p in part.patterns}) == part.n_regions
    areas = part.areas
    assert np.all(areas > 0)
    assert areas.sum() == pytest.approx(part.window_area, rel=1e-12)
    cell_areas = np.array([0.5 * np.sum(c[:, 0] * np.roll(c[:, 1], -1) - np.roll(c[:, 0], -1) * c[:, 1])
                           for c in part.cells])
    assert np.all(cell_areas > 0)
    np.testing.assert_allclose(np.bincount(part.cell_regions, cell_areas, part.n_regions), areas, rtol=1e-9,
                               atol=1e-15)
    st = grid(part.bounds, n_grid)
    evaluate = exact_patterns_and_logits if exact else public_patterns_and_logits
    pats, logits, am = evaluate(params, part.points(st))
    index = {p.tobytes(): i for i, p in enumerate(part.patterns)}
    inside_count = np.zeros(len(st), int)
    near_edge = np.zeros(len(st), bool)
    for i, poly in enumerate(part.polygons):
        dist = edge_distances(poly, st)
        inside_count += (dist > EDGE_TOL).all(axis=1)
        near_edge |= (np.abs(dist) <= EDGE_TOL).any(axis=1) & (dist >= -EDGE_TOL).all(axis=1)
    assert np.all(inside_count[~near_edge] == 1), "every point away from edges lies in exactly one polygon"
    region = np.array([index[p.tobytes()] for p in pats])   # KeyError: a pattern with no polygon
    for i in np.unique(region):
        dist = edge_distances(part.polygons[i], st[region == i])
        assert (dist >= -EDGE_TOL).all(), "a point lies outside the polygon of its pattern"
    const = part.classes[region] >= 0
    assert np.all(am[const] == part.classes[region][const])
    for k, cell in enumerate(part.cells):
        dist = edge_distances(cell, st)
        inside = (dist > EDGE_TOL).all(axis=1)
        assert np.all(am[inside] == part.cell_classes[k])
    # Across the middle of every boundary segment the argmax changes.
    seg = part.boundary
    if len(seg):
        d = seg[:, 1] - seg[:, 0]
        length = np.linalg.norm(d, axis=1)
        seg, d, length = seg[length > 1e-6], d[length > 1e-6], length[length > 1e-6]
        normal = np.column_stack([-d[:, 1], d[:, 0]]) / length[:, None]
        mid = seg.mean(axis=1)
        scale = 1e-7 * (part.bounds[:, 1] - part.bounds[:, 0]).max()
        _, _, left = evaluate(params, part.points(mid + scale * normal))
        _, _, right = evaluate(params, part.points(mid - scale * normal))
        assert np.all(left != right)
    # The logit maps reproduce the logits.
    M = part.logit_maps[region]
    f = M[:, 0] + st[:, :1] * M[:, 1] + st[:, 1:] * M[:, 2]
    np.testing.assert_allclose(f, logits, atol=1e-9 * (1 + np.abs(logits).max()))


# ----------------------------------------------------------------------------------- hand cases
def test_single_layer_is_a_line_arrangement_with_closed_form_count():
    rng = np.random.default_rng(1)
    n = 12
    theta = np.pi * (np.arange(n) + 0.3 * rng.random(n)) / n
    A = np.column_stack([np.cos(theta), np.sin(theta)])
    c = rng.uniform(-1, 1, n)
    part = plane_2d(lines_net(A, c), ((-100.0, 100.0), (-100.0, 100.0)))
    assert part.n_regions == 1 + n + comb(n, 2)
    check_partition(part, lines_net(A, c), n_grid=40)


def test_three_lines_through_one_point_exactly():
    # Lines s = x0, t = x0 and 3 s + 5 t = 8 x0 meet exactly at (x0, x0); float evaluation of the third
    # at that vertex leaves a rounding residual, so only the exact fallback finds 6 regions, not 7.
    x0 = 0.1
    params = lines_net([[1.0, 0.0], [0.0, 1.0], [3.0, 5.0]], [-x0, -x0, -8 * x0])
    part = plane_2d(params, ((-1.0, 1.0), (-1.0, 1.0)))
    assert part.n_regions == 6
    check_partition(part, params)
    moved = lines_net([[1.0, 0.0], [0.0, 1.0], [3.0, 5.0]], [-x0, -x0, -8 * x0 + 1e-12])
    assert plane_2d(moved, ((-1.0, 1.0), (-1.0, 1.0))).n_regions == 7


def test_boundaries_through_the_origin_and_duplicated_lines():
    # Zero biases: every first-layer line passes through the plane's origin; a duplicated unit and a
    # unit equal to -1 times another give the same line (collinear edges, no extra region).
    A = [[1.0, 2.0], [1.0, -3.0], [-1.0, 1.0], [1.0, 2.0], [-1.0, -2.0]]
    params = lines_net(A, np.zeros(5))
    part = plane_2d(params, ((-1.0, 1.0), (-1.0, 1.0)))
    assert part.n_regions == 6
    check_partition(part, params)


def test_region_of_width_1e_10_is_kept_with_its_decision_boundary():
    w = 1e-10
    # h1 = relu(s - 0.5), h2 = relu(s - 0.5 - w); logit 0 = h1 - h2 - w / 2 > logit 1 = 0 iff s > 0.5 + w / 2.
    params = [(np.array([[1.0, 1.0], [0.0, 0.0]]), np.array([-0.5, -0.5 - w])),
              (np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([-w / 2, 0.0]))]
    part = plane_2d(params, ((0.0, 1.0), (0.0, 1.0)))
    assert part.n_regions == 3
    assert np.sort(part.areas)[0] == pytest.approx(w, rel=1e-5)
    thin = int(np.argmin(part.areas))
    assert part.classes[thin] == -1 and sorted(set(part.classes)) == [-1, 0, 1]
    assert part.boundary.shape == (1, 2, 2)
    np.testing.assert_allclose(part.boundary[0, :, 0], 0.5 + w / 2, rtol=0, atol=1e-16)
    np.testing.assert_allclose(np.sort(part.boundary[0, :, 1]), [0.0, 1.0])


def test_decision_boundary_along_a_region_edge():
    # h = relu(s); logits (0, h): tie on s <= 0 (class 0 by the lowest index), class 1 on s > 0. The
    # class changes across the edge s = 0, not inside any region.
    params = [(np.array([[1.0], [0.0]]), np.zeros(1)), (np.array([[0.0, 1.0]]), np.zeros(2))]
    part = plane_2d(params, ((-1.0, 1.0), (-2.0, 3.0)))
    assert part.n_regions == 2 and sorted(part.classes) == [0, 1]
    assert part.boundary.shape == (1, 2, 2)
    seg = part.boundary[0]
    np.testing.assert_array_equal(seg[:, 0], 0.0)
    np.testing.assert_allclose(np.sort(seg[:, 1]), [-2.0, 3.0])
    # The same kink with one class on both sides: no boundary.
    same = [(np.array([[1.0], [0.0]]), np.zeros(1)), (np.array([[0.0, 1.0]]), np.array([0.0, -5.0]))]
    part = plane_2d(same, ((-1.0, 1.0), (-2.0, 3.0)))
    assert list(part.classes) == [0, 0] and part.boundary.shape == (0, 2, 2)


def test_linear_model_has_one_region_and_a_straight_boundary():
    params = [(np.array([[1.0, -1.0], [2.0, 0.5]]), np.array([0.0, 0.25]))]
    part = plane_2d(params, ((-1.0, 1.0), (-1.0, 1.0)))
    assert part.n_regions == 1 and part.patterns.shape == (1, 0) and part.classes[0] == -1
    assert len(part.cells) == 2
    (a, b), = part.boundary
    g = np.array([1.0 + 1.0, 2.0 - 0.5])       # f_0 - f_1 = 2 s + 1.5 t - 0.25 vanishes on the segment
    for p in (a, b):
        assert g @ p - 0.25 == pytest.approx(0.0, abs=1e-15)
    check_partition(part, params)


# --------------------------------------------------------------------------------- random nets
@pytest.mark.parametrize("sizes", [[2, 8, 8, 3], [2, 12, 6, 6, 4], [5, 10, 10, 3]])
def test_random_nets_against_points_patterns_and_argmax(sizes):
    rng = np.random.default_rng(sum(sizes))
    params = random_net(rng, sizes)
    if sizes[0] == 2:
        part = plane_2d(params, ((-2.0, 2.0), (-1.5, 2.5)))
    else:
        o, u, v = rng.normal(size=(3, sizes[0]))
        part = rr.plane_regions(params, o, u, v, ((-1.0, 2.0), (-1.0, 2.0)))
    assert part.n_regions > 10
    check_partition(part, params)


def segment_partition(part, a, b):
    """Pieces of the segment ``a -> b`` (plane coordinates) cut by the polygons: ``[(t0, t1, region)]``."""
    d = b - a
    pieces = []
    for i, poly in enumerate(part.polygons):
        lo, hi = 0.0, 1.0
        for p, q in zip(poly, np.roll(poly, -1, axis=0)):
            e = q - p
            # inside: cross(e, x - p) >= 0 with x = a + t d
            c0 = e[0] * (a[1] - p[1]) - e[1] * (a[0] - p[0])
            c1 = e[0] * d[1] - e[1] * d[0]
            if c1 > 0:
                lo = max(lo, -c0 / c1)
            elif c1 < 0:
                hi = min(hi, -c0 / c1)
            elif c0 < 0:
                lo, hi = 1.0, 0.0
        if hi - lo > EDGE_TOL:
            pieces.append((lo, hi, i))
    return sorted(pieces)


def test_restriction_to_lines_equals_linear_pieces():
    rng = np.random.default_rng(7)
    params = random_net(rng, [4, 10, 10, 3])
    o, u, v = rng.normal(size=(3, 4))
    part = rr.plane_regions(params, o, u, v, ((-1.0, 2.0), (-1.0, 2.0)))
    for _ in range(4):
        a, b = rng.uniform(-1, 2, size=(2, 2))
        x, y = part.points(np.stack([a, b]))
        pieces = rr.linear_pieces(params, x, y - x, 0.0, 1.0)
        keep = np.diff(pieces.breakpoints) > EDGE_TOL
        mine = segment_partition(part, a, b)
        assert len(mine) == keep.sum()
        np.testing.assert_allclose([m[1] for m in mine[:-1]], pieces.breakpoints[1:-1][keep[:-1]], atol=1e-9)
        for (_, _, i), pat in zip(mine, pieces.patterns[keep]):
            np.testing.assert_array_equal(part.patterns[i], pat)


# ----------------------------------------------------------------------------- api and errors
def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    params = random_net(rng, [2, 8, 8, 3])
    part = plane_2d(params, ((-1.0, 1.0), (-1.0, 1.0)))
    path = part.save(tmp_path / "slice")
    back = rr.PlanePartition.load(path)
    assert path.endswith(".npz") and back.n_regions == part.n_regions
    for name in ("origin", "u", "v", "bounds", "patterns", "classes", "logit_maps", "boundary",
                 "cell_regions", "cell_classes"):
        np.testing.assert_array_equal(getattr(back, name), getattr(part, name))
    assert back.layer_sizes == part.layer_sizes
    for p, q in zip(back.polygons + back.cells, part.polygons + part.cells):
        np.testing.assert_array_equal(p, q)


def test_max_regions_is_a_clear_error():
    rng = np.random.default_rng(4)
    params = random_net(rng, [2, 16, 16, 3])
    with pytest.raises(rr.PlaneCapacityError, match="max_regions=5"):
        plane_2d(params, ((-2.0, 2.0), (-2.0, 2.0)), max_regions=5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(bounds=((1.0, 0.0), (0.0, 1.0))), "s0 < s1"),
    (dict(bounds=((0.0, 1.0),)), "bounds"),
    (dict(bounds=((0.0, np.inf), (0.0, 1.0))), "finite"),
    (dict(origin=np.zeros(3)), "origin"),
    (dict(u=np.array([1.0, np.nan])), "u"),
    (dict(max_regions=0), "max_regions"),
])
def test_bad_input_is_a_clear_error(kwargs, match):
    params = lines_net([[1.0, 0.0]], [0.0])
    args = dict(origin=np.zeros(2), u=np.array([1.0, 0.0]), v=np.array([0.0, 1.0]), bounds=((0, 1), (0, 1)))
    args.update(kwargs)
    max_regions = args.pop("max_regions", 10)
    with pytest.raises(ValueError, match=match):
        rr.plane_regions(params, **args, max_regions=max_regions)


def test_degenerate_vertices_are_decided_exactly(monkeypatch):
    from relu_regions._plane_exact import ExactPlane

    calls = []
    original = ExactPlane.vertex_sign
    monkeypatch.setattr(ExactPlane, "vertex_sign", lambda self, *a: calls.append(a) or original(self, *a))
    x0 = 0.1
    plane_2d(lines_net([[1.0, 0.0], [0.0, 1.0], [3.0, 5.0]], [-x0, -x0, -8 * x0]), ((-1.0, 1.0), (-1.0, 1.0)))
    assert calls, "the triple point's sign is not decidable in float64 and must go to exact arithmetic"


def test_progress_callback_and_interruption():
    rng = np.random.default_rng(5)
    params = random_net(rng, [2, 8, 8, 3])
    seen = []
    plane_2d(params, ((-1.0, 1.0), (-1.0, 1.0)), progress=lambda layer, n: seen.append((layer, n)))
    assert [layer for layer, _ in seen] == [0, 1] and seen[0][1] <= seen[1][1]

    def stop(layer, n):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        plane_2d(params, ((-1.0, 1.0), (-1.0, 1.0)), progress=stop)


def test_plot_and_cli_write_png_and_svg(tmp_path):
    from relu_regions.cli import main
    from relu_regions.plotting import plot_plane

    rng = np.random.default_rng(6)
    params = random_net(rng, [5, 10, 10, 3])
    np.savez(tmp_path / "model.npz", **{f"{k}{i}": a for i, (W, b) in enumerate(params)
                                        for k, a in (("W", W), ("b", b))})
    np.savez(tmp_path / "data.npz", X=rng.normal(size=(6, 5)))
    out = tmp_path / "out"
    assert main(["plane", "--model", str(tmp_path / "model.npz"), "--data", str(tmp_path / "data.npz"),
                 "--indices", "0", "3", "5", "--bounds", "-1", "2", "-0.5", "1.5", "--out", str(out)]) == 0
    for name in ("plane.png", "plane.svg", "plane.npz", "plane.json"):
        assert (out / name).stat().st_size > 0
    part = rr.PlanePartition.load(out / "plane.npz")
    X = np.load(tmp_path / "data.npz")["X"]
    np.testing.assert_array_equal(part.origin, X[0])
    np.testing.assert_array_equal(part.v, X[5] - X[0])
    np.testing.assert_array_equal(part.bounds, [[-1.0, 2.0], [-0.5, 1.5]])
    ax = plot_plane(part, points=[[0.0, 0.0]], point_classes=[1], mark_labels=["a", "b", "c"])
    assert ax.get_xlim() == (-1.0, 2.0)
    assert main(["plane", "--model", str(tmp_path / "model.npz"), "--out", str(out)]) == 2   # 5-D, no points


@pytest.mark.slow
def test_mnist_sized_random_net_against_points():
    rng = np.random.default_rng(8)
    params = random_net(rng, [784, 128, 128, 128, 10])
    a, b, c = rng.random((3, 784))
    part = rr.plane_regions(params, a, b - a, c - a, ((-1.0, 2.0), (-1.0, 2.0)))
    assert part.n_regions > 1000
    check_partition(part, params, n_grid=40)


@pytest.mark.parametrize("n_diff", [1, 40])
def test_affine_maps_error_bounds_hold_against_exact_arithmetic(n_diff):
    # Both ways of forming the next layer's maps (dense products; one product per root plus rank-one
    # updates when few units differ) must bound their rounding error rigorously.
    from fractions import Fraction

    from relu_regions._plane_split import _affine_incremental, affine_maps

    rng = np.random.default_rng(n_diff)
    R, P, n, m = 3, 12, 48, 5
    Zp = rng.normal(size=(R, 3, n)) * 10.0 ** rng.integers(-3, 3, size=(R, 3, n))
    EZp = np.abs(Zp) * 1e-15
    roots = np.sort(rng.integers(0, R, P))
    bits = rng.random((R, n))[roots] > 0.5
    flip = rng.random((P, n)) < n_diff / n
    bits = bits ^ flip
    W, b = rng.normal(size=(n, m)), rng.normal(size=m)
    first = np.full(R, -1)
    first[roots[::-1]] = np.arange(P)[::-1]
    diff = bits != bits[first[roots]]
    dense = affine_maps(Zp, EZp, roots, bits, W, b)
    for Z, EZ in (dense, _affine_incremental(Zp, EZp, roots, bits, W, b, first, diff)):
        for p in range(0, P, 5):
            for row in range(3):
                for j in range(m):
                    exact = sum((Fraction(Zp[roots[p], row, i]) * Fraction(W[i, j]) for i in range(n) if bits[p, i]),
                                Fraction(b[j]) if row == 0 else Fraction(0))
                    assert abs(Fraction(Z[p, row, j]) - exact) <= Fraction(EZ[p, row, j])
                    # ... and EZp, the error of Zp itself, is carried: inputs may differ from Zp by it.
                    slack = sum(EZp[roots[p], row, i] * abs(W[i, j]) for i in range(n) if bits[p, i])
                    assert EZ[p, row, j] >= slack


@pytest.mark.parametrize("seed", [3, 21, 27])
def test_degenerate_integer_nets(seed):
    # Small dyadic weights: many lines through common lattice points, parallel and repeated lines, and
    # deeper units that are exactly 0 on whole regions (float64 evaluates them to +-1e-16, so the
    # reference patterns are computed in rational arithmetic).
    rng = np.random.default_rng(100 + seed)
    sizes = [2, *(int(k) for k in rng.integers(3, 12, size=3)), 3]
    params = [(rng.integers(-2, 3, size=(a, b)) * (0.5 if seed % 2 else 1.0), rng.integers(-2, 3, size=b) / 4)
              for a, b in zip(sizes[:-1], sizes[1:])]
    part = plane_2d(params, ((-2.0, 2.0), (-1.75, 2.25)))
    check_partition(part, params, n_grid=30, exact=True)
