"""Ray families of the experiments, as index arrays into a training set (built lazily, block by block,
because 99,000 rays of 784 float64 values would take 600 MB)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

RayBlock = Callable[[int, int], tuple[np.ndarray, np.ndarray]]


def same_label_pairs(y: np.ndarray, n_pairs: int | None = None, rng: np.random.Generator | None = None, *,
                     ordered: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    """Pairs ``(i, j)``, ``i != j``, with ``y[i] == y[j]``.

    ``ordered=True``: ordered pairs, ``(i, j)`` and ``(j, i)`` both (10 classes of 100 give
    ``n_total = 10 * 100 * 99 = 99,000``). ``ordered=False``: each unordered pair once (``n_total =
    49,500``), oriented at random with ``rng`` (``i < j`` without one): the rays ``x_i + t (x_j - x_i)`` and
    ``x_j + t (x_i - x_j)`` lie on the same line, so counting both would count one line twice.

    Returns ``(I, J, n_total)``: all such pairs (grouped by label) when ``n_pairs`` is ``None`` or at least
    ``n_total``, else ``n_pairs`` of them drawn uniformly without replacement with ``rng`` (kept in the
    same order).
    """
    y = np.asarray(y)
    I_parts, J_parts = [], []
    for c in np.unique(y):
        m = np.flatnonzero(y == c)
        i, j = np.repeat(m, len(m)), np.tile(m, len(m))
        keep = i != j if ordered else i < j
        I_parts.append(i[keep])
        J_parts.append(j[keep])
    I = np.concatenate(I_parts) if I_parts else np.zeros(0, np.int64)
    J = np.concatenate(J_parts) if J_parts else np.zeros(0, np.int64)
    n_total = len(I)
    if n_pairs is not None and n_pairs < n_total:
        if rng is None:
            raise ValueError("subsampling pairs needs an rng")
        sel = np.sort(rng.choice(n_total, size=n_pairs, replace=False))
        I, J = I[sel], J[sel]
    if not ordered and rng is not None and len(I):
        flip = rng.random(len(I)) < 0.5
        I, J = np.where(flip, J, I), np.where(flip, I, J)
    return I, J, n_total


def pair_rays(X: np.ndarray, I: np.ndarray, J: np.ndarray) -> RayBlock:
    """Rays ``x = X[I[k]]``, ``d = X[J[k]] - X[I[k]]`` (``t = 1`` reaches the partner), float64."""

    def block(start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        x = X[I[start:stop]].astype(np.float64)
        return x, X[J[start:stop]].astype(np.float64) - x

    return block


def random_triangles(members: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, 3)`` triangles: each row three distinct entries of ``members``, drawn uniformly."""
    members = np.asarray(members)
    if len(members) < 3:
        raise ValueError(f"a triangle needs 3 distinct samples, the class has {len(members)}")
    pick = np.argsort(rng.random((n, len(members))), axis=1)[:, :3]
    return members[pick]


def midline_rays(X: np.ndarray, triangles: np.ndarray) -> RayBlock:
    """The three mid-lines of each triangle, as rays (``3 * len(triangles)`` of them).

    For a triangle with vertices ``(a, b, c)`` and each vertex ``v`` in turn with the other two ``u, w``
    (in the order ``(a; b, c)``, ``(b; c, a)``, ``(c; a, b)``), the mid-line runs from the midpoint of
    side ``vu`` to the midpoint of side ``vw``: ``x = (v + u) / 2``, ``d = (v + w) / 2 - x = (w - u) / 2``,
    so ``t = 0`` and ``t = 1`` are the two midpoints and the line is parallel to the side ``uw`` opposite
    ``v``. Ray ``3 k + r`` belongs to triangle ``k``, vertex ``r``.
    """
    T = np.asarray(triangles)
    v = T.reshape(-1)
    u = np.roll(T, -1, axis=1).reshape(-1)
    w = np.roll(T, -2, axis=1).reshape(-1)

    def block(start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        Xv, Xu, Xw = (X[k[start:stop]].astype(np.float64) for k in (v, u, w))
        return (Xv + Xu) / 2, (Xw - Xu) / 2

    return block


def fixed_rays(xs: np.ndarray, ds: np.ndarray) -> RayBlock:
    """Rays given as arrays ``xs``, ``ds`` ``(B, n_0)``."""
    xs, ds = np.asarray(xs, np.float64), np.asarray(ds, np.float64)
    if xs.shape != ds.shape:
        raise ValueError(f"xs and ds must have the same shape, got {xs.shape} and {ds.shape}")
    return lambda start, stop: (xs[start:stop], ds[start:stop])
