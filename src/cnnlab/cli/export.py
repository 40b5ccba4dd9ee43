"""``cnnlab export``: write a trained model as ONNX, for onnxruntime and the other ONNX runtimes."""

import os

from .common import CommandError, add_parser, check_output_file, read_model

FORMATS = ("onnx",)


def register(subparsers):
    parser = add_parser(
        subparsers,
        "export",
        "write a trained model as an ONNX file",
        "Writes the model of a run (or any model file cnnlab or Keras wrote) as ONNX (opset 17): NHWC float32 "
        "images in, one row of class probabilities per image out, any batch size. The onnx checker validates "
        "the file before it is written. Needs the onnx package: pip install 'cnnlab[onnx]'.",
        [
            "cnnlab export runs/seed --format onnx --out seed.onnx",
            "cnnlab export runs/deep/model.keras --format onnx   # writes runs/deep/model.onnx",
        ],
    )
    parser.add_argument("model", metavar="RUN", help="a run directory of 'cnnlab train', or a model file")
    parser.add_argument("--format", choices=FORMATS, default="onnx", help="the file format (default: onnx)")
    parser.add_argument("--out", metavar="FILE", help="the file to write (default: model.onnx beside the model)")
    parser.set_defaults(run=run)


def run(args):
    model_path = args.model
    out = args.out or os.path.join(
        model_path if os.path.isdir(model_path) else os.path.dirname(model_path) or ".", f"model.{args.format}"
    )
    check_output_file(out)
    from ..keras.onnx_export import OPSET, import_onnx

    try:
        import_onnx("cnnlab export")
    except ImportError as err:
        raise CommandError(str(err).removeprefix("cnnlab export: ")) from None
    model = read_model(model_path)
    try:
        model.export(out, format=args.format)
    except ValueError as err:
        raise CommandError(f"{model_path}: {str(err).removeprefix('export: ')}") from None
    shapes = ", ".join(str(("batch", *tensor.shape[1:])) for tensor in model.inputs)
    print(f"wrote {out} (ONNX, opset {OPSET}; input {shapes} float32, NHWC)")
    return 0
