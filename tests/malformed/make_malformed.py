#!/usr/bin/python3
"""Writes the malformed (and a few valid control) files of tests/malformed.

usage: make_malformed.py [OUTDIR]   (default: the folder of this script)

Needs /usr/bin/python3 with onnx and numpy. Its outputs are committed so that
run_malformed.sh does not need Python; rerun it only to change the cases.
Every file is small (well under 4 KiB) and the output is deterministic.
"""
import gzip
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
RNG = np.random.default_rng(1234)
W = RNG.standard_normal((4, 3)).astype(np.float32)
B = RNG.standard_normal((3,)).astype(np.float32)


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def tensor(name, arr=None, dims=None, raw=None, dtype=TensorProto.FLOAT):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    if arr is not None:
        t.dims.extend(arr.shape)
        t.raw_data = arr.tobytes()
    if dims is not None:
        del t.dims[:]
        t.dims.extend(dims)
    if raw is not None:
        t.raw_data = raw
    return t


def external(name, dims, location, offset=None, length=None):
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key = k
            e.value = str(v)
    return t


def model(nodes=None, inits=None, inputs=None, outputs=None):
    """The base model: y = Relu(x @ W + b), x (N, 4) -> y (N, 3), opset 13."""
    if nodes is None:
        nodes = [helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
                 helper.make_node("Add", ["h", "b"], ["z"], name="add"),
                 helper.make_node("Relu", ["z"], ["y"], name="relu")]
    if inits is None:
        inits = [tensor("W", W), tensor("b", B)]
    if inputs is None:
        inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])]
    if outputs is None:
        outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])]
    g = helper.make_graph(nodes, "malformed", inputs, outputs, initializer=inits)
    m = helper.make_model(g, producer_name="make_malformed.py",
                          opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m.SerializeToString()


def base_nodes(w="W"):
    return [helper.make_node("MatMul", ["x", w], ["h"], name="mm"),
            helper.make_node("Add", ["h", "b"], ["z"], name="add"),
            helper.make_node("Relu", ["z"], ["y"], name="relu")]


def npy_bytes(header, data=b"", magic=b"\x93NUMPY", version=b"\x01\x00"):
    """An NPY v1 file with the given header dict text (padded as numpy does)."""
    h = header.encode("latin1")
    pad = 64 - (len(magic) + len(version) + 2 + len(h) + 1) % 64
    h = h + b" " * (pad % 64) + b"\n"
    return magic + version + struct.pack("<H", len(h)) + h + data


def idx_bytes(code, dims, data):
    return b"\x00\x00" + bytes([code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


def make_onnx():
    good = model()
    write("good.onnx", good)
    # valid external data (control for the external cases)
    ext_w = external("W", [4, 3], "ext_ok.bin")
    write("ext_ok.onnx", model(inits=[ext_w, tensor("b", B)]))
    write("ext_ok.bin", W.tobytes())

    write("truncated.onnx", good[: len(good) // 2])
    write("truncated_tiny.onnx", good[:3])
    write("empty.onnx", b"")
    # field number 0 / wire type 7 can never parse, then seeded noise
    write("random_bytes.onnx", b"\x07" + RNG.integers(0, 256, 255, dtype=np.uint8).tobytes())
    png = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" +
           struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0) + b"\x90\x77\x53\xde")
    write("png_header.onnx", png + RNG.integers(0, 256, 64, dtype=np.uint8).tobytes())

    write("negative_dim.onnx", model(inits=[tensor("W", W, dims=[-4, -3]), tensor("b", B)]))
    big = 1 << 31
    write("overflow_dims.onnx", model(inits=[tensor("W", W, dims=[big, big, big, big]),
                                             tensor("b", B)]))
    # element count fits int64, byte count (x8) does not fit 64 bits
    write("overflow_bytes.onnx", model(inits=[
        tensor("W", dims=[1 << 62], raw=b"\0" * 16, dtype=TensorProto.DOUBLE), tensor("b", B)]))
    write("short_raw_data.onnx", model(inits=[tensor("W", W, raw=W.tobytes()[:40]),
                                              tensor("b", B)]))
    fd = tensor("W", dims=[4, 3])
    fd.float_data.extend([1.0] * 5)  # 5 of 12 values
    write("short_float_data.onnx", model(inits=[fd, tensor("b", B)]))
    write("bad_dtype.onnx", model(inits=[tensor("W", W, dtype=77), tensor("b", B)]))

    write("ext_dotdot.onnx", model(inits=[external("W", [4, 3], "../secret.bin"), tensor("b", B)]))
    write("ext_absolute.onnx", model(inits=[external("W", [4, 3], "/etc/hostname"),
                                            tensor("b", B)]))
    # run_malformed.sh makes ext_link.bin a symbolic link at test time
    write("ext_symlink.onnx", model(inits=[external("W", [4, 3], "ext_link.bin"),
                                           tensor("b", B)]))
    write("ext_offset.onnx", model(inits=[external("W", [4, 3], "ext_ok.bin", offset=1000,
                                                   length=48), tensor("b", B)]))
    write("ext_length.onnx", model(inits=[external("W", [4, 3], "ext_ok.bin", offset=8,
                                                   length=48), tensor("b", B)]))

    write("dup_initializer.onnx", model(inits=[tensor("W", W), tensor("W", W), tensor("b", B)]))
    write("dup_output_init.onnx", model(inits=[tensor("W", W), tensor("b", B),
                                               tensor("h", np.zeros((1, 3), np.float32))]))
    write("dup_node_output.onnx", model(nodes=base_nodes() + [
        helper.make_node("Relu", ["x"], ["z"], name="relu2")]))
    write("cycle.onnx", model(nodes=[
        helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
        helper.make_node("Add", ["h", "y"], ["z"], name="add"),
        helper.make_node("Relu", ["z"], ["y"], name="relu")]))
    write("missing_init.onnx", model(inits=[tensor("b", B)]))
    write("output_undefined.onnx", model(outputs=[
        helper.make_tensor_value_info("nowhere", TensorProto.FLOAT, ["N", 3])]))
    write("unsupported_op.onnx", model(nodes=[
        helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
        helper.make_node("FancyActivation", ["h"], ["y"], name="fancy")]))
    write("unsupported_domain.onnx", model(nodes=[
        helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
        helper.make_node("Relu", ["h"], ["y"], name="custom", domain="com.example")]))


def make_npy():
    x = RNG.standard_normal((2, 4)).astype(np.float32)
    good = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", x.tobytes())
    write("x.npy", good)
    write("npy_truncated.npy", good[:20])
    write("npy_empty.npy", b"")
    write("npy_bad_magic.npy", b"\x93NUMPZ" + good[6:])
    write("npy_bad_header.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4 }",
                                          x.tobytes()))
    write("npy_not_dict.npy", npy_bytes("[1, 2, 3]", x.tobytes()))
    write("npy_data_short.npy", good[:-12])
    write("npy_header_past_eof.npy", good[:8] + struct.pack("<H", 60000) + good[10:])
    write("npy_negative_shape.npy", npy_bytes(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 4), }", x.tobytes()))
    write("npy_huge_shape.npy", npy_bytes(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }",
        x.tobytes()))
    write("npy_bad_dtype.npy", npy_bytes(
        "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 2), }", x.tobytes()))
    write("npy_big_endian.npy", npy_bytes(
        "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 4), }", x.byteswap().tobytes()))
    write("npy_fortran.npy", npy_bytes(
        "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 4), }", x.T.tobytes()))


def make_idx():
    # eval model for 28x28 images: y = Flatten(AveragePool7x7(x)) @ W, x (N, 1, 28, 28) -> y (N, 10)
    wi = RNG.standard_normal((16, 10)).astype(np.float32)
    nodes = [helper.make_node("AveragePool", ["x"], ["p"], name="pool", kernel_shape=[7, 7],
                              strides=[7, 7]),
             helper.make_node("Flatten", ["p"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "W"], ["y"], name="mm")]
    write("image_model.onnx", model(
        nodes=nodes, inits=[tensor("W", wi)],
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])]))
    pixels = RNG.integers(0, 256, 2 * 28 * 28, dtype=np.uint8).tobytes()
    images = idx_bytes(0x08, [2, 28, 28], pixels)
    write("images.idx", images)
    write("labels.idx", idx_bytes(0x08, [2], bytes([3, 7])))
    write("idx_truncated.idx", images[:len(images) // 3])
    write("idx_truncated_header.idx", images[:6])
    write("idx_bad_magic.idx", b"\x12\x34" + images[2:200])
    write("idx_bad_type.idx", idx_bytes(0x05, [2, 28, 28], pixels))
    write("idx_zero_rank.idx", idx_bytes(0x08, [], b""))
    write("idx_overflow.idx", idx_bytes(0x0D, [0xFFFFFFFF] * 4, pixels[:64]))
    write("labels_short.idx", idx_bytes(0x08, [5], bytes([3, 7])))
    gz = gzip.compress(images, mtime=0)
    write("idx_truncated_stream.idx.gz", gz[:len(gz) // 2])
    write("idx_gz_data_short.idx.gz", gzip.compress(images[:len(images) // 3], mtime=0))
    write("idx_gz_bad_magic.idx.gz", gzip.compress(b"\x12\x34" + images[2:], mtime=0))


def main():
    os.makedirs(OUT, exist_ok=True)
    make_onnx()
    make_npy()
    make_idx()
    # the controls must be valid
    onnx.checker.check_model(onnx.load_from_string(open(os.path.join(OUT, "good.onnx"), "rb").read()))
    onnx.checker.check_model(onnx.load_from_string(open(os.path.join(OUT, "image_model.onnx"), "rb").read()))
    assert np.load(os.path.join(OUT, "x.npy")).shape == (2, 4)


if __name__ == "__main__":
    main()
