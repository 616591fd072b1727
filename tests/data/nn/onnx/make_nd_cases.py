#!/usr/bin/python3
"""ONNX test cases (model.onnx + test_data_set_0) for the general-case N-D kernels (nn/ops/spatial_nd.c)
with attribute combinations the official suite lacks; expected outputs from plain numpy loops below
(the definitions, written independently of the C code). Run from this folder:
/usr/bin/python3 make_nd_cases.py  -> nd_cases/<name>/ (tests/nn/test_onnx_badinput.c runs them)."""
import itertools
import math
import os

import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

rng = np.random.RandomState(7)


def save_case(name, node, inits, x, y):
    d = os.path.join("nd_cases", name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    X = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))
    Y = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(y.shape))
    g = helper.make_graph([node], name, [X], [Y], initializer=[numpy_helper.from_array(v, k) for k, v in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="facescore-tests")
    m.ir_version = 7
    open(os.path.join(d, "model.onnx"), "wb").write(m.SerializeToString())
    open(os.path.join(d, "test_data_set_0", "input_0.pb"), "wb").write(numpy_helper.from_array(x, "x").SerializeToString())
    open(os.path.join(d, "test_data_set_0", "output_0.pb"), "wb").write(
        numpy_helper.from_array(y.astype(np.float32), "y").SerializeToString())


def out_len(n, k, s, d, pb, pe, ceil):
    eff = (k - 1) * d + 1
    v = n + pb + pe - eff
    o = (-(-v // s) if ceil else v // s) + 1
    if ceil and (o - 1) * s >= n + pb:
        o -= 1
    return o


def same_pads(n, k, s, d, lower):
    o = -(-n // s)
    total = max(0, (o - 1) * s + (k - 1) * d + 1 - n)
    pb = total - total // 2 if lower else total // 2
    return pb, total - pb


def conv_ref(x, w, b, strides, dil, pads, group):
    S = x.ndim - 2
    N, C = x.shape[:2]
    O, Cg = w.shape[:2]
    ks = w.shape[2:]
    outs = [out_len(x.shape[2 + i], ks[i], strides[i], dil[i], pads[i], pads[S + i], False) for i in range(S)]
    y = np.zeros([N, O] + outs)
    og = O // group
    for n, o in itertools.product(range(N), range(O)):
        gi = o // og
        for p in itertools.product(*[range(v) for v in outs]):
            acc = b[o] if b is not None else 0.0
            for c in range(Cg):
                for k in itertools.product(*[range(v) for v in ks]):
                    q = [p[i] * strides[i] - pads[i] + k[i] * dil[i] for i in range(S)]
                    if all(0 <= q[i] < x.shape[2 + i] for i in range(S)):
                        acc += float(x[(n, gi * Cg + c) + tuple(q)]) * float(w[(o, c) + k])
            y[(n, o) + p] = acc
    return y


def pool_ref(x, ks, strides, dil, pads, ceil, is_max, cip):
    S = x.ndim - 2
    outs = [out_len(x.shape[2 + i], ks[i], strides[i], dil[i], pads[i], pads[S + i], ceil) for i in range(S)]
    y = np.zeros(list(x.shape[:2]) + outs)
    for n, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        for p in itertools.product(*[range(v) for v in outs]):
            vals, padded = [], 0
            for k in itertools.product(*[range(v) for v in ks]):
                q = [p[i] * strides[i] - pads[i] + k[i] * dil[i] for i in range(S)]
                if all(q[i] < x.shape[2 + i] + pads[S + i] for i in range(S)):
                    padded += 1
                if all(0 <= q[i] < x.shape[2 + i] for i in range(S)):
                    vals.append(float(x[(n, c) + tuple(q)]))
            y[(n, c) + p] = max(vals) if is_max else sum(vals) / (padded if cip else len(vals))
    return y


def convt_ref(x, w, b, strides, dil, pads, opad, group, out_shape=None):
    """full scatter then crop: out = s (in - 1) + (k - 1) d + 1 + opad - pads"""
    S = x.ndim - 2
    N, C = x.shape[:2]
    Og = w.shape[1]
    ks = w.shape[2:]
    full = [strides[i] * (x.shape[2 + i] - 1) + (ks[i] - 1) * dil[i] + 1 for i in range(S)]
    outs = [full[i] + opad[i] - pads[i] - pads[S + i] for i in range(S)]
    y = np.zeros([N, Og * group] + outs)
    Cg = C // group
    for n, c in itertools.product(range(N), range(C)):
        gi = c // Cg
        for p in itertools.product(*[range(x.shape[2 + i]) for i in range(S)]):
            for og in range(Og):
                for k in itertools.product(*[range(v) for v in ks]):
                    q = [p[i] * strides[i] + k[i] * dil[i] - pads[i] for i in range(S)]
                    if all(0 <= q[i] < outs[i] for i in range(S)):
                        y[(n, gi * Og + og) + tuple(q)] += float(x[(n, c) + p]) * float(w[(c, og) + k])
    if b is not None:
        y += b.reshape([1, -1] + [1] * S)
    return y


r = lambda *s: rng.randn(*s).astype(np.float32)

# 3-D conv: groups, per-axis stride / dilation, asymmetric pads, bias
x, w, b = r(1, 4, 5, 6, 7), r(6, 2, 3, 2, 3), r(6)
st, dl, pd = [2, 1, 2], [1, 2, 1], [1, 0, 2, 0, 1, 1]
save_case("conv3d_groups_dil_stride_pads", helper.make_node("Conv", ["x", "w", "b"], ["y"], group=2, strides=st, dilations=dl, pads=pd),
          [("w", w), ("b", b)], x, conv_ref(x, w, b, st, dl, pd, 2))
# 3-D conv: auto_pad SAME_LOWER with stride 2
x, w = r(2, 3, 5, 4, 6), r(2, 3, 3, 3, 2)
pads = [0] * 6
for i in range(3):
    pads[i], pads[3 + i] = same_pads(x.shape[2 + i], w.shape[2 + i], 2, 1, True)
save_case("conv3d_same_lower", helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2, 2], auto_pad="SAME_LOWER"),
          [("w", w)], x, conv_ref(x, w, None, [2, 2, 2], [1, 1, 1], pads, 1))
# 2-D max pool: dilations, asymmetric pads, ceil_mode
x = r(1, 2, 9, 10)
ks, st, dl, pd = [3, 2], [2, 2], [2, 3], [1, 0, 1, 2]
save_case("maxpool2d_dil_pads_ceil", helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=ks, strides=st, dilations=dl, pads=pd, ceil_mode=1),
          [], x, pool_ref(x, ks, st, dl, pd, True, True, False))
# 1-D max pool with dilation 3
x = r(2, 3, 11)
save_case("maxpool1d_dil", helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3], strides=[2], dilations=[3], pads=[2, 1]),
          [], x, pool_ref(x, [3], [2], [3], [2, 1], False, True, False))
# 3-D average pool with count_include_pad
x = r(1, 2, 5, 6, 4)
ks, st, pd = [3, 2, 3], [2, 2, 1], [1, 1, 0, 1, 0, 1]
save_case("avgpool3d_count_include_pad", helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=ks, strides=st, pads=pd, count_include_pad=1),
          [], x, pool_ref(x, ks, st, [1, 1, 1], pd, False, False, True))
# 3-D average pool, ceil_mode, pads excluded
x = r(1, 3, 6, 5, 7)
ks, st, pd = [2, 3, 2], [2, 2, 3], [0, 1, 1, 1, 0, 0]
save_case("avgpool3d_ceil", helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=ks, strides=st, pads=pd, ceil_mode=1),
          [], x, pool_ref(x, ks, st, [1, 1, 1], pd, True, False, False))
# 3-D max pool SAME_UPPER
x = r(1, 2, 5, 7, 4)
pads = [0] * 6
for i, (k, s) in enumerate(zip([3, 2, 2], [2, 3, 1])):
    pads[i], pads[3 + i] = same_pads(x.shape[2 + i], k, s, 1, False)
save_case("maxpool3d_same_upper", helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 2, 2], strides=[2, 3, 1], auto_pad="SAME_UPPER"),
          [], x, pool_ref(x, [3, 2, 2], [2, 3, 1], [1, 1, 1], pads, False, True, False))
# 3-D transposed conv: groups, strides, dilations, output_padding, pads, bias
x, w, b = r(1, 4, 3, 4, 2), r(4, 3, 2, 3, 2), r(6)
st, dl, op, pd = [2, 3, 1], [1, 1, 2], [1, 2, 0], [0, 1, 1, 1, 0, 0]
save_case("convtranspose3d_groups_opad", helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], group=2, strides=st, dilations=dl,
                                                         output_padding=op, pads=pd),
          [("w", w), ("b", b)], x, convt_ref(x, w, b, st, dl, pd, op, 2))
# 3-D transposed conv with output_shape (pads derived: total = full + opad - out; begin = total - total//2)
x, w = r(1, 2, 3, 3, 2), r(2, 2, 3, 3, 3)
st, osh = [2, 2, 2], [8, 6, 5]
full = [st[i] * (x.shape[2 + i] - 1) + w.shape[2 + i] for i in range(3)]
pd = [0] * 6
opd = [0, 0, 0]
for i in range(3):
    total = full[i] - osh[i]
    pd[i] = total - math.floor(total / 2)
    pd[3 + i] = total - pd[i]
    if pd[3 + i] < 0:
        opd[i], pd[3 + i] = -pd[3 + i], 0
save_case("convtranspose3d_output_shape", helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=st, output_shape=osh),
          [("w", w)], x, convt_ref(x, w, None, st, [1, 1, 1], pd, opd, 1))


def crop_ref(x, roi, sizes, mode, extrap):
    """Resize tf_crop_and_resize, separable: per dim a [out, in] weight matrix; outputs whose
    coordinate is outside [0, L_in - 1] in any dim get extrap. mode: 'linear' or 'floor' (nearest)."""
    y = x.astype(np.float64)
    outside = np.zeros(sizes, bool)
    r = x.ndim
    for d in range(r):
        lin, lout = x.shape[d], sizes[d]
        st, en = roi[d], roi[r + d]
        M = np.zeros((lout, lin))
        for o in range(lout):
            c = st * (lin - 1) + o * (en - st) * (lin - 1) / (lout - 1) if lout > 1 else 0.5 * (st + en) * (lin - 1)
            if c < 0 or c > lin - 1:
                sl = [slice(None)] * r
                sl[d] = o
                outside[tuple(sl)] = True
                continue
            f = math.floor(c)
            if mode == "floor" or c == f:
                M[o, f] = 1
            else:
                M[o, f], M[o, f + 1] = f + 1 - c, c - f
        y = np.moveaxis(np.tensordot(M, np.moveaxis(y, d, 0), axes=1), 0, d)
    y[outside] = extrap
    return y


def save_crop(name, x, roi, sizes, mode, nearest_mode, extrap):
    kw = dict(mode="nearest" if mode == "floor" else mode, coordinate_transformation_mode="tf_crop_and_resize",
              extrapolation_value=extrap)
    if mode == "floor":
        kw["nearest_mode"] = nearest_mode
    node = helper.make_node("Resize", ["x", "roi", "", "sizes"], ["y"], **kw)
    save_case(name, node, [("roi", np.array(roi, np.float32)), ("sizes", np.array(sizes, np.int64))], x,
              crop_ref(x, roi, sizes, mode, extrap))


save_crop("resize_crop_linear_4d", r(1, 2, 5, 6), [0, 0, -0.1, 0.3, 1, 1, 0.8, 1.25], [1, 2, 4, 7], "linear", None, -3.0)
save_crop("resize_crop_nearest_floor_3d", r(2, 6, 5), [0, 0.2, 0, 1, 0.9, 0.5], [2, 4, 6], "floor", "floor", 0.5)
