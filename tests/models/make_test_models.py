#!/usr/bin/python3
"""Writes the tiny ONNX models the local-model tests run, into the folder given (python3-onnx).

Each model's output is a known function of its input, so a test can compute the exact score a
picture must get through Vigil's preprocessing (area resize, colour order, scale, mean/std,
layout), the model and the card's activation, labels and thresholds:

  brightness.onnx    [1,3,8,8] NCHW -> [bright, dark]: the mean of all values, and 1 minus it
  channels.onnx      [1,3,4,4] NCHW -> the mean of each channel
  channels_nhwc.onnx [1,4,4,3] NHWC -> the mean of each channel
  grey.onnx          [1,1,4,4] NCHW -> the mean
  fixed_192.onnx     [1,3,8,8] only (a dense layer over 192 values) -> 2 outputs
  huge_weights.onnx  a dense layer whose weights declare 100000 x 100000 floats and hold none
  log.onnx           [1,1,4,4] NCHW -> the logarithm of the mean: -infinity for a black picture
  garbage.onnx       bytes that are not a model
  bench_cnn.onnx     [1,3,224,224] -> 2 logits: three strided 3x3 convolutions (16, 32, 64
                     channels) with ReLU, global pooling and a dense layer, fixed random weights
                     (~0.1 GFLOP: the size of a small mobile classifier; bench/classifier_bench)
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]


def save(name, nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)], producer_name="vigil-tests")
    model.ir_version = 6
    onnx.save(model, f"{out}/{name}.onnx")


def tensor(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def channel_means(name, shape, nhwc=False):
    nodes = []
    src = "image"
    if nhwc:
        nodes.append(helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]))
        src = "nchw"
    nodes += [helper.make_node("GlobalAveragePool", [src], ["pooled"]),
              helper.make_node("Flatten", ["pooled"], ["scores"], axis=1)]
    channels = shape[3] if nhwc else shape[1]
    save(name, nodes, [tensor("image", shape)], [tensor("scores", [1, channels])])


# brightness: mean over channels of the per-channel means, and 1 minus it.
# Dense layers as PyTorch exports them (Gemm with transB = 1: weights [outputs, inputs]), the form
# OpenCV 4.6's importer reads.
weights = np.array([[1 / 3] * 3, [-1 / 3] * 3], dtype=np.float32)
bias = np.array([0, 1], dtype=np.float32)
save("brightness",
     [helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
      helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
      helper.make_node("Gemm", ["flat", "w", "b"], ["scores"], transB=1)],
     [tensor("image", [1, 3, 8, 8])], [tensor("scores", [1, 2])],
     [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(bias, "b")])

channel_means("channels", [1, 3, 4, 4])
channel_means("channels_nhwc", [1, 4, 4, 3], nhwc=True)
channel_means("grey", [1, 1, 4, 4])

dense = np.full((2, 192), 1 / 192, dtype=np.float32)
save("fixed_192",
     [helper.make_node("Flatten", ["image"], ["flat"], axis=1),
      helper.make_node("Gemm", ["flat", "w", "b"], ["scores"], transB=1)],
     [tensor("image", [1, 3, 8, 8])], [tensor("scores", [1, 2])],
     [numpy_helper.from_array(dense, "w"), numpy_helper.from_array(bias, "b")])

huge = onnx.TensorProto()  # made by hand: the helper checks the values against the dims
huge.name = "w"
huge.data_type = TensorProto.FLOAT
huge.dims.extend([100000, 100000])
save("huge_weights",
     [helper.make_node("Flatten", ["image"], ["flat"], axis=1),
      helper.make_node("Gemm", ["flat", "w", "b"], ["scores"], transB=1)],
     [tensor("image", [1, 3, 8, 8])], [tensor("scores", [1, 100000])],
     [huge, numpy_helper.from_array(np.zeros(100000, dtype=np.float32), "b")])

rng = np.random.default_rng(7)
convs, inits, src, channels = [], [], "image", 3
for i, width in enumerate([16, 32, 64]):
    w = (rng.standard_normal((width, channels, 3, 3)) / np.sqrt(channels * 9)).astype(np.float32)
    inits.append(numpy_helper.from_array(w, f"conv{i}"))
    convs += [helper.make_node("Conv", [src, f"conv{i}"], [f"c{i}"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
              helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
    src, channels = f"r{i}", width
inits += [numpy_helper.from_array((rng.standard_normal((2, 64)) / 8).astype(np.float32), "dense"),
          numpy_helper.from_array(np.zeros(2, dtype=np.float32), "dense_bias")]
save("bench_cnn",
     convs + [helper.make_node("GlobalAveragePool", [src], ["pooled"]),
              helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
              helper.make_node("Gemm", ["flat", "dense", "dense_bias"], ["scores"], transB=1)],
     [tensor("image", [1, 3, 224, 224])], [tensor("scores", [1, 2])], inits)

save("log",
     [helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
      helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
      helper.make_node("Log", ["flat"], ["scores"])],
     [tensor("image", [1, 1, 4, 4])], [tensor("scores", [1, 1])])

with open(f"{out}/garbage.onnx", "wb") as f:
    f.write(bytes((i * 37 + 11) % 256 for i in range(4096)))
