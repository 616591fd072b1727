#!/usr/bin/python3
"""Writes the small TFLite test models of tests/nn/test_tflite_loader.c and their NumPy reference
outputs (run with Debian's /usr/bin/python3 from the repository root; needs numpy only).

A minimal back-to-front flatbuffer builder (as flatc's) writes schema-v3 models by hand:
  tiny.tflite      CONV_2D 1x1 with int8 per-channel weights (+fused RELU), DEQUANTIZE of an fp16
                   constant, ADD, DEPTHWISE_CONV_2D with uint8 per-tensor weights and an int32
                   quantized bias (SAME, stride 2, RELU6), MEAN over H,W, SOFTMAX, PAD, MAX_POOL_2D,
                   CONCATENATION, RESIZE_BILINEAR (half-pixel)
  tiny_in.f32, tiny_out{0,1,2}.f32   input and expected outputs (float64 NumPy, stored float32)
  bad_*.tflite     malformed / unsupported variants, each expected to fail with a clear message
"""
import os
import struct

import numpy as np

OUT = os.path.dirname(os.path.abspath(__file__))


class FB:
    """Back-to-front flatbuffer builder: objects are prepended, so every uoffset points forward.
    Positions are kept as offsets from the end of the buffer ("ofe")."""

    def __init__(self):
        self.b = bytearray()

    def prepend(self, data):
        self.b[0:0] = data
        return len(self.b)

    def vector(self, fmt, items):
        self.prepend(struct.pack("<%d%s" % (len(items), fmt), *items))
        return self.prepend(struct.pack("<I", len(items)))

    def string(self, s):
        self.prepend(s.encode() + b"\0")
        return self.prepend(struct.pack("<I", len(s.encode())))

    def tables(self, refs):
        for r in reversed(refs):
            self.prepend(struct.pack("<I", len(self.b) + 4 - r))
        return self.prepend(struct.pack("<I", len(refs)))

    def table(self, fields):
        """fields: {index: (fmt, value)}; fmt 'off' = reference to an object built before."""
        start = len(self.b)
        pos = {}
        for idx in sorted(fields, reverse=True):
            fmt, v = fields[idx]
            if fmt == "off":
                pos[idx] = self.prepend(struct.pack("<I", len(self.b) + 4 - v))
            else:
                pos[idx] = self.prepend(struct.pack("<" + fmt, v))
        t = self.prepend(b"\0\0\0\0")
        n = (max(fields) + 1) if fields else 0
        vt = [4 + 2 * n, t - start] + [(t - pos[i]) if i in pos else 0 for i in range(n)]
        v = self.prepend(struct.pack("<%dH" % len(vt), *vt))
        i = len(self.b) - t
        self.b[i:i + 4] = struct.pack("<i", v - t)
        return t

    def finish(self, root):
        self.prepend(b"TFL3")
        total = len(self.b) + 4
        self.prepend(struct.pack("<I", total - root))
        return bytes(self.b)


# TensorType
F32, F16, I32, U8, I64, I8 = 0, 1, 2, 3, 4, 9
# BuiltinOperator
ADD, AVG, CONCAT, CONV, DW, DEQ, MAXPOOL, PAD, MEAN, SOFTMAX, RESIZE_BIL, TOPK = 0, 1, 2, 3, 4, 6, 17, 34, 40, 25, 23, 48


def build(spec):
    """spec: tensors [(name, shape, type, data_bytes|None, quant|None)], ops [(code, ins, outs,
    options_fields|None)], inputs, outputs, opcodes [codes] (custom: ('CUSTOM', name))."""
    fb = FB()
    # buffers: 0 is the empty sentinel
    buf_refs, tbuf = [fb.table({})], []
    for (_, _, _, data, _) in spec["tensors"]:
        if data is None:
            tbuf.append(0)
        else:
            d = fb.vector("B", list(data))
            buf_refs.append(fb.table({0: ("off", d)}))
            tbuf.append(len(buf_refs) - 1)
    buffers = fb.tables(buf_refs)
    trefs = []
    for i, (name, shape, tt, _, q) in enumerate(spec["tensors"]):
        f = {}
        if q is not None:
            qf = {2: ("off", fb.vector("f", q["scale"])), 3: ("off", fb.vector("q", q["zp"]))}
            if "dim" in q:
                qf[6] = ("i", q["dim"])
            f[4] = ("off", fb.table(qf))
        f[0] = ("off", fb.vector("i", shape))
        f[1] = ("b", tt)
        f[2] = ("I", spec.get("tbuf_override", {}).get(i, tbuf[i]))
        f[3] = ("off", fb.string(name))
        trefs.append(fb.table(f))
    tensors = fb.tables(trefs)
    orefs = []
    for (code, ins, outs, opt) in spec["ops"]:
        f = {0: ("I", code), 1: ("off", fb.vector("i", ins)), 2: ("off", fb.vector("i", outs))}
        if opt is not None:
            f[4] = ("off", fb.table(opt))
        orefs.append(fb.table(f))
    operators = fb.tables(orefs)
    sg = fb.table({0: ("off", tensors), 1: ("off", fb.vector("i", spec["inputs"])),
                   2: ("off", fb.vector("i", spec["outputs"])), 3: ("off", operators),
                   4: ("off", fb.string("main"))})
    subgraphs = fb.tables([sg])
    crefs = []
    for c in spec["opcodes"]:
        if isinstance(c, tuple):
            crefs.append(fb.table({0: ("b", 32), 1: ("off", fb.string(c[1])), 3: ("i", 32)}))
        else:
            crefs.append(fb.table({0: ("b", min(c, 127)), 3: ("i", c)}))
    codes = fb.tables(crefs)
    model = fb.table({0: ("I", spec.get("version", 3)), 1: ("off", codes), 2: ("off", subgraphs),
                      3: ("off", fb.string("facescore test model")), 4: ("off", buffers)})
    return fb.finish(model)


def conv_nhwc(x, w, b, stride, pads, groups):
    n, h, wd, c = x.shape
    o, kh, kw, ig = w.shape
    xp = np.pad(x, ((0, 0), (pads[0], pads[2]), (pads[1], pads[3]), (0, 0)))
    oh = (xp.shape[1] - kh) // stride + 1
    ow = (xp.shape[2] - kw) // stride + 1
    y = np.zeros((n, oh, ow, o))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for ky in range(kh):
            for kx in range(kw):
                patch = xp[:, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride, g * ig:(g + 1) * ig]
                y[..., oc] += patch @ w[oc, ky, kx, :]
    return y + b


def tiny():
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (1, 6, 5, 3)).astype(np.float32)
    # conv 1x1, int8 per-channel (dim 0), 2 output channels
    wq = rng.integers(-127, 128, (2, 1, 1, 3)).astype(np.int8)
    ws = np.array([0.02, 0.005], np.float32)
    w = (ws[:, None, None, None] * wq.astype(np.float32)).astype(np.float32)
    b1 = np.array([0.1, -0.2], np.float32)
    c16 = np.array([0.5, -1.25], np.float16)
    # depthwise 3x3, uint8 per-tensor, bias int32 quantized
    dq = rng.integers(0, 256, (1, 3, 3, 2)).astype(np.uint8)
    ds, dz = np.float32(0.01), 128
    dwt = (ds * (dq.astype(np.int64) - dz).astype(np.float32)).astype(np.float32)  # [1,3,3,2]
    bq = np.array([150, -70], np.int32)
    bs = np.float32(0.002)
    db = (bs * bq.astype(np.float32)).astype(np.float32)

    y1 = np.maximum(conv_nhwc(x.astype(np.float64), w.astype(np.float64), b1, 1, [0, 0, 0, 0], 1), 0)
    y2 = y1 + c16.astype(np.float32)
    # SAME, stride 2 on 6x5 with k3: out 3x3, pad total h=(3-1)*2+3-6=1 -> (0,1); w=(3-1)*2+3-5=2 -> (1,1)
    y3 = np.clip(conv_nhwc(y2, dwt.transpose(3, 1, 2, 0).astype(np.float64), db, 2, [0, 1, 1, 1], 2), 0, 6)
    y4 = y3.mean(axis=(1, 2))
    e = np.exp(y4 - y4.max(axis=1, keepdims=True))
    out0 = e / e.sum(axis=1, keepdims=True)
    # pad H by (1,0), W by (0,1) with zeros, then 2x2/2 max pool VALID -> [1,2,2,2]
    p = np.pad(y3, ((0, 0), (1, 0), (0, 1), (0, 0)))
    mp = p.reshape(1, 2, 2, 2, 2, 2).max(axis=(2, 4))
    cat = np.concatenate([mp, mp], axis=3)  # [1,2,2,4]
    # bilinear resize 2x2 -> 3x4, half_pixel_centers (TF: in = (out+0.5)*scale-0.5, clamp, lerp)
    def lin(n_in, n_out):
        sc = n_in / n_out
        r = []
        for o in range(n_out):
            c = (o + 0.5) * sc - 0.5
            f = np.floor(c)
            i0, i1 = int(min(max(f, 0), n_in - 1)), int(min(max(f + 1, 0), n_in - 1))
            r.append((i0, i1, c - f))
        return r
    rz = np.zeros((1, 3, 4, 4))
    for oy, (y0, y1_, fy) in enumerate(lin(2, 3)):
        for ox, (x0, x1, fx) in enumerate(lin(2, 4)):
            top = cat[0, y0, x0] * (1 - fx) + cat[0, y0, x1] * fx
            bot = cat[0, y1_, x0] * (1 - fx) + cat[0, y1_, x1] * fx
            rz[0, oy, ox] = top * (1 - fy) + bot * fy

    def raw(a):
        return a.tobytes()

    tensors = [
        ("x", [1, 6, 5, 3], F32, None, None),                                   # 0
        ("w1", [2, 1, 1, 3], I8, raw(wq), {"scale": list(ws), "zp": [0, 0], "dim": 0}),  # 1
        ("b1", [2], F32, raw(b1), None),                                         # 2
        ("y1", [1, 6, 5, 2], F32, None, None),                                   # 3
        ("c16", [2], F16, raw(c16), None),                                       # 4
        ("c32", [2], F32, None, None),                                           # 5
        ("y2", [1, 6, 5, 2], F32, None, None),                                   # 6
        ("dw", [1, 3, 3, 2], U8, raw(dq), {"scale": [float(ds)], "zp": [dz]}),   # 7
        ("db", [2], I32, raw(bq), {"scale": [float(bs)], "zp": [0]}),           # 8
        ("y3", [1, 3, 3, 2], F32, None, None),                                   # 9
        ("axes", [2], I32, raw(np.array([1, 2], np.int32)), None),              # 10
        ("y4", [1, 2], F32, None, None),                                         # 11
        ("out", [1, 2], F32, None, None),                                        # 12
        ("pads", [4, 2], I32, raw(np.array([0, 0, 1, 0, 0, 1, 0, 0], np.int32)), None),  # 13
        ("p", [1, 4, 4, 2], F32, None, None),                                    # 14
        ("mp", [1, 2, 2, 2], F32, None, None),                                   # 15
        ("cat", [1, 2, 2, 4], F32, None, None),                                  # 16
        ("size", [2], I32, raw(np.array([3, 4], np.int32)), None),              # 17
        ("rz", [1, 3, 4, 4], F32, None, None),                                   # 18
    ]
    opcodes = [CONV, DEQ, ADD, DW, MEAN, SOFTMAX, PAD, MAXPOOL, CONCAT, RESIZE_BIL]
    ops = [
        (0, [0, 1, 2], [3], {0: ("b", 1), 1: ("i", 1), 2: ("i", 1), 3: ("b", 1)}),         # VALID, RELU
        (1, [4], [5], None),
        (2, [3, 5], [6], {0: ("b", 0)}),
        (3, [6, 7, 8], [9], {0: ("b", 0), 1: ("i", 2), 2: ("i", 2), 3: ("i", 1), 4: ("b", 3)}),  # SAME, RELU6
        (4, [9, 10], [11], {0: ("b", 0)}),
        (5, [11], [12], {0: ("f", 1.0)}),
        (6, [9, 13], [14], None),
        (7, [14], [15], {0: ("b", 1), 1: ("i", 2), 2: ("i", 2), 3: ("i", 2), 4: ("i", 2), 5: ("b", 0)}),
        (8, [15, 15], [16], {0: ("i", 3), 1: ("b", 0)}),
        (9, [16, 17], [18], {2: ("b", 0), 3: ("b", 1)}),
    ]
    spec = {"tensors": tensors, "ops": ops, "inputs": [0], "outputs": [12, 9, 18], "opcodes": opcodes}
    return spec, x, [out0, y3, rz]


def tiny2():
    """Ops the loader lowers to several graph nodes: DEPTH_TO_SPACE, SPACE_TO_DEPTH,
    SQUARED_DIFFERENCE, SQUARE, STRIDED_SLICE (masks, shrink), PACK, UNPACK, TILE, BROADCAST_TO, LRN."""
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, (1, 4, 4, 8)).astype(np.float32)
    c = rng.uniform(-1, 1, (8,)).astype(np.float32)
    d2s = x.reshape(1, 4, 4, 2, 2, 2).transpose(0, 1, 3, 2, 4, 5).reshape(1, 8, 8, 2)
    s2d = d2s.reshape(1, 4, 2, 4, 2, 2).transpose(0, 1, 3, 2, 4, 5).reshape(1, 4, 4, 8)
    assert np.array_equal(s2d, x)
    sqd = (s2d - c) * (s2d - c)
    ss = sqd[0:, 1:4:2, 0:4:1, 0::3]
    sh = sqd[0, 0:4, 1, 0:8]
    pk = np.stack([sh, sh * sh], axis=1)
    up0 = pk[0]
    tl = np.tile(ss, (1, 1, 2, 1))
    sq = np.zeros_like(x, dtype=np.float64)
    for ch in range(8):
        lo, hi = max(0, ch - 1), min(7, ch + 1)
        sq[..., ch] = (x[..., lo:hi + 1].astype(np.float64) ** 2).sum(axis=-1)
    lrn = x / (1.0 + 0.1 * sq) ** 0.75
    bc = np.broadcast_to(c, (2, 8))
    sqr = x.astype(np.float64) ** 2

    def raw(a):
        return np.ascontiguousarray(a).tobytes()

    i32 = lambda v: raw(np.array(v, np.int32))
    T = [
        ("x", [1, 4, 4, 8], F32, None, None),            # 0
        ("d2s", [1, 8, 8, 2], F32, None, None),          # 1
        ("s2d", [1, 4, 4, 8], F32, None, None),          # 2
        ("c", [8], F32, raw(c), None),                   # 3
        ("sqd", [1, 4, 4, 8], F32, None, None),          # 4
        ("b1", [4], I32, i32([0, 1, 0, 0]), None),       # 5
        ("e1", [4], I32, i32([0, 4, 4, 8]), None),       # 6
        ("s1", [4], I32, i32([1, 2, 1, 3]), None),       # 7
        ("ss", [1, 2, 4, 3], F32, None, None),           # 8
        ("b2", [4], I32, i32([0, 0, 1, 0]), None),       # 9
        ("e2", [4], I32, i32([1, 4, 2, 8]), None),       # 10
        ("s2", [4], I32, i32([1, 1, 1, 1]), None),       # 11
        ("sh", [4, 8], F32, None, None),                 # 12
        ("sh2", [4, 8], F32, None, None),                # 13
        ("pk", [4, 2, 8], F32, None, None),              # 14
        ("up0", [2, 8], F32, None, None),                # 15
        ("up1", [2, 8], F32, None, None),                # 16
        ("up2", [2, 8], F32, None, None),                # 17
        ("up3", [2, 8], F32, None, None),                # 18
        ("mult", [4], I32, i32([1, 1, 2, 1]), None),     # 19
        ("tl", [1, 2, 8, 3], F32, None, None),           # 20
        ("lrn", [1, 4, 4, 8], F32, None, None),          # 21
        ("bshape", [2], I32, i32([2, 8]), None),         # 22
        ("bc", [2, 8], F32, None, None),                 # 23
        ("sqr", [1, 4, 4, 8], F32, None, None),          # 24
    ]
    D2S, S2D, SQD, SSL, PACK, UNPACK, TILE, LRN, BCAST, SQUARE = 5, 26, 99, 45, 83, 88, 69, 13, 130, 92
    opcodes = [D2S, S2D, SQD, SSL, PACK, UNPACK, TILE, LRN, BCAST, SQUARE]
    ops = [
        (0, [0], [1], {0: ("i", 2)}),
        (1, [1], [2], {0: ("i", 2)}),
        (2, [2, 3], [4], None),
        (3, [4, 5, 6, 7], [8], {0: ("i", 1), 1: ("i", 1 | 8)}),
        (3, [4, 9, 10, 11], [12], {4: ("i", 1 | 4)}),
        (9, [12], [13], None),  # SQUARE: sh * sh
        (4, [12, 13], [14], {0: ("i", 2), 1: ("i", 1)}),
        (5, [14], [15, 16, 17, 18], {0: ("i", 4), 1: ("i", 0)}),
        (6, [8, 19], [20], None),
        (7, [0], [21], {0: ("i", 1), 1: ("f", 1.0), 2: ("f", 0.1), 3: ("f", 0.75)}),
        (8, [3, 22], [23], None),
        (9, [0], [24], None),
    ]
    spec = {"tensors": T, "ops": ops, "inputs": [0], "outputs": [1, 8, 14, 15, 20, 21, 23, 24], "opcodes": opcodes}
    return spec, x, [d2s, ss, pk, up0, tl, lrn, bc, sqr]


def variant(spec, **kw):
    s = {k: (list(v) if isinstance(v, list) else v) for k, v in spec.items()}
    s.update(kw)
    return s


def main():
    spec, x, outs = tiny()
    open(os.path.join(OUT, "tiny.tflite"), "wb").write(build(spec))
    x.astype("<f4").tofile(os.path.join(OUT, "tiny_in.f32"))
    for i, o in enumerate(outs):
        o.astype("<f4").tofile(os.path.join(OUT, "tiny_out%d.f32" % i))
    spec2, x2, outs2 = tiny2()
    open(os.path.join(OUT, "tiny2.tflite"), "wb").write(build(spec2))
    x2.astype("<f4").tofile(os.path.join(OUT, "tiny2_in.f32"))
    np.concatenate([o.astype("<f4").ravel() for o in outs2]).tofile(os.path.join(OUT, "tiny2_out.f32"))
    bad = {}
    ops = spec["ops"]
    bad["bad_opcode_index"] = variant(spec, ops=[(12,) + ops[0][1:]] + ops[1:])
    bad["bad_tensor_index"] = variant(spec, ops=[(0, [0, 99, 2], [3], ops[0][3])] + ops[1:])
    t = list(spec["tensors"])
    t[0] = ("x", [1, 1 << 30, 1 << 30, 3], F32, None, None)
    bad["absurd_dims"] = variant(spec, tensors=t)
    t = list(spec["tensors"])
    t[0] = ("x", [65536] * 8, F32, None, None)
    bad["dims_overflow"] = variant(spec, tensors=t)
    t = list(spec["tensors"])
    t[0] = ("x", [1, 6, -5, 3], F32, None, None)
    bad["negative_dim"] = variant(spec, tensors=t)
    t = list(spec["tensors"])
    t[1] = ("w1", [2, 1, 1, 4], I8, t[1][3], t[1][4])
    bad["buffer_size_mismatch"] = variant(spec, tensors=t)
    bad["unsupported_op"] = variant(spec, opcodes=spec["opcodes"][:5] + [TOPK] + spec["opcodes"][6:])
    bad["custom_op"] = variant(spec, opcodes=spec["opcodes"][:5] + [("CUSTOM", "MyFancyOp")] + spec["opcodes"][6:])
    bad["fused_tanh"] = variant(spec, ops=[(0, [0, 1, 2], [3], {0: ("b", 1), 1: ("i", 1), 2: ("i", 1), 3: ("b", 4)})] + ops[1:])
    bad["bad_version"] = variant(spec, version=7)
    bad["bad_buffer_index"] = variant(spec, tbuf_override={1: 1000})
    bad["channel_mismatch"] = variant(spec, ops=[ops[0], ops[1], (2, [3, 0], [6], {0: ("b", 0)})] + ops[3:])
    for name, s in bad.items():
        open(os.path.join(OUT, name + ".tflite"), "wb").write(build(s))


if __name__ == "__main__":
    main()
