"""Matrix inf-norms of the activation-masked layers and of local linear maps (the paper's appendix).

Orientation. Layers are ``(in, out)`` matrices acting on row vectors, ``y -> y @ M``. The inf-norm of
that map (``max ||y @ M||_inf`` over ``||y||_inf <= 1``) is the largest absolute COLUMN sum of ``M``,
``max_j sum_i |M_ij|`` = ``numpy.linalg.norm(M.T, np.inf)``; it is the paper's "maximum absolute row sum"
of the same matrix written for ``y = M x``.

Quantities (``W~_l`` = ``W_l`` with the columns of the units inactive at ``x`` zeroed; the last layer is
unmasked; ``A(x) = W~_1 @ ... @ W~_{L-1} @ W_L`` the local linear map, ``f(y) = y @ A + c`` on ``x``'s
region):

* per layer ``||W~_l(x)||_inf <= ||W_l||_inf`` always (zeroing columns can only drop column sums);
* ``||A(x)||_inf`` vs ``||W_1 @ W_2 @ ... @ W_L||_inf`` (the raw product, no ReLU): no inequality holds
  in general; the paper assumes the two are "of the same magnitude" for 99% of inputs;
* along a segment ``x0 + t d``, ``t`` in ``[0, 1]``, crossing linear pieces ``i`` of lengths ``dt_i``:
  ``|f_k(x(t)) - f_k(x0)| <= sum_i ||A_i||_inf |dt_i| ||d||_inf`` for every logit ``k`` and ``t``.

The functions of one example (``inf_norm``, ``product_matrix``, ``masked_product``, ``pattern_norms``,
``point_norms``, ``segment_trace``) are pure and jit/vmap-able; the drivers ``norms_at_points`` and
``segment_norms`` batch them (float64, fixed-size jitted chunks).

Other models. ``point_norms``, ``norms_at_points`` and ``segment_norms`` also take a JAX callable
``f(x) -> logits`` (one unbatched example of any shape) or a traced program, like the other public
routines. A dense ReLU chain is read as its ``(W, b)`` list: the same numbers, bit for bit. For any other
model (convolutions, pooling, residual sums ...) only ``||A(x)||_inf`` has a meaning: ``A(x)`` is the
local affine map of :func:`relu_regions.local_linear_map` taken as an ``(n_in, n_out)`` matrix (input
and logits flattened), and the segment bound holds with it unchanged. The per-layer ``||W~_l||`` and the
raw product ``W_1 ... W_L`` need a dense layer list: the results are :class:`ProgramPointNorms`, whose
``layer_tilde``, ``layer_raw``, ``product`` (and ratios) raise ``TypeError`` saying so, and the
functions of layers (``pattern_norms``, ``product_matrix``, ``masked_product``, ``segment_trace``,
``piece_norms``) raise ``TypeError`` for such models.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from tqdm.auto import tqdm

from relu_regions._chunks import map_in_chunks
from relu_regions._float64 import _traced
from relu_regions._model import program_layers, resolve
from relu_regions._network import cast_params
from relu_regions._pieces import PieceCapacityError, _join, certified_pieces
from relu_regions._program_api import (_points, program_local_map, program_map_norms, program_piece_norms,
                                       program_segment_sides)
from relu_regions._regions import activation_pattern
from relu_regions._trace import Program
from relu_regions._validate import check_params, check_points, check_positive_int
from relu_regions._walk import first_layer, walk_regions

INF_NORM_CONVENTION = (
    "||M||_inf is the inf-norm of the map y -> y @ M for an (in, out) matrix M: the largest absolute "
    "column sum max_j sum_i |M_ij| (= numpy.linalg.norm(M.T, inf); the paper's maximum absolute row sum "
    "in its y = M x orientation)")

ASSUMPTION_FACTOR = 10.0
""""Same magnitude" in the norm distribution assumption: a ratio within ``[1/10, 10]``."""

ASSUMPTION_LEVEL = 0.99
"""The share of inputs the paper's norm distribution assumption speaks of."""

ASSUMPTION_STATEMENT = (
    f"at least {ASSUMPTION_LEVEL:.0%} of inputs x satisfy 1/{ASSUMPTION_FACTOR:g} <= "
    f"||A(x)||_inf / ||W_1 W_2 ... W_L||_inf <= {ASSUMPTION_FACTOR:g} (same order of magnitude)")


def norm_assumption(ratios) -> tuple[bool, float]:
    """``(holds, fraction)`` of :data:`ASSUMPTION_STATEMENT` on ratios ``||A(x)||_inf / ||W_1...W_L||_inf``
    ``(n,)`` over inputs: the fraction within ``[1/ASSUMPTION_FACTOR, ASSUMPTION_FACTOR]`` and whether it is
    at least ``ASSUMPTION_LEVEL``. Raises ``ValueError`` for no ratios."""
    r = np.asarray(ratios, dtype=np.float64).reshape(-1)
    if r.size == 0:
        raise ValueError("norm_assumption: no ratios given")
    frac = float(np.mean((r >= 1 / ASSUMPTION_FACTOR) & (r <= ASSUMPTION_FACTOR)))
    return frac >= ASSUMPTION_LEVEL, frac


class NormCheckError(AssertionError):
    """A norm inequality that holds mathematically failed on computed numbers: a bug, never data."""


class SegmentBoundViolation(NormCheckError):
    """The exact largest logit change along a segment exceeds ``sum_i ||A_i||_inf |dt_i| ||d||_inf``."""

    def __init__(self, segment: int, actual: float, bound: float, n_violations: int):
        self.segment, self.actual, self.bound, self.n_violations = segment, actual, bound, n_violations
        super().__init__(
            f"segment bound violated on {n_violations} segment(s); first: segment {segment}: largest logit "
            f"change max_t,k |f_k(x(t)) - f_k(x0)| = {actual:.17g} > bound sum_i ||A_i||_inf |dt_i| "
            f"||d||_inf = {bound:.17g} (ratio {actual / bound if bound else float('inf'):.17g}); "
            f"{INF_NORM_CONVENTION}")


# ---------------------------------------------------------------- models other than (W, b) lists

_NO_LAYERS = ("need a dense (W, b) layer list, and a model that is not a dense ReLU chain (convolutions, "
              "pooling, residual sums ...) has no such layers; for it only ||A(x)||_inf of the local affine "
              "map is defined (the `composed` field of point_norms, norms_at_points and segment_norms)")


def _is_model(params) -> bool:
    return isinstance(params, Program) or callable(params)


def _dense_layers(params, routine: str):
    """``params`` itself, or an MLP program's ``(W, b)`` list; ``TypeError`` naming ``routine`` for a
    program that is not one, and for a callable (no input here to trace it on)."""
    if isinstance(params, Program):
        net = program_layers(params)
        if net is None:
            raise TypeError(f"{routine}: per-layer norms and the product W_1 ... W_L {_NO_LAYERS}")
        return net
    if callable(params):
        raise TypeError(f"{routine}: takes a (W, b) layer list, not a callable (it has no input here to trace "
                        "the callable on): pass the list, a relu_regions.trace program of a dense ReLU chain, "
                        "or use point_norms / norms_at_points / segment_norms, which take callables")
    return params


def _no_layers(name: str):
    raise TypeError(f"ProgramPointNorms.{name}: ||W~_l||_inf, ||W_l||_inf and ||W_1 ... W_L||_inf {_NO_LAYERS}")


# ---------------------------------------------------------------- pure functions of one example


def inf_norm(M: Array) -> Array:
    """``||M||_inf`` of ``y -> y @ M`` for ``M`` ``(in, out)``: ``max_j sum_i |M_ij|`` (largest absolute
    column sum, ``numpy.linalg.norm(M.T, inf)``)."""
    if _is_model(M):
        raise TypeError(f"inf_norm: takes a matrix (in, out), got a model ({type(M).__name__}); for a model's "
                        "local map at x use point_norms(model, x).composed, or inf_norm of "
                        "local_linear_map(model, x)[0] reshaped to (n_in, n_out)")
    return jnp.max(jnp.sum(jnp.abs(M), axis=0))


def product_matrix(params) -> Array:
    """The raw product ``W_1 @ W_2 @ ... @ W_L`` ``(n_0, n_L)`` (the network without ReLUs), multiplied
    right to left."""
    params = _dense_layers(params, "product_matrix")
    R = params[-1][0]
    for W, _ in reversed(params[:-1]):
        R = W @ R
    return R


def masked_product(params, masks) -> Array:
    """``A = W~_1 @ ... @ W~_{L-1} @ W_L`` ``(n_0, n_L)`` for hidden-layer masks ``(n_l,)`` bool, with
    ``W~_l = W_l`` times ``diag(mask_l)`` (inactive columns zeroed), multiplied right to left:
    ``W~_l @ R = W_l @ (mask_l[:, None] * R)``, so every product has only ``n_L`` columns."""
    params = _dense_layers(params, "masked_product")
    R = params[-1][0]
    for (W, _), m in zip(reversed(params[:-1]), reversed(list(masks))):
        R = W @ jnp.where(m[:, None], R, 0)
    return R


class PointNorms(NamedTuple):
    """Norms at one input (leading batch axes when batched); ``||.||_inf`` as in :data:`INF_NORM_CONVENTION`.

    layer_tilde: ``(L,)`` ``||W~_l(x)||_inf`` (last layer unmasked). layer_raw: ``(L,)`` ``||W_l||_inf``.
    composed: ``||A(x)||_inf`` of the local linear map. product: ``||W_1 ... W_L||_inf``.
    """

    layer_tilde: Array
    layer_raw: Array
    composed: Array
    product: Array

    @property
    def layer_ratio(self):
        """``||W~_l(x)||_inf / ||W_l||_inf``, ``(..., L)``; at most 1."""
        return self.layer_tilde / self.layer_raw

    @property
    def composed_ratio(self):
        """``||A(x)||_inf / ||W_1 ... W_L||_inf``, ``(...)``; no bound holds in general."""
        return self.composed / self.product


class ProgramPointNorms(PointNorms):
    """:class:`PointNorms` of a model that is not a dense ReLU chain (a traced program: convolutions,
    pooling ...): ``composed`` is ``||A(x)||_inf`` of its local affine map (input and logits flattened);
    ``layer_tilde``, ``layer_raw``, ``product`` and the ratios raise ``TypeError`` (they need a dense
    layer list; the tuple holds ``None`` there)."""

    __slots__ = ()
    layer_tilde = property(lambda self: _no_layers("layer_tilde"))
    layer_raw = property(lambda self: _no_layers("layer_raw"))
    product = property(lambda self: _no_layers("product"))


def _program_norms(composed) -> ProgramPointNorms:
    return ProgramPointNorms(None, None, composed, None)


def pattern_norms(params, masks) -> PointNorms:
    """:class:`PointNorms` of the region with hidden-layer masks ``masks`` (list of ``(n_l,)`` bool)."""
    params = _dense_layers(params, "pattern_norms")
    masks = list(masks)
    # ||W~_l||_inf is the largest column sum of W_l over the active units: the same sums as ||W_l||_inf
    # uses, so the inequality holds exactly in floating point too.
    colsums = [jnp.sum(jnp.abs(W), axis=0) for W, _ in params]
    tilde = [jnp.max(jnp.where(m, c, 0)) for c, m in zip(colsums, masks)] + [jnp.max(colsums[-1])]
    raw = [jnp.max(c) for c in colsums]
    return PointNorms(jnp.stack(tilde), jnp.stack(raw), inf_norm(masked_product(params, masks)),
                      inf_norm(product_matrix(params)))


def point_norms(params, x: Array) -> PointNorms:
    """:class:`PointNorms` at ``x`` ``(n_0,)`` (its activation pattern decides the masks).

    ``params`` may also be a JAX callable or a traced program (``x`` of its input shape): a dense ReLU
    chain gives the numbers of its ``(W, b)`` list, bit for bit; any other model a
    :class:`ProgramPointNorms` with ``composed = ||A(x)||_inf`` (float64, the certified pattern; concrete
    ``x`` only)."""
    if _is_model(params):
        with jax.ensure_compile_time_eval():            # under the caller's jit: trace f on its own
            prog, net = resolve(params, np.zeros(np.shape(x)), batched=False)
        if net is None:
            if _traced(x):
                raise TypeError("point_norms: the local map of a traced program (not a dense ReLU chain) is "
                                "computed from its certified pattern on concrete inputs; call it outside "
                                "jit/vmap, or use norms_at_points for a batch")
            A, _ = program_local_map(prog, _points(prog, x, "x", False))
            flat = np.abs(A).reshape(int(np.prod(prog.in_shape, dtype=np.int64)), -1)
            return _program_norms(np.asarray(flat.sum(axis=0).max()))
        params = net
    if _traced((params, x)):                            # inside the caller's jit/vmap: its dtype
        return pattern_norms(params, activation_pattern(params, x))
    net = check_params(params)
    with jax.enable_x64(True):                          # concrete: float64 whatever the global flag
        p64 = cast_params(net, jnp.float64)
        return jax.tree.map(np.asarray, pattern_norms(p64, activation_pattern(p64, x)))


def split_pattern(params, pattern: Array) -> list[Array]:
    """Split a concatenated hidden pattern ``(n_hidden,)`` into per-layer masks."""
    params = _dense_layers(params, "split_pattern")
    widths = [W.shape[1] for W, _ in params[:-1]]
    return list(jnp.split(pattern, np.cumsum(widths)[:-1])) if widths else []


class SegmentTrace(NamedTuple):
    """The linear pieces of ``x0 + t (x1 - x0)``, ``t`` in ``[0, 1]``, in buffers of ``capacity`` rows.

    dt: ``(capacity,)`` piece lengths in ``t`` (0 past ``count``). patterns: ``(capacity, n_hidden)``.
    mid_t: ``(capacity,)`` piece midpoints. count: pieces filled. complete: False if more remained.
    max_change: ``(n_L,)`` exact ``max_t |f_k(x(t)) - f_k(x0)|`` (at the breakpoints and ``t = 1``).
    f0: ``(n_L,)`` the logits ``f(x0)``.
    """

    dt: Array
    patterns: Array
    mid_t: Array
    count: Array
    complete: Array
    max_change: Array
    f0: Array
    cert: Array


def segment_trace(params, x0: Array, x1: Array, capacity: int) -> SegmentTrace:
    """Walk the segment ``x0 -> x1`` (``(n_0,)`` each) with the exact region walker."""
    params = _dense_layers(params, "segment_trace")
    T = jnp.ones((), x0.dtype)
    tr = walk_regions(params, first_layer(params, x0, x1 - x0), T, capacity)
    rows = jnp.arange(capacity)
    valid = rows < tr.count
    nxt = jnp.concatenate([tr.starts[1:], T[None]])
    ends = jnp.where(rows == tr.count - 1, T, nxt)
    dt = jnp.where(valid, ends - tr.starts, 0)
    last = tr.count - 1
    f_end = tr.f[last] + (T - tr.starts[last]) * tr.g[last]
    change = jnp.where(valid[:, None], jnp.abs(tr.f - tr.f[0]), 0)
    max_change = jnp.maximum(jnp.max(change, axis=0), jnp.abs(f_end - tr.f[0]))
    return SegmentTrace(dt, tr.patterns, tr.starts + dt / 2, tr.count, tr.complete, max_change, tr.f[0],
                        tr.cert)


def _resolve_uncertified(net, tr: SegmentTrace, x0s: np.ndarray, x1s: np.ndarray, n: int) -> SegmentTrace:
    """``tr`` (numpy, first ``n`` rows real) with the segments whose float walk could not certify its
    pieces replaced by those of ``linear_pieces`` (certified, or the exact partition), which starts at its
    compensated walk: the plain one is what just failed."""
    bad = np.flatnonzero(~np.asarray(tr.cert[:n]))
    if not len(bad):
        return tr
    tr = SegmentTrace(*(np.array(v) for v in tr))  # writable copies
    for i in bad:
        p = certified_pieces(net, x0s[i], x1s[i] - x0s[i], 0.0, 1.0, tr.dt.shape[1], plain=False)
        k = p.n_pieces
        dt = np.diff(p.breakpoints)
        tr.dt[i] = 0
        tr.dt[i, :k], tr.patterns[i, :k], tr.mid_t[i, :k] = dt, p.patterns, p.breakpoints[:-1] + dt / 2
        tr.count[i], tr.f0[i], tr.cert[i] = k, p.logits[0], True
        tr.max_change[i] = np.abs(p.logits - p.logits[0]).max(axis=0)
    return tr


def piece_norms(params, pattern: Array, x_mid: Array) -> tuple[PointNorms, Array]:
    """Norms of the piece with concatenated hidden ``pattern`` and whether its midpoint ``x_mid`` has
    that activation pattern (a rounding check: in exact arithmetic it always does)."""
    params = _dense_layers(params, "piece_norms")
    own = activation_pattern(params, x_mid)
    agrees = jnp.all(jnp.concatenate(own) == pattern) if own else jnp.bool_(True)
    return pattern_norms(params, split_pattern(params, pattern)), agrees


# ---------------------------------------------------------------- batched drivers

@jax.jit
def _points_kernel(params, xs):
    return jax.vmap(point_norms, in_axes=(None, 0))(params, xs)


@partial(jax.jit, static_argnames="capacity")
def _segments_kernel(params, x0s, x1s, capacity):
    return jax.vmap(segment_trace, in_axes=(None, 0, 0, None))(params, x0s, x1s, capacity)


@jax.jit
def _pieces_kernel(params, x0s, ds, patterns, seg, mid_t):
    # map_in_chunks passes float64 arrays: patterns as 0/1 and segment indices as whole numbers.
    seg = seg.astype(jnp.int32)
    x_mid = x0s[seg] + mid_t[:, None] * ds[seg]
    return jax.vmap(piece_norms, in_axes=(None, 0, 0))(params, patterns > 0.5, x_mid)


def _pad_to_bucket(a: np.ndarray, batch_size: int) -> np.ndarray:
    """Zero-pad fewer than ``batch_size`` rows to a power of two (at least 64), so that chunk shapes, hence
    compilations, are few; ``map_in_chunks`` pads longer inputs to whole chunks itself."""
    n = len(a)
    rows = max(n, min(batch_size, 1 << max(6, (n - 1).bit_length())))
    return np.pad(a, ((0, rows - n),) + ((0, 0),) * (a.ndim - 1))


def _check_layers(norms: PointNorms, what: str) -> None:
    bad = norms.layer_tilde > norms.layer_raw
    if bad.any():
        i, l = np.argwhere(bad)[0]
        raise NormCheckError(f"{what} {i}, layer {l + 1}: ||W~_l||_inf = {norms.layer_tilde[i, l]!r} > "
                             f"||W_l||_inf = {norms.layer_raw[i, l]!r} ({INF_NORM_CONVENTION})")


def norms_at_points(params, X, *, batch_size: int = 1024, progress: bool = False) -> PointNorms:
    """:class:`PointNorms` at every row of ``X`` ``(B, n_0)``, in float64, as numpy arrays (``(B, L)``
    and ``(B,)``): one jitted ``vmap`` of :func:`point_norms` per chunk of ``batch_size`` rows.

    Raises :class:`NormCheckError` if some ``||W~_l(x)||_inf > ||W_l||_inf`` (impossible but checked).

    ``params`` may also be a JAX callable or a traced program (``X``: ``(B,) + input shape``): a dense
    ReLU chain gives its list's numbers, bit for bit; any other model a :class:`ProgramPointNorms` with
    ``composed`` ``(B,)`` only (local maps in batches of at most ``batch_size`` and 16 points: each map
    takes one program walk per input coordinate). ``RuntimeError`` where a point lies within rounding
    error of a switch (its pattern, hence its map, cannot be certified).
    """
    if _is_model(params):
        prog, net = resolve(params, X, batched=True)
        if net is None:
            composed = program_map_norms(prog, X, batch_size=check_positive_int(batch_size, "batch_size"),
                                         progress=progress)
            return _program_norms(composed)
        params = net
    net = check_params(params)
    X = check_points(X, net[0][0].shape[0], "X", batched=True)
    batch_size = check_positive_int(batch_size, "batch_size")
    n = len(X)
    if n == 0:
        empty = np.zeros((0, len(net)))
        return PointNorms(empty, empty.copy(), np.zeros(0), np.zeros(0))
    with jax.enable_x64(True):
        p64 = cast_params(net, jnp.float64)
        out = map_in_chunks(lambda xs: _points_kernel(p64, xs), [_pad_to_bucket(X, batch_size)], batch_size,
                            np.float64, progress, desc="norms at points")
    out = PointNorms(*(np.asarray(a)[:n] for a in out))
    _check_layers(out, "point")
    return out


class SegmentNorms(NamedTuple):
    """Norms over the exact linear pieces of ``S`` segments ``x0 -> x1`` (``P`` pieces in all).

    n_pieces ``(S,)``; max_change ``(S, n_L)`` exact ``max_t |f_k(x(t)) - f_k(x0)|``; bound ``(S,)``
    ``sum_i ||A_i||_inf |dt_i| ||d||_inf``; d_inf ``(S,)`` ``||x1 - x0||_inf``; piece_segment ``(P,)``,
    piece_dt ``(P,)`` (lengths in ``t``); pieces: :class:`PointNorms` of each piece (``(P, L)``, ``(P,)``)
    from the piece's activation pattern; midpoint_agrees ``(P,)``: the piece's midpoint has that pattern.
    """

    n_pieces: np.ndarray
    max_change: np.ndarray
    bound: np.ndarray
    d_inf: np.ndarray
    piece_segment: np.ndarray
    piece_dt: np.ndarray
    pieces: PointNorms
    midpoint_agrees: np.ndarray

    @property
    def tightness(self) -> np.ndarray:
        """``bound / max_k max_change_k`` per segment (``inf`` where nothing changes); at least 1."""
        actual = self.max_change.max(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(actual > 0, self.bound / np.where(actual > 0, actual, 1), np.inf)


def check_segment_bounds(max_change, bound, logit_scale, *, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    """Raise :class:`SegmentBoundViolation` where ``max_k max_change[s, k] > bound[s] * (1 + rtol) +
    atol * logit_scale[s]`` (``max_change`` ``(S, n_L)``, ``bound`` and ``logit_scale`` ``(S,)``; the
    absolute term absorbs rounding of logits of size ``logit_scale``)."""
    actual = np.asarray(max_change).max(axis=1)
    bound = np.asarray(bound)
    bad = np.flatnonzero(actual > bound * (1 + rtol) + atol * np.asarray(logit_scale))
    if bad.size:
        s = int(bad[0])
        raise SegmentBoundViolation(s, float(actual[s]), float(bound[s]), int(bad.size))


def segment_norms(params, x0s, x1s, *, capacity: int = 1024, max_capacity: int = 65536,
                  batch_size: int = 64, piece_batch: int = 1024, rtol: float = 1e-9,
                  progress: bool = False) -> SegmentNorms:
    """Walk every segment ``x0s[s] -> x1s[s]`` (``(S, n_0)`` each) exactly and check the segment bound.

    Per chunk of ``batch_size`` segments: one jitted vmapped walk (room for ``capacity`` pieces per
    segment, raised 4x up to ``max_capacity`` when needed, else :class:`PieceCapacityError`), then one
    jitted vmapped :func:`piece_norms` per ``piece_batch`` pieces. Raises :class:`SegmentBoundViolation`
    (a bug) when some logit changes more than ``sum_i ||A_i||_inf |dt_i| ||d||_inf`` allows (relative
    tolerance ``rtol`` plus ``1e-12`` times the segment's largest logit at ``x0``), and
    :class:`NormCheckError` if some ``||W~_l||_inf > ||W_l||_inf``.

    ``params`` may also be a JAX callable or a traced program (``x0s, x1s``: ``(S,) + input shape``): a
    dense ReLU chain gives its list's numbers, bit for bit; for any other model the pieces come from the
    certified program walker (``RuntimeError`` where float64 cannot certify a segment's partition: no
    exact fallback for programs yet), ``pieces`` is a :class:`ProgramPointNorms` (``composed`` only),
    ``max_change`` is over the flattened logits and ``d_inf`` over all input elements; ``batch_size``
    segments share a compiled walk and ``piece_batch`` (at most 16) pieces a batch of local maps.
    """
    if _is_model(params):
        prog, net = resolve(params, x0s, batched=True)
        if net is None:
            return _program_segment_norms(prog, x0s, x1s, capacity=capacity, max_capacity=max_capacity,
                                          batch_size=batch_size, piece_batch=piece_batch, rtol=rtol,
                                          progress=progress)
        params = net
    net = check_params(params)
    n_in = net[0][0].shape[0]
    x0s = check_points(x0s, n_in, "x0s", batched=True).astype(np.float64)
    x1s = check_points(x1s, n_in, "x1s", batched=True).astype(np.float64)
    S, capacity, batch_size, piece_batch = _segment_args(x0s, x1s, capacity, batch_size, piece_batch)
    n_pieces, max_change, f0_scale = np.zeros(S, np.int64), np.zeros((S, net[-1][0].shape[1])), np.zeros(S)
    seg_parts, dt_parts, norm_parts, agree_parts = [], [], [], []
    with jax.enable_x64(True):
        p64 = cast_params(net, jnp.float64)
        chunk = min(batch_size, S)
        for start in tqdm(range(0, S, chunk), disable=not progress, desc="segments", unit="chunk"):
            stop = min(start + chunk, S)
            pad = ((0, chunk - (stop - start)), (0, 0))
            a, b = np.pad(x0s[start:stop], pad), np.pad(x1s[start:stop], pad)
            while True:
                tr = jax.device_get(_segments_kernel(p64, a, b, capacity))
                if tr.complete[: stop - start].all():
                    break
                if capacity * 4 > max_capacity:
                    raise PieceCapacityError(f"a segment has more than {capacity} linear pieces; pass a "
                                             "larger max_capacity")
                capacity *= 4
            n = stop - start
            tr = _resolve_uncertified(net, tr, a, b, n)
            counts = tr.count[:n].astype(np.int64)
            n_pieces[start:stop] = counts
            max_change[start:stop] = tr.max_change[:n]
            f0_scale[start:stop] = np.abs(tr.f0[:n]).max(axis=1)
            keep = np.arange(tr.dt.shape[1])[None, :] < counts[:, None]
            seg_local = np.broadcast_to(np.arange(n)[:, None], keep.shape)[keep]
            patterns, mid_t, dt = tr.patterns[:n][keep], tr.mid_t[:n][keep], tr.dt[:n][keep]
            ds = b - a
            rows = len(dt)
            norms, agrees = map_in_chunks(lambda pat, sl, mt: _pieces_kernel(p64, a, ds, pat, sl, mt),
                                          [_pad_to_bucket(v, piece_batch) for v in (patterns, seg_local, mid_t)],
                                          piece_batch, np.float64)
            norms, agrees = jax.tree.map(lambda v: np.asarray(v)[:rows], (norms, agrees))
            seg_parts.append(seg_local + start)
            dt_parts.append(dt)
            norm_parts.append(PointNorms(*norms))
            agree_parts.append(agrees)
    pieces = PointNorms(*(np.concatenate(v) for v in zip(*norm_parts)))
    _check_layers(pieces, "piece")
    piece_segment, piece_dt = np.concatenate(seg_parts), np.concatenate(dt_parts)
    d_inf = np.abs(x1s - x0s).max(axis=1)
    bound = np.bincount(piece_segment, weights=pieces.composed * np.abs(piece_dt), minlength=S) * d_inf
    check_segment_bounds(max_change, bound, f0_scale, rtol=rtol)
    return SegmentNorms(n_pieces, max_change, bound, d_inf, piece_segment, piece_dt, pieces,
                        np.concatenate(agree_parts))


def _segment_args(x0s, x1s, capacity, batch_size, piece_batch) -> tuple[int, int, int, int]:
    """``(S, capacity, batch_size, piece_batch)`` for :func:`segment_norms`, checked: the segments' ends
    of one shape, at least one segment, positive sizes."""
    if x0s.shape != x1s.shape:
        raise ValueError(f"x0s {x0s.shape} and x1s {x1s.shape} must have the same shape")
    sizes = [check_positive_int(v, name) for v, name in
             ((capacity, "capacity"), (batch_size, "batch_size"), (piece_batch, "piece_batch"))]
    if len(x0s) == 0:
        raise ValueError("segment_norms: no segments given")
    return (len(x0s), *sizes)


def _program_segment_norms(prog, x0s, x1s, *, capacity, max_capacity, batch_size, piece_batch, rtol,
                           progress) -> SegmentNorms:
    """:func:`segment_norms` for a traced program that is not a dense ReLU chain."""
    x0s = _points(prog, x0s, "x0s", True)
    x1s = _points(prog, x1s, "x1s", True)
    S, capacity, batch_size, piece_batch = _segment_args(x0s, x1s, capacity, batch_size, piece_batch)
    ds = x1s - x0s
    n_out = int(np.prod(prog.out_shape, dtype=np.int64))
    n_pieces, max_change, f0_scale = np.zeros(S, np.int64), np.zeros((S, n_out)), np.zeros(S)
    seg_parts, dt_parts, mid_parts, pattern_parts = [], [], [], []
    chunk = min(batch_size, S)
    for start in tqdm(range(0, S, chunk), disable=not progress, desc="segments", unit="chunk"):
        n = min(chunk, S - start)
        take = np.concatenate([np.arange(start, start + n), np.full(chunk - n, start)])
        while True:
            sides, complete = program_segment_sides(prog, x0s[take], ds[take], capacity, first=start)
            if complete:
                break
            if capacity * 4 > max_capacity:
                raise PieceCapacityError(f"a segment has more than {capacity} linear pieces; pass a larger "
                                         "max_capacity")
            capacity *= 4
        for i in range(n):
            p = _join(*sides[i], 0.0, 1.0)
            s = start + i
            dt = np.diff(p.breakpoints)
            n_pieces[s] = p.n_pieces
            max_change[s] = np.abs(p.logits - p.logits[0]).max(axis=0)
            f0_scale[s] = np.abs(p.logits[0]).max()
            seg_parts.append(np.full(p.n_pieces, s))
            dt_parts.append(dt)
            mid_parts.append(p.breakpoints[:-1] + dt / 2)
            pattern_parts.append(p.patterns)
    piece_segment, piece_dt = np.concatenate(seg_parts), np.concatenate(dt_parts)
    mid_t = np.concatenate(mid_parts)
    x_mid = x0s[piece_segment] + mid_t.reshape((-1,) + (1,) * len(prog.in_shape)) * ds[piece_segment]
    composed, agrees = program_piece_norms(prog, x_mid, np.concatenate(pattern_parts), batch_size=piece_batch)
    d_inf = np.abs(ds).reshape(S, -1).max(axis=1)
    bound = np.bincount(piece_segment, weights=composed * np.abs(piece_dt), minlength=S) * d_inf
    check_segment_bounds(max_change, bound, f0_scale, rtol=rtol)
    return SegmentNorms(n_pieces, max_change, bound, d_inf, piece_segment, piece_dt, _program_norms(composed),
                        agrees)
