"""Layer-by-layer splitting of the plane window into the activation regions of the hidden layers.

On a polygon with a fixed pattern of the layers before ``k``, every pre-activation of layer ``k`` is
affine in ``(s, t)``; the polygon is split by the zero line of each unit that crosses it, unit after unit,
all polygons of a round at once. Signs are certified (see :mod:`relu_regions._plane_geom`) and decided
exactly where the float bound cannot.
"""

from __future__ import annotations

import numpy as np

from relu_regions._plane_geom import GAMMA3, INFLATE, TINY, Polys, split_polys, vertex_signs

__all__ = ["PlaneCapacityError", "affine_maps", "hidden_regions", "padded", "window_polygon"]

U = 2.0 ** -53
PAD_BUDGET = 1 << 19          # entries of one (polygons, vertices, units) block of sign tests
BLOCK = 1 << 19               # entries of one block of affine maps
INCREMENTAL_RATIO = 10        # rank-one updates cost about this many dense-product multiply-adds each


class PlaneCapacityError(RuntimeError):
    """The plane window has more linear regions than the ``max_regions`` the caller allowed."""


def window_polygon(bounds) -> Polys:
    """The window ``[s0, s1] x [t0, t1]`` as one counter-clockwise polygon with edge ids ``-3, -2, -4, -1``."""
    (s0, s1), (t0, t1) = bounds
    h = np.array([[1.0, s0, t0], [1.0, s1, t0], [1.0, s1, t1], [1.0, s0, t1]])
    ec = np.array([[-t0, 0.0, 1.0], [-s1, 1.0, 0.0], [-t1, 0.0, 1.0], [-s0, 1.0, 0.0]])
    z = np.zeros((4, 3))
    return Polys.build([0, 4], h, z, np.array([-3, -2, -4, -1]), ec, z, np.full(4, -1), np.ones(4))


def affine_maps(Zp: np.ndarray, EZp: np.ndarray, roots: np.ndarray, bits: np.ndarray, W: np.ndarray,
                b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Next layer's pre-activations as affine maps in ``(s, t)``, with rigorous error bounds.

    The inputs of polygon ``i`` are ``H = Zp[roots[i]]`` masked by its pattern ``bits[i]`` (``Zp, EZp
    (R, 3, n)``: the previous layer's maps, rows constant, d/ds, d/dt, and their error bounds; ``bits
    (P, n)``). Returns ``Z, EZ (P, 3, m)`` with ``Z = H @ W + b`` in float64 and ``|Z - Z_exact| <= EZ``,
    where ``Z_exact`` is exact arithmetic on the exact inputs; the bound is
    ``(gamma_{n+1} max|H| + max EH) sum_i |W_ij|`` (plus ``gamma |b|``), valid for any summation order.
    Computed in blocks of polygons, or, when polygons of one root differ in few units, incrementally
    (:func:`_affine_incremental`).
    """
    P, n, m = len(roots), W.shape[0], W.shape[1]
    first = np.full(Zp.shape[0], -1, np.int64)
    first[roots[::-1]] = np.arange(P)[::-1]
    diff = bits != bits[first[roots]]
    if INCREMENTAL_RATIO * np.count_nonzero(diff) < P * n:
        return _affine_incremental(Zp, EZp, roots, bits, W, b, first, diff)
    gamma = (n + 1) * U / (1 - (n + 1) * U)
    col = np.abs(W).sum(axis=0) * (1.0 + 2.0 ** -30)
    Z, EZ = np.empty((P, 3, m)), np.empty((P, 3, m))
    step = max(1, BLOCK // (3 * max(n, m)))
    for a in range(0, P, step):
        sl = slice(a, min(P, a + step))
        H = Zp[roots[sl]] * bits[sl, None, :]
        EH = EZp[roots[sl]] * bits[sl, None, :]
        q = len(H)
        Z[sl] = (H.reshape(3 * q, n) @ W).reshape(q, 3, m)
        Z[sl, 0, :] += b
        scale = (gamma * np.abs(H).max(axis=2) + EH.max(axis=2)) * (1.0 + 2.0 ** -30)
        EZ[sl] = scale[:, :, None] * col
        EZ[sl, 0, :] += gamma * np.abs(b) * (1.0 + 2.0 ** -30)
    EZ += TINY * n * (EZ > 0)
    return Z, EZ


def _affine_incremental(Zp, EZp, roots, bits, W, b, first, diff):
    """:func:`affine_maps` for polygons whose patterns differ from their root's first polygon ``first``
    in few units (``diff (P, n)``): one dense product per root, then rank-one terms ``+- Zp[r, :, j] W[j]``
    for the differing units. Every entry is a float sum of at most ``n + 2 c + 1`` products (``c``: the
    most differing units of a polygon), so ``|error| <= (2 gamma_{n+2c+2} max|Zp[r]| + max EZp[r])
    sum_i |W_ij|`` (plus ``gamma |b|``) for any summation order."""
    P, n, m = len(roots), W.shape[0], W.shape[1]
    used = np.flatnonzero(first >= 0)
    base = np.zeros((Zp.shape[0], 3, m))
    step = max(1, BLOCK // (3 * max(n, m)))
    for a in range(0, len(used), step):
        r = used[a:a + step]
        H = Zp[r] * bits[first[r], None, :]
        base[r] = (H.reshape(3 * len(r), n) @ W).reshape(len(r), 3, m)
    base[:, 0, :] += b
    Z = base[roots]
    p_idx, j_idx = np.nonzero(diff)
    step = max(1, BLOCK // (3 * m))
    for a in range(0, len(p_idx), step):
        p, j = p_idx[a:a + step], j_idx[a:a + step]
        sign = np.where(bits[p, j], 1.0, -1.0)
        terms = (sign[:, None] * Zp[roots[p], :, j])[:, :, None] * W[j][:, None, :]
        starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
        Z[p[starts]] += np.add.reduceat(terms, starts, axis=0)
    N = n + 2 * int(diff.sum(axis=1).max(initial=0)) + 2
    gamma = N * U / (1 - N * U)
    col = np.abs(W).sum(axis=0) * (1.0 + 2.0 ** -30)
    scale = (2 * gamma * np.abs(Zp).max(axis=2) + EZp.max(axis=2)) * (1.0 + 2.0 ** -30)   # (R, 3)
    EZ = scale[roots][:, :, None] * col
    EZ[:, 0, :] += gamma * np.abs(b) * (1.0 + 2.0 ** -30)
    EZ += TINY * N * (EZ > 0)
    return Z, EZ


def padded(polys: Polys, rows: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertex indices ``(len(rows), K)`` of polygons ``rows`` (at most ``K`` vertices each) padded with
    their first vertex, and the validity mask."""
    cnt = polys.counts[rows]
    j = np.arange(K)[None, :]
    valid = j < cnt[:, None]
    idx = polys.off[rows][:, None] + np.where(valid, j, 0)
    return idx, valid


def _unit_extremes(polys: Polys, zroot, Z, EZ, offset, exact_sign, pattern_of) -> tuple[np.ndarray, np.ndarray]:
    """For every polygon and unit of the layer (its maps ``Z[zroot[i]]``, global ids ``offset + j``):
    does the unit take an exactly positive / negative value at some vertex? Two bool arrays ``(P, m)``.

    The float test uses one bound per polygon and unit, valid at all its vertices; a vertex on the unit's
    own line (one of its two edges lies on it) is exactly 0; only pairs left open are decided exactly,
    vertex by vertex.
    """
    P, m = polys.n, Z.shape[2]
    K = int(polys.counts.max())
    step = max(1, PAD_BUDGET // (K * m))
    pos, neg = np.empty((P, m), bool), np.empty((P, m), bool)
    prv = polys.prv()
    for a in range(0, P, step):
        rows = np.arange(a, min(P, a + step))
        idx, _ = padded(polys, rows, K)
        h, eh = polys.h[idx], polys.eh[idx]
        ah = np.abs(h)
        units = offset + np.arange(m)
        on_line = (polys.el[prv[idx]][..., None] == units) | (polys.el[idx][..., None] == units)
        Zr = Z[zroot[rows]]
        aZ = np.abs(Zr)
        val = h @ Zr
        hmax, ehmax = ah.max(axis=1), eh.max(axis=1)
        bound = (np.einsum("pd,pdm->pm", hmax + ehmax, EZ[zroot[rows]])
                 + np.einsum("pd,pdm->pm", ehmax + GAMMA3 * hmax, aZ))
        bound = (bound * INFLATE + TINY * (bound > 0))[:, None, :]
        vmax, vmin = val.max(axis=1), val.min(axis=1)
        p_sure, n_sure = vmax > bound[:, 0], vmin < -bound[:, 0]
        unsure = (np.abs(val) <= bound) & ~((val == 0) & (bound == 0)) & ~on_line
        open_ = ~(p_sure & n_sure) & unsure.any(axis=1)
        for r, j in zip(*np.nonzero(open_)):
            signs = {0 if offset + j in (polys.el[prv[v]], polys.el[v])
                     else exact_sign(pattern_of(rows[r]), polys.el[prv[v]], polys.el[v], j)
                     for v in polys.off[rows[r]] + np.arange(polys.counts[rows[r]])}
            p_sure[r, j], n_sure[r, j] = 1 in signs, -1 in signs
        pos[rows], neg[rows] = p_sure, n_sure
    return pos, neg


def hidden_regions(net, origin, u, v, bounds, exact, max_regions: int, progress=None):
    """All activation regions of the hidden layers on the window.

    Returns ``(polys, patterns (P, n_hidden) bool, (F, EF))`` with ``F, EF (P, 3, n_out)`` the logits on
    each region as affine maps and their error bounds; ``exact`` is the
    :class:`~relu_regions._plane_exact.ExactPlane`; ``progress(layer, n_polygons)`` is called after
    each layer. Raises :class:`PlaneCapacityError` as soon as more than ``max_regions`` polygons exist.
    """
    polys = window_polygon(bounds)
    patterns = np.zeros((1, 0), bool)
    Z = np.stack([origin, u, v])[None].astype(np.float64)
    EZ = np.zeros_like(Z)
    roots, bits = np.zeros(1, np.int64), np.ones((1, Z.shape[2]), bool)
    offset = chords = 0
    for k, (W, b) in enumerate(net[:-1]):
        Z, EZ = affine_maps(Z, EZ, roots, bits, W, b)
        polys, roots, bits, chords = _split_layer(polys, patterns, Z, EZ, offset, exact, max_regions, chords)
        patterns = np.concatenate([patterns[roots], bits], axis=1)
        offset += W.shape[1]
        if progress is not None:
            progress(k, polys.n)
    return polys, patterns, affine_maps(Z, EZ, roots, bits, *net[-1])


def _split_layer(polys: Polys, patterns, Z, EZ, offset, exact, max_regions, next_chord):
    """Split every polygon by the units of one layer (global ids ``offset + j``); splits are numbered
    from ``next_chord`` on.

    Works in stages: a stage finds, for every current polygon, the units that cross it (one vectorised
    sign test of all units at all vertices), then splits by them in rounds (round ``r``: every polygon by
    the ``r``-th unit of the list of the polygon it descends from, all at once). A stage ends when its
    lists are used up or the polygons have doubled; the next one rebuilds shorter lists, so a polygon is
    never tested against units that no longer cross it (this keeps wide first layers near-linear).

    Returns ``(polys, roots, bits, next_chord)``: the new polygons, the layer-start polygon each came
    from, the layer's pattern ``(P', m)`` on each, and the next free split number.
    """
    def exact_sign(pattern, la, lb, j):
        return exact.vertex_sign(pattern, la, lb, offset + j)

    cur, zroot = polys, np.arange(polys.n)
    done: list[tuple[Polys, np.ndarray, np.ndarray]] = []
    n_done = 0
    while cur.n:
        bits, has_neg = _unit_extremes(cur, zroot, Z, EZ, offset, exact_sign, lambda r: patterns[zroot[r]])
        crossed = bits & has_neg
        n_cross = crossed.sum(axis=1)
        finished = np.flatnonzero(n_cross == 0)
        if finished.size:
            done.append((cur.take(finished), zroot[finished], bits[finished]))
            n_done += finished.size
            keep = np.flatnonzero(n_cross > 0)
            cur, zroot, bits, crossed, n_cross = cur.take(keep), zroot[keep], bits[keep], crossed[keep], n_cross[keep]
        if not cur.n:
            break
        rows, cols = np.nonzero(crossed)
        table = np.full((cur.n, int(n_cross.max())), -1, np.int64)
        table[rows, np.arange(len(rows)) - np.repeat(np.cumsum(n_cross) - n_cross, n_cross)] = cols
        lroot = np.arange(cur.n)          # the stage-start polygon each polygon descends from
        stage_start = cur.n
        for r in range(table.shape[1]):
            if r >= 2 and cur.n >= 2 * stage_start:
                break                         # rebuild the lists: most of them got shorter
            active = n_cross[lroot] > r
            if not active.all():       # lists used up: these polygons are final
                idx, fin = np.flatnonzero(active), np.flatnonzero(~active)
                done.append((cur.take(fin), zroot[fin], bits[fin]))
                n_done += fin.size
                cur, zroot, lroot, bits = cur.take(idx), zroot[idx], lroot[idx], bits[idx]
                if not cur.n:
                    break
            unit = table[lroot, r]
            cur, zroot, lroot, bits, next_chord = _round(cur, zroot, lroot, bits, unit, patterns, Z, EZ, offset,
                                                         exact, exact_sign, next_chord)
            if cur.n + n_done > max_regions:
                raise PlaneCapacityError(f"plane_regions: more than max_regions={max_regions} linear regions in "
                                         "the window (pass a larger max_regions or a smaller window)")
        else:                                 # every list used up: all polygons are final
            if cur.n:
                done.append((cur, zroot, bits))
            break
    return (Polys.concat([d[0] for d in done]), np.concatenate([d[1] for d in done]),
            np.concatenate([d[2] for d in done]), next_chord)


def _round(cur: Polys, zroot, lroot, bits, unit, patterns, Z, EZ, offset, exact, exact_sign, next_chord):
    """Split every polygon ``i`` of ``cur`` by unit ``unit[i]`` (where it crosses); returns the new
    ``(cur, zroot, lroot, bits, next_chord)``, children after the polygons that stay."""
    owner = cur.owner()
    lc = np.ascontiguousarray(Z[zroot, :, unit])
    le = np.ascontiguousarray(EZ[zroot, :, unit])
    sigma, unsure = vertex_signs(lc[owner], le[owner], cur.h, cur.eh)
    if unsure.any():
        prv = cur.prv()
        for v in np.flatnonzero(unsure):
            p = owner[v]
            sigma[v] = exact_sign(patterns[zroot[p]], cur.el[prv[v]], cur.el[v], unit[p])
    starts = cur.off[:-1]
    smax = np.maximum.reduceat(sigma, starts)
    smin = np.minimum.reduceat(sigma, starts)
    split = (smax > 0) & (smin < 0)
    stay = np.flatnonzero(~split)
    bits[stay, unit[stay]] = smax[stay] > 0
    go = np.flatnonzero(split)
    if not go.size:
        return cur, zroot, lroot, bits, next_chord
    v_idx = np.flatnonzero(split[owner])
    chords = next_chord + np.arange(go.size)

    def orient(rows, la, lb):
        return np.array([exact.orientation(patterns[zroot[go[q]]], a, b) for q, a, b in zip(rows, la, lb)], np.int8)

    pos, neg = split_polys(cur.take(go), sigma[v_idx], lc[go], le[go], offset + unit[go], chords, orient)
    bp, bn = bits[go].copy(), bits[go].copy()
    bp[np.arange(go.size), unit[go]] = True
    bn[np.arange(go.size), unit[go]] = False
    return (Polys.concat([cur.take(stay), pos, neg]), np.concatenate([zroot[stay], zroot[go], zroot[go]]),
            np.concatenate([lroot[stay], lroot[go], lroot[go]]), np.concatenate([bits[stay], bp, bn]),
            next_chord + go.size)
