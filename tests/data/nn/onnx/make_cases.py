#!/usr/bin/python3
"""Generates the small ONNX files used by tests/nn/test_onnx.c (run: /usr/bin/python3 make_cases.py)."""
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

def save(name, nodes, inits, inputs, outputs, opset=11):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="facescore-tests")
    m.ir_version = 6
    open(name + ".onnx", "wb").write(m.SerializeToString())

X = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])
Y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
rng = np.random.RandomState(1)
w = rng.randn(3, 2, 3, 3).astype(np.float32)
b = rng.randn(3).astype(np.float32)
W = numpy_helper.from_array(w, "w"); B = numpy_helper.from_array(b, "b")

# conv + BN + relu + global pool + flatten + gemm: a small valid model (also used for numerics)
s, bb, mu, var = [rng.rand(3).astype(np.float32) + 0.5 for _ in range(4)]
gw = rng.randn(5, 3).astype(np.float32); gb = rng.randn(5).astype(np.float32)
save("small_cnn", [
    helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node("BatchNormalization", ["c", "s", "bb", "mu", "var"], ["n"], epsilon=1e-3),
    helper.make_node("Relu", ["n"], ["r"]),
    helper.make_node("GlobalAveragePool", ["r"], ["p"]),
    helper.make_node("Flatten", ["p"], ["f"]),
    helper.make_node("Gemm", ["f", "gw", "gb"], ["y"], transB=1),
], [W, B] + [numpy_helper.from_array(a, n) for a, n in [(s, "s"), (bb, "bb"), (mu, "mu"), (var, "var"), (gw, "gw"), (gb, "gb")]],
   [X], [Y])
xin = rng.randn(1, 2, 4, 4).astype(np.float32)
open("small_cnn_input.pb", "wb").write(numpy_helper.from_array(xin, "x").SerializeToString())

# unknown op
save("unknown_op", [helper.make_node("Foo", ["x"], ["y"])], [], [X], [Y])
# unsupported attribute on a known op
save("conv_bad_attr", [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], frobnicate=3)], [W], [X], [Y])
# unsupported mode
save("resize_cubic", [helper.make_node("Resize", ["x", "roi", "sc"], ["y"], mode="cubic")],
     [numpy_helper.from_array(np.zeros(0, np.float32), "roi"), numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "sc")], [X], [Y])
# raw_data size mismatch
bad = numpy_helper.from_array(w, "w"); bad.raw_data = bad.raw_data[:-4]
save("raw_mismatch", [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])], [bad], [X], [Y])
# absurd dims: numel * 4 overflows size_t
huge = TensorProto(); huge.name = "w"; huge.data_type = TensorProto.FLOAT
huge.dims.extend([1 << 40, 1 << 30]); huge.raw_data = b"\0" * 16
save("absurd_dims", [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])], [huge], [X], [Y])
# dims that fit size_t but far exceed the stored values (typed float_data)
big = TensorProto(); big.name = "w"; big.data_type = TensorProto.FLOAT
big.dims.extend([3, 2, 3000, 3000]); big.float_data.extend([1.0] * 4)
save("dims_past_data", [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])], [big], [X], [Y])
# typed float_data (not raw) and an int64 initializer: reshape
save("typed_data", [helper.make_node("Reshape", ["x", "shp"], ["r"]), helper.make_node("Mul", ["r", "k"], ["y"])],
     [helper.make_tensor("shp", TensorProto.INT64, [2], [0, -1]), helper.make_tensor("k", TensorProto.FLOAT, [1], [2.5])], [X], [Y])
# double and float16 initializers are converted
save("f16_double", [helper.make_node("Add", ["x", "h"], ["a"]), helper.make_node("Add", ["a", "d"], ["y"])],
     [numpy_helper.from_array(np.array([0.5, -2.0, 65504.0, 6e-8], np.float16).reshape(1, 1, 1, 4), "h"),
      numpy_helper.from_array(np.array([1.25], np.float64), "d")], [X], [Y])

# expected output of small_cnn, computed in float64 with numpy
def conv2d(x, w, b, pad):
    n, c, h, wd = x.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    o = np.zeros((n, w.shape[0], h, wd))
    for i in range(h):
        for j in range(wd):
            o[:, :, i, j] = np.tensordot(xp[:, :, i:i + 3, j:j + 3], w.astype(np.float64), axes=([1, 2, 3], [1, 2, 3]))
    return o + b.reshape(1, -1, 1, 1)
c = conv2d(xin, w, b, 1)
n = (c - mu.reshape(1, -1, 1, 1)) / np.sqrt(var.reshape(1, -1, 1, 1) + 1e-3) * s.reshape(1, -1, 1, 1) + bb.reshape(1, -1, 1, 1)
p = np.maximum(n, 0).mean(axis=(2, 3))
y = p @ gw.T.astype(np.float64) + gb
open("small_cnn_output.pb", "wb").write(numpy_helper.from_array(y.astype(np.float32), "y").SerializeToString())
print("small_cnn y =", y)
