"""relu_regions.from_onnx: ONNX graphs as JAX callables (issue 10, front end).

Models are built with the ``onnx`` package itself; where ``onnxruntime`` is installed the logits are
compared with it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from relu_regions._onnx import OnnxError, from_onnx  # noqa: E402
from relu_regions._trace import TraceError, trace  # noqa: E402


def _model(nodes, inits, in_shape, out_shape, opset=17, name="g"):
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, out_shape)],
        initializer=[numpy_helper.from_array(np.asarray(v, np.float32) if np.asarray(v).dtype.kind == "f"
                                             else np.asarray(v), k) for k, v in inits.items()],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def _ort(model, x):
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": np.asarray(x, np.float32)})[0]


def _mlp_model(rng, sizes, transB=False):
    nodes, inits, h = [], {}, "x"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = rng.normal(size=(a, b)) / np.sqrt(a)
        inits[f"W{i}"] = W.T if transB else W
        inits[f"b{i}"] = rng.normal(size=b) * 0.3
        out = "logits" if i == len(sizes) - 2 else f"z{i}"
        nodes.append(helper.make_node("Gemm", [h, f"W{i}", f"b{i}"], [out], name=f"dense{i}",
                                      transB=int(transB)))
        if out != "logits":
            nodes.append(helper.make_node("Relu", [out], [f"h{i}"], name=f"relu{i}"))
            h = f"h{i}"
    return _model(nodes, inits, ["N", sizes[0]], ["N", sizes[-1]]), inits


@pytest.mark.parametrize("transB", [False, True])
def test_mlp_gemm_relu_is_recognised(transB, tmp_path):
    rng = np.random.default_rng(0)
    m, inits = _mlp_model(rng, [6, 8, 5, 3], transB)
    path = tmp_path / "mlp.onnx"
    onnx.save(m, str(path))
    f = from_onnx(str(path))
    assert f.batch_dim and f.input_shape == (6,)
    x = rng.normal(size=6).astype(np.float32)
    y = np.asarray(f(jnp.asarray(x)))
    assert y.shape == (3,)
    h = x.astype(np.float64)
    for i in range(3):
        W = inits[f"W{i}"].T if transB else inits[f"W{i}"]
        h = h @ W.astype(np.float32).astype(np.float64) + inits[f"b{i}"].astype(np.float32)
        h = np.maximum(h, 0) if i < 2 else h
    np.testing.assert_allclose(y, h, rtol=1e-5, atol=1e-5)
    if _has_ort():
        np.testing.assert_allclose(y, _ort(m, x[None])[0], rtol=1e-5, atol=1e-5)
    with jax.enable_x64(True):
        p = trace(f, np.zeros(6))
        layers = p.as_mlp()
    assert layers is not None and len(layers) == 3
    for i, (W, b) in enumerate(layers):
        W0 = inits[f"W{i}"].T if transB else inits[f"W{i}"]
        np.testing.assert_array_equal(W, W0.astype(np.float32).astype(np.float64))
        np.testing.assert_array_equal(b, inits[f"b{i}"].astype(np.float32).astype(np.float64))


def _has_ort():
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _cnn_model(rng, ceil_mode=0):
    """Conv + BatchNorm + LeakyRelu + MaxPool + residual (Conv, Relu, Add) + AveragePool with padding +
    GlobalAveragePool-free Flatten + Gemm + Clip, NCHW, batch 1."""
    c = 3
    inits = {
        "k1": rng.normal(size=(c, 1, 3, 3)) / 3, "kb1": rng.normal(size=c) * 0.1,
        "scale": rng.normal(size=c), "bias": rng.normal(size=c), "mean": rng.normal(size=c) * 0.1,
        "var": rng.random(c) + 0.5,
        "k2": rng.normal(size=(c, c, 3, 3)) / 5,
        "W": rng.normal(size=(5, c * 2 * 2)) / 3, "b": rng.normal(size=5),
        "lo": np.array(-1.5, np.float32), "hi": np.array(1.5, np.float32),
        "shape": np.array([1, -1], np.int64),
    }
    nodes = [
        helper.make_node("Conv", ["x", "k1", "kb1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "scale", "bias", "mean", "var"], ["bn"], name="bn1",
                         epsilon=1e-5),
        helper.make_node("LeakyRelu", ["bn"], ["lr"], name="lrelu", alpha=0.1),
        helper.make_node("MaxPool", ["lr"], ["mp"], name="pool1", kernel_shape=[2, 2], strides=[2, 2],
                         ceil_mode=ceil_mode),
        helper.make_node("Conv", ["mp", "k2"], ["c2"], name="conv2", auto_pad="SAME_UPPER"),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("Add", ["mp", "r2"], ["res"], name="residual"),
        helper.make_node("AveragePool", ["res"], ["ap"], name="pool2", kernel_shape=[3, 3], strides=[2, 2],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Reshape", ["ap", "shape"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "W", "b"], ["g"], name="fc", transB=1),
        helper.make_node("Clip", ["g", "lo", "hi"], ["logits"], name="hardtanh"),
    ]
    return _model(nodes, inits, [1, 1, 7, 7] if ceil_mode else [1, 1, 8, 8], [1, 5])


@pytest.mark.parametrize("ceil_mode", [0, 1])
def test_cnn_matches_onnxruntime_and_traces(ceil_mode):
    rng = np.random.default_rng(1)
    m = _cnn_model(rng, ceil_mode)
    f = from_onnx(m)
    n = 7 if ceil_mode else 8
    assert f.input_shape == (1, n, n)
    xs = rng.normal(size=(3, 1, n, n)).astype(np.float32)
    ys = np.asarray(jax.jit(jax.vmap(f))(jnp.asarray(xs)))
    assert ys.shape == (3, 5)
    if _has_ort():
        ref = np.concatenate([_ort(m, x[None]) for x in xs])
        np.testing.assert_allclose(ys, ref, rtol=1e-5, atol=1e-5)
    with jax.enable_x64(True):
        p = trace(f, np.zeros((1, n, n)))
        kinds = [sw.kind for sw in p.switches]
        assert kinds == ["cmp", "pool_max", "max", "max", "min"]
        x = jnp.asarray(xs[0], jnp.float64)
        if not ceil_mode:
            np.testing.assert_array_equal(p.evaluate(x), f(x))
        np.testing.assert_allclose(jax.jit(p.evaluate)(x), ys[0], rtol=1e-4, atol=1e-4)
        d = jnp.asarray(rng.normal(size=(1, n, n)))
        a, c = p.along_at(x, d, 0.2)
        np.testing.assert_allclose(a.out, f(x + 0.2 * d), rtol=1e-12, atol=1e-12)
        assert p.as_mlp() is None


def test_shape_gather_concat_flatten_and_misc_ops():
    """PyTorch's ``x.view(x.size(0), -1)`` pattern (Shape, Gather, Unsqueeze, Concat, Reshape), Flatten,
    Transpose, Squeeze, Identity, Constant, Sub/Mul/Div by constants, GlobalAveragePool, Max, Abs."""
    rng = np.random.default_rng(2)
    inits = {"W": rng.normal(size=(8, 4)), "two": np.array(2.0), "idx0": np.array(0, np.int64),
             "axes0": np.array([0], np.int64), "minus1": np.array([-1], np.int64), "k": rng.normal(size=(2, 2, 1, 1))}
    nodes = [
        helper.make_node("Conv", ["x", "k"], ["c"], name="pointwise"),                 # (1, 2, 2, 2)
        helper.make_node("Shape", ["c"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "idx0"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsq"),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], name="cat", axis=0),
        helper.make_node("Reshape", ["c", "target"], ["v"], name="view"),                # (1, 8)
        helper.make_node("Constant", [], ["three"], name="const3",
                         value=numpy_helper.from_array(np.array(3.0, np.float32))),
        helper.make_node("Sub", ["v", "three"], ["v1"], name="sub"),
        helper.make_node("Div", ["v1", "two"], ["v2"], name="div"),
        helper.make_node("Identity", ["v2"], ["v3"], name="id"),
        helper.make_node("MatMul", ["v3", "W"], ["mm"], name="mm"),                       # (1, 4)
        helper.make_node("Abs", ["mm"], ["ab"], name="abs"),
        helper.make_node("Max", ["mm", "ab"], ["mx"], name="max"),
        helper.make_node("Mul", ["mx", "two"], ["mu"], name="mul"),
        helper.make_node("GlobalAveragePool", ["c"], ["gap"], name="gap"),               # (1, 2, 1, 1)
        helper.make_node("Flatten", ["gap"], ["gf"], name="flat"),                         # (1, 2)
        helper.make_node("Transpose", ["gf"], ["gt"], name="tr", perm=[1, 0]),            # (2, 1)
        helper.make_node("Squeeze", ["gt", "axes1"], ["gs"], name="sq"),                  # (2,)
        helper.make_node("Unsqueeze", ["gs", "axes0"], ["gu"], name="unsq2"),             # (1, 2)
        helper.make_node("Concat", ["mu", "gu"], ["logits"], name="cat2", axis=1),        # (1, 6)
    ]
    inits["axes1"] = np.array([1], np.int64)
    m = _model(nodes, inits, [1, 2, 2, 2], [1, 6])
    f = from_onnx(m)
    x = rng.normal(size=(2, 2, 2)).astype(np.float32)
    y = np.asarray(f(jnp.asarray(x)))
    assert y.shape == (6,)
    if _has_ort():
        np.testing.assert_allclose(y, _ort(m, x[None])[0], rtol=1e-5, atol=1e-5)
    with jax.enable_x64(True):
        p = trace(f, np.zeros((2, 2, 2)))
        assert [sw.kind for sw in p.switches] == ["abs", "max"]


def test_unbatched_input_and_batch_dim_override():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(4, 2))
    m = _model([helper.make_node("MatMul", ["x", "W"], ["logits"], name="mm")], {"W": W}, [4], [2])
    f = from_onnx(m)
    assert not f.batch_dim and f.input_shape == (4,)
    x = rng.normal(size=4).astype(np.float32)
    np.testing.assert_allclose(f(x), x @ W.astype(np.float32), rtol=1e-6)
    m2 = _model([helper.make_node("MatMul", ["x", "W"], ["logits"], name="mm")], {"W": W}, [1, 4], [1, 2])
    assert from_onnx(m2).input_shape == (4,)
    assert from_onnx(m2, batch_dim=False).input_shape == (1, 4)
    assert from_onnx(m2.SerializeToString()).batch_dim


def test_unsupported_ops_are_named():
    m = _model([helper.make_node("Gemm", ["x", "W"], ["z"], name="fc"),
                helper.make_node("Softmax", ["z"], ["logits"], name="the_softmax")],
               {"W": np.ones((3, 2))}, [1, 3], [1, 2])
    with pytest.raises(OnnxError, match=r"the_softmax.*'Softmax'.*strip_softmax"):
        from_onnx(m)
    f = from_onnx(m, strip_softmax=True)                   # the logits, same decisions
    assert f.output_name == "z"
    np.testing.assert_allclose(f(np.array([1.0, 2.0, 3.0], np.float32)), [6.0, 6.0])
    assert issubclass(OnnxError, TraceError) and issubclass(OnnxError, ValueError)
    m = _model([helper.make_node("Sigmoid", ["x"], ["logits"], name="sig")], {}, [1, 3], [1, 3])
    with pytest.raises(OnnxError, match="Sigmoid"):
        from_onnx(m)
    # a BatchNormalization exported in training mode
    c = 2
    bn = {"s": np.ones(c), "b": np.zeros(c), "m": np.zeros(c), "v": np.ones(c)}
    m = _model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["logits"], name="bnT",
                                 training_mode=1)], bn, [1, c, 2, 2], [1, c, 2, 2], opset=15)
    with pytest.raises(OnnxError, match="bnT.*training_mode"):
        from_onnx(m)(np.zeros((c, 2, 2), np.float32))
    with pytest.raises(TypeError):
        from_onnx(42)


@pytest.mark.parametrize("variant", ["include_pad", "ceil_avg", "dilated_max", "same_lower"])
def test_pooling_variants_match_onnxruntime(variant):
    pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(5)
    attrs = {
        "include_pad": ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                            count_include_pad=1)),
        "ceil_avg": ("AveragePool", dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)),
        "dilated_max": ("MaxPool", dict(kernel_shape=[2, 2], strides=[1, 1], dilations=[2, 2],
                                        pads=[1, 0, 1, 0])),
        "same_lower": ("MaxPool", dict(kernel_shape=[3, 2], strides=[2, 2], auto_pad="SAME_LOWER")),
    }
    op, at = attrs[variant]
    nodes = [helper.make_node(op, ["x"], ["p"], name="pool", **at),
             helper.make_node("Pad", ["p", "pads"], ["pp"], name="pad", mode="constant"),
             helper.make_node("Cast", ["pp"], ["cast"], name="cast", to=TensorProto.FLOAT),
             helper.make_node("GlobalMaxPool", ["cast"], ["gm"], name="gmax"),
             helper.make_node("Flatten", ["gm"], ["f1"], name="flat1"),
             helper.make_node("Flatten", ["cast"], ["f2"], name="flat2"),
             helper.make_node("Concat", ["f1", "f2"], ["logits"], name="cat", axis=1)]
    m = _model(nodes, {"pads": np.array([0, 0, 1, 0, 0, 0, 0, 1], np.int64)}, [1, 2, 7, 7], [1, None])
    f = from_onnx(m)
    x = rng.normal(size=(2, 7, 7)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(f(x)), _ort(m, x[None])[0], rtol=1e-5, atol=1e-6)
    with jax.enable_x64(True):
        p = trace(f, np.zeros((2, 7, 7)))
        assert p.switches[-1].kind == "pool_max"
