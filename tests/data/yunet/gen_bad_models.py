# Makes two tiny valid ONNX files that are not YuNet (for tests/detect/test_yunet.c):
#   not_yunet.onnx  - 1x1 Conv, 3-channel input, a single output named cls_8
#   gray_input.onnx - the same with a 1-channel input
# Run from the repo root with Debian's python3-onnx: /usr/bin/python3 tests/data/yunet/gen_bad_models.py
import onnx, numpy as np
from onnx import helper, TensorProto, numpy_helper as nh

def conv_model(path, cin, outname, hw=(32, 32)):
    w = nh.from_array(np.ones((1, cin, 1, 1), np.float32), 'w')
    n = helper.make_node('Conv', ['input', 'w'], [outname], kernel_shape=[1, 1])
    g = helper.make_graph([n], 'g', [helper.make_tensor_value_info('input', TensorProto.FLOAT, [1, cin, *hw])],
                          [helper.make_tensor_value_info(outname, TensorProto.FLOAT, [1, 1, *hw])], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 11)], producer_name='facescore-tests')
    m.ir_version = 6
    onnx.checker.check_model(m)
    onnx.save(m, path)

conv_model('tests/data/yunet/not_yunet.onnx', 3, 'cls_8')
conv_model('tests/data/yunet/gray_input.onnx', 1, 'cls_8')
