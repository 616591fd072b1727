#!/usr/bin/python3
"""tools/onnx_scope.py — which ONNX backend test cases are "in scope" for issue 10.

Usage: /usr/bin/python3 tools/onnx_scope.py [--list] [ROOT]   (ROOT default /usr/share/libonnx-testdata/data)

A case (ROOT/{node,pytorch-converted,pytorch-operator,simple}/NAME/model.onnx) is in scope when
  1. every node's op_type (default domain) is one of the ops listed in item 3 of issue 10 (OPS below;
     any opset the case uses), and
  2. its tensors are float: every graph input and output (not initializers) is FLOAT, except graph
     inputs that feed only the integer operand an op defines for it (shape, axes, pads, starts/ends/
     steps, split, indices, sizes: INT_SLOTS below) and are INT64/INT32.
Prints "in scope: N of M cases" (and with --list one "group/name" per line, to stdout).
"""
import os
import sys

import onnx

OPS = set("""Conv ConvTranspose BatchNormalization InstanceNormalization LRN
Relu Clip LeakyRelu PRelu Elu Selu Sigmoid Tanh HardSigmoid HardSwish Softplus Softsign Erf Exp Sqrt Pow
Reciprocal Abs Neg Sign Floor Ceil Add Sub Mul Div Max Min Sum Mean
MaxPool AveragePool GlobalAveragePool GlobalMaxPool Gemm MatMul
Flatten Reshape Transpose Concat Split Slice Squeeze Unsqueeze Expand Pad Resize Upsample
Softmax LogSoftmax ReduceMean ReduceMax ReduceSum Shape Gather Constant ConstantOfShape Identity
Dropout""".split())

# op -> input positions that are integer operands by the ONNX spec
INT_SLOTS = {"Reshape": {1}, "Slice": {1, 2, 3, 4}, "Pad": {1}, "Squeeze": {1}, "Unsqueeze": {1},
             "ReduceMean": {1}, "ReduceMax": {1}, "ReduceSum": {1}, "Expand": {1},
             "ConstantOfShape": {0}, "Gather": {1}, "Split": {1}, "Resize": {3}}
GROUPS = ["node", "pytorch-converted", "pytorch-operator", "simple"]
FLOAT, INT32, INT64 = 1, 6, 7


def in_scope(model):
    g = model.graph
    if any(n.domain not in ("", "ai.onnx") or n.op_type not in OPS for n in g.node):
        return False
    inits = {t.name for t in g.initializer}
    for o in g.output:
        if o.type.tensor_type.elem_type != FLOAT:
            return False
    for i in g.input:
        if i.name in inits:
            continue
        et = i.type.tensor_type.elem_type
        if et == FLOAT:
            continue
        if et not in (INT32, INT64):
            return False
        uses = [(n.op_type, k) for n in g.node for k, x in enumerate(n.input) if x == i.name]
        if not uses or any(k not in INT_SLOTS.get(op, ()) for op, k in uses):
            return False
    return True


def main():
    args = [a for a in sys.argv[1:] if a != "--list"]
    root = args[0] if args else "/usr/share/libonnx-testdata/data"
    total, names = 0, []
    for grp in GROUPS:
        d = os.path.join(root, grp)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name, "model.onnx")
            if not os.path.isfile(path):
                continue
            total += 1
            try:
                m = onnx.load(path)
            except Exception:
                continue
            if in_scope(m):
                names.append(grp + "/" + name)
    if "--list" in sys.argv:
        print("\n".join(names))
    print("in scope: %d of %d cases" % (len(names), total), file=sys.stderr)


if __name__ == "__main__":
    main()
