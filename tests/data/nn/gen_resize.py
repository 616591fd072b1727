#!/usr/bin/python3
"""Resize references from ONNX's own reference implementation (python3-onnx 1.12,
onnx.backend.test.case.node.resize.interpolate_nd) for tests/nn/test_ops_resize.c.
Writes resize_cases.txt: per case a header line
  case MODE COORD NEAREST USE_SCALES NDIM d0.. o0.. [s0..]
(MODE 0 nearest / 1 linear / 2 cubic A=-0.75 / 3 cubic A=-0.5 exclude_outside / 4 cubic A=-0.75
exclude_outside; COORD, NEAREST as nn/graph.h NN_COORD_*, NN_NEAREST_*), then the
input values and the expected output values, one line each (%.9g)."""
import os
import numpy as np
from onnx.backend.test.case.node.resize import interpolate_nd, nearest_coeffs, linear_coeffs, cubic_coeffs

COORDS = ["half_pixel", "asymmetric", "pytorch_half_pixel", "align_corners"]  # 1.12 has no tf_half_pixel_for_nn
NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]

rng = np.random.default_rng(3)
lines = []
n = 0
for mode in (0, 1, 2, 3, 4):
    for ci, coord in enumerate(COORDS):
        for rep in range(4):
            nm = rep % 4
            if mode >= 2 and rep == 2:
                continue
            nd = 4
            dims = [int(rng.integers(1, 3)), int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(1, 3))]
            # resize H, W of NHWC (dims 1, 2)
            use_scales = rep == 3
            if use_scales:
                sc = [1.0, float(rng.choice([0.5, 1.5, 2.0, 3.0, 0.75])), float(rng.choice([0.6, 2.0, 2.5, 1.25])), 1.0]
                out = [int(np.floor(d * s)) for d, s in zip(dims, sc)]
                if min(out) < 1:
                    continue
            else:
                out = [dims[0], int(rng.integers(1, 9)), int(rng.integers(1, 9)), dims[3]]
            x = rng.uniform(-1, 1, dims).astype(np.float32)
            excl = mode in (3, 4)
            if mode == 0:
                f = lambda r, m=NEAREST[nm]: nearest_coeffs(r, mode=m)
            elif mode == 1:
                f = linear_coeffs
            else:
                f = lambda r, A=(-0.5 if mode == 3 else -0.75): cubic_coeffs(r, A=A)
            if use_scales:
                y = interpolate_nd(x, f, scale_factors=sc, coordinate_transformation_mode=coord, exclude_outside=excl)
            else:
                y = interpolate_nd(x, f, output_size=out, coordinate_transformation_mode=coord, exclude_outside=excl)
            y = y.astype(np.float32)
            assert list(y.shape) == out, (y.shape, out)
            hdr = ["case", str(mode), str(ci), str(nm), str(int(use_scales)), str(nd)] + [str(d) for d in dims] + [str(o) for o in out]
            if use_scales:
                hdr += ["%.9g" % s for s in sc]
            lines.append(" ".join(hdr))
            lines.append(" ".join("%.9g" % v for v in x.ravel()))
            lines.append(" ".join("%.9g" % v for v in y.ravel()))
            n += 1
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "resize_cases.txt"), "w").write("\n".join(lines) + "\n")
print(n, "cases")
