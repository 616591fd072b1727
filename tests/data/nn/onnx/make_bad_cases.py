#!/usr/bin/python3
"""Generates the bad-input ONNX files used by tests/nn/test_onnx_badinput.c
(run from this folder: /usr/bin/python3 make_bad_cases.py)."""
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper


def save(name, nodes, inits, inputs, outputs, opset=13):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="facescore-tests")
    m.ir_version = 7
    open(name + ".onnx", "wb").write(m.SerializeToString())


X = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])
Y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
# Gather with a constant index out of range (5 for a dim of 3) and one in range but negative (-1)
save("gather_oob", [helper.make_node("Gather", ["x", "i"], ["y"], axis=0)],
     [numpy_helper.from_array(np.array([0, 5], np.int64), "i")], [X], [Y])
save("gather_neg", [helper.make_node("Gather", ["x", "i"], ["y"], axis=0)],
     [numpy_helper.from_array(np.array([-1, 0, -3], np.int64), "i")], [X], [Y])
save("gather_neg_oob", [helper.make_node("Gather", ["x", "i"], ["y"], axis=0)],
     [numpy_helper.from_array(np.array([-4], np.int64), "i")], [X], [Y])
# Reshape of 12 values to [5, 3]
save("reshape_impossible", [helper.make_node("Reshape", ["x", "s"], ["y"])],
     [numpy_helper.from_array(np.array([5, 3], np.int64), "s")], [X], [Y])
# Reshape with two -1
save("reshape_two_neg", [helper.make_node("Reshape", ["x", "s"], ["y"])],
     [numpy_helper.from_array(np.array([-1, -1], np.int64), "s")], [X], [Y])

# TensorProtos: absurd dims, dims x dtype overflowing size_t, dims larger than the data
def tp(dims, dt, raw):
    t = onnx.TensorProto()
    t.dims.extend(dims)
    t.data_type = dt
    t.raw_data = raw
    return t.SerializeToString()

open("tp_absurd_dims.pb", "wb").write(tp([1 << 40, 1 << 20], TensorProto.FLOAT, b"\0" * 16))
open("tp_size_overflow.pb", "wb").write(tp([1 << 31, 1 << 31, 1 << 3], TensorProto.INT64, b"\0" * 16))
open("tp_short_raw.pb", "wb").write(tp([2, 3], TensorProto.FLOAT, b"\0" * 20))
open("tp_negative_dim.pb", "wb").write(tp([2, -3], TensorProto.FLOAT, b""))
x = np.arange(12, dtype=np.float32).reshape(3, 4)
open("x34.pb", "wb").write(numpy_helper.from_array(x, "x").SerializeToString())

# Gather with indices computed at run time from a float input (Cast to int64)
IDX = helper.make_tensor_value_info("idx", TensorProto.FLOAT, [2])
save("gather_runtime_idx", [helper.make_node("Cast", ["idx"], ["i"], to=TensorProto.INT64),
                            helper.make_node("Gather", ["x", "i"], ["y"], axis=0)], [], [X, IDX], [Y])
# Conv whose weights are a graph input (bindable)
XC = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2])
WC = helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 1, 1, 1])
save("conv_w_input", [helper.make_node("Conv", ["x", "w"], ["y"])], [], [XC, WC], [Y])

# Resize tf_crop_and_resize given scales instead of sizes (refused by name)
XR = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])
save("resize_crop", [helper.make_node("Resize", ["x", "roi", "sc"], ["y"], mode="linear",
                                      coordinate_transformation_mode="tf_crop_and_resize")],
     [numpy_helper.from_array(np.array([0, 0, 0.2, 0.2, 1, 1, 0.8, 0.8], np.float32), "roi"),
      numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "sc")], [XR], [Y])
