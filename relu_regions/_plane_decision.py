"""Decision cells and the decision boundary of a plane partition.

On a region the logits are affine, ``f = F[0] + s F[1] + t F[2]``. The cell of class ``c`` is the region
clipped by ``f_c >= f_j`` for ``j > c`` and ``f_c > f_j`` for ``j < c`` (closure; ties go to the lowest
index, as in ``argmax``). The decision boundary is made of the cell edges on lines ``f_c = f_j`` inside a
region, and of region edges along which the classes on the two sides differ (there the two logits are
equal along the whole edge).
"""

from __future__ import annotations

import numpy as np

from relu_regions._plane_geom import GAMMA3, INFLATE, TINY, Polys, split_polys, vertex_signs
from relu_regions._plane_split import PAD_BUDGET, padded

__all__ = ["decision_cells", "decision_boundary"]

U = 2.0 ** -53


def _diff_line(F, EF, rows, c, j):
    """Lines ``f_c - f_j`` on regions ``rows`` with error bounds: ``(n, 3)`` each."""
    lc = F[rows, :, c] - F[rows, :, j]
    le = (EF[rows, :, c] + EF[rows, :, j] + U * np.abs(lc)) * INFLATE
    return lc, le


def _vertex_logits(h, eh, F, EF):
    """Logits at homogeneous vertices (times ``w``) and bounds: ``h (p, K, 3)``, ``F (p, 3, n)``."""
    ah = np.abs(h)
    aF = np.abs(F)
    val = h @ F
    prod = ah @ aF
    bound = ((ah + eh) @ EF + eh @ aF + GAMMA3 * prod) * INFLATE + TINY * (prod > 0)
    return val, bound


def _clear_class(val, bound) -> np.ndarray:
    """``(p,)`` the class that beats every other by more than the rounding bounds at every vertex of the
    polygon (so it is the class of the whole region), or -1."""
    top = val.argmax(axis=2)
    srt = np.sort(val, axis=2)
    margin = srt[..., -1] - srt[..., -2]
    bmax = bound.max(axis=2)
    clear = (margin * (1 - 2 * U) > 2 * bmax * INFLATE).all(axis=1) & (top == top[:, :1]).all(axis=1)
    return np.where(clear, top[:, 0], -1)


def _tasks(polys: Polys, F, EF):
    """Candidate cells ``(region, class)`` and, for each, the classes ``j`` whose line ``f_c = f_j`` may cut
    it (a conservative float filter). Returns ``(rows, classes, clip lists (n, n_out) padded with -1)``."""
    P, _, n = F.shape
    K = int(polys.counts.max())
    step = max(1, PAD_BUDGET // (K * n))
    rows_out, cls_out, clips_out = [], [], []
    eye, lower = np.eye(n, dtype=bool), np.tril(np.ones((n, n), bool), -1)    # lower[c, j]: j < c
    for a in range(0, P, step):
        rows = np.arange(a, min(P, a + step))
        idx, _ = padded(polys, rows, K)
        val, bound = _vertex_logits(polys.h[idx], polys.eh[idx], F[rows], EF[rows])
        clear = _clear_class(val, bound)
        done = np.flatnonzero(clear >= 0)
        rows_out.append(rows[done])
        cls_out.append(clear[done])
        clips_out.append(np.zeros((done.size, n), bool))
        hard = np.flatnonzero(clear < 0)
        if not hard.size:
            continue
        val, bound = val[hard], bound[hard]
        g = val[..., :, None] - val[..., None, :]                     # (p, K, c, j)
        gb = (bound[..., :, None] + bound[..., None, :] + U * np.abs(g)) * INFLATE
        candidate = ((g + gb >= 0).any(axis=1) | eye).all(axis=2)      # no j beats c at every vertex
        sure_ge = (g - gb > 0) | ((g == 0) & (gb == 0))
        sure_pos = (g - gb > 0).any(axis=1)
        no_clip = sure_ge.all(axis=1) & (~lower | sure_pos) | eye
        pr, pc = np.nonzero(candidate)
        rows_out.append(rows[hard[pr]])
        cls_out.append(pc)
        clips_out.append(~no_clip[pr, pc])
    need = np.concatenate(clips_out)
    order = np.argsort(~need, axis=1, kind="stable")
    clips = np.where(np.take_along_axis(need, order, 1), order, -1)
    rows, cls = np.concatenate(rows_out), np.concatenate(cls_out)
    order = np.argsort(rows, kind="stable")
    return rows[order], cls[order], clips[order]


def decision_cells(polys: Polys, patterns, F, EF, exact, n_hidden: int):
    """Non-empty decision cells: ``(cells Polys, region (C,), class (C,))``; a cell's clip edges get the
    line id ``n_hidden + c n_out + j``."""
    n = F.shape[2]
    rows, cls, clips = _tasks(polys, F, EF)
    cur = polys.take(rows)
    alive = np.ones(len(rows), bool)
    for r in range(clips.shape[1]):
        act = np.flatnonzero(alive & (clips[:, r] >= 0))
        if not act.size:
            continue
        sub = cur.take(act)
        j = clips[act, r]
        c = cls[act]
        lc, le = _diff_line(F, EF, rows[act], c, j)
        lid = n_hidden + c * n + j
        owner = sub.owner()
        sigma, unsure = vertex_signs(lc[owner], le[owner], sub.h, sub.eh)
        if unsure.any():
            prv = sub.prv()
            for v in np.flatnonzero(unsure):
                q = owner[v]
                sigma[v] = exact.vertex_sign(patterns[rows[act[q]]], sub.el[prv[v]], sub.el[v], lid[q])
        starts = sub.off[:-1]
        smax = np.maximum.reduceat(sigma, starts)
        smin = np.minimum.reduceat(sigma, starts)
        empty = (smax < 0) | ((smax == 0) & (smin < 0)) | ((smax == 0) & (smin == 0) & (j < c))
        alive[act[empty]] = False
        cut = np.flatnonzero((smax > 0) & (smin < 0))
        if cut.size:
            v_idx = np.flatnonzero(np.isin(owner, cut))
            piece = sub.take(cut)

            def orient(rows_, la, lb, cut=cut, act=act):
                return np.array([exact.orientation(patterns[rows[act[cut[q]]]], a, b)
                                 for q, a, b in zip(rows_, la, lb)], np.int8)

            pos, _ = split_polys(piece, sigma[v_idx], lc[cut], le[cut], lid[cut], np.full(cut.size, -1), orient)
            order = np.arange(cur.n)                 # cell i stays task i: cut cells -> their positive parts
            order[act[cut]] = cur.n + np.arange(cut.size)
            cur = Polys.concat([cur, pos]).take(order)
    live = np.flatnonzero(alive)
    return cur.take(live), rows[live], cls[live]


def _inside_segments(cells: Polys, cls, n_hidden: int, n: int) -> np.ndarray:
    """Cell edges on lines ``f_c = f_j`` with ``c < j`` (each boundary piece inside a region once)."""
    el = cells.el
    dec = el >= n_hidden
    c, j = np.divmod(np.where(dec, el - n_hidden, 0), n)
    pick = np.flatnonzero(dec & (c < j))
    xy = cells.xy
    return np.stack([xy[pick], xy[cells.nxt()[pick]]], axis=1)


def _tied_edges(cells: Polys, rows, cls, patterns, F, EF, exact, n_hidden: int) -> np.ndarray:
    """Cell edges on region boundaries (side +1 of their split) along which the cell's class ties with
    another class exactly: ``(e,)`` vertex indices of the edges' first ends."""
    owner = cells.owner()
    nxt = cells.nxt()
    e = np.flatnonzero((cells.chord >= 0) & (cells.side > 0))
    if not e.size:
        return e
    n = F.shape[2]
    p, c = rows[owner[e]], cls[owner[e]]
    ends = []
    for v in (e, nxt[e]):
        val, bound = _vertex_logits(cells.h[v][:, None, :], cells.eh[v][:, None, :], F[p], EF[p])
        val, bound = val[:, 0], bound[:, 0]
        k = np.arange(len(e))
        g = val[k, c][:, None] - val
        gb = (bound[k, c][:, None] + bound + U * np.abs(g)) * INFLATE
        ends.append(np.abs(g) <= gb)
    maybe = ends[0] & ends[1]
    maybe[np.arange(len(e)), c] = False
    out = []
    prv = cells.prv()
    for q, jj in zip(*np.nonzero(maybe)):
        v = e[q]
        pattern, lid = patterns[p[q]], n_hidden + c[q] * n + jj
        if all(exact.vertex_sign(pattern, cells.el[prv[w]], cells.el[w], lid) == 0 for w in (v, nxt[v])):
            out.append(v)
    return np.unique(np.asarray(out, np.int64))


def _across_segments(cells: Polys, cls, tied: np.ndarray) -> np.ndarray:
    """Pieces of the tied edges ``tied`` where the cell on the other side of the split has another class."""
    if not tied.size:
        return np.zeros((0, 2, 2))
    owner, nxt, xy = cells.owner(), cells.nxt(), cells.xy
    other = np.flatnonzero((cells.chord >= 0) & (cells.side < 0))
    order = np.argsort(cells.chord[other], kind="stable")
    other, keys = other[order], cells.chord[other[order]]
    segs = []
    for v in tied:
        a, b = xy[v], xy[nxt[v]]
        d = b - a
        lo, hi = np.searchsorted(keys, cells.chord[v], "left"), np.searchsorted(keys, cells.chord[v], "right")
        for w in other[lo:hi]:
            if cls[owner[w]] == cls[owner[v]]:
                continue
            t = (np.stack([xy[w], xy[nxt[w]]]) - a) @ d / (d @ d)
            t0, t1 = max(0.0, t.min()), min(1.0, t.max())
            if t1 > t0:
                segs.append([a + t0 * d, a + t1 * d])
    return np.asarray(segs, np.float64).reshape(-1, 2, 2)


def decision_boundary(cells: Polys, rows, cls, patterns, F, EF, exact, n_hidden: int) -> np.ndarray:
    """The decision boundary as segments ``(m, 2, 2)`` (endpoints ``(s, t)``)."""
    inside = _inside_segments(cells, cls, n_hidden, F.shape[2])
    tied = _tied_edges(cells, rows, cls, patterns, F, EF, exact, n_hidden)
    return np.concatenate([inside, _across_segments(cells, cls, tied)], axis=0)
