"""``cnnlab predict``: classify pictures of clothes (any PNG or JPEG) with a trained model."""

import json
import sys

import numpy as np

from ..datasets import CLASS_NAMES
from ..images import ImageError, load_image
from .common import add_parser, load_model, model_input, positive_int


def register(subparsers):
    parser = add_parser(
        subparsers,
        "predict",
        "classify pictures of clothes",
        "Converts each picture (PNG or JPEG, colour or greyscale, any size) to a 28x28 greyscale image the way "
        "Fashion-MNIST images look: a light garment on a dark background, trimmed, centred and scaled. A picture "
        "with a light background (decided from its border) is inverted first, unless --no-invert. Prints the "
        "most likely classes with their probabilities. A file that cannot be read is reported and the others are "
        "still classified; the exit status is then 1.",
        [
            "cnnlab predict runs/seed/model.keras shirt.jpg boot.png",
            "cnnlab predict runs/seed/model.keras photos/*.jpg --json > predictions.json",
            "cnnlab predict runs/deep dark-background.png --no-invert --top 5",
        ],
    )
    parser.add_argument("model", metavar="MODEL", help="a model file written by 'cnnlab train' (or its run directory)")
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="pictures to classify")
    parser.add_argument("--json", action="store_true", help="print one JSON document (a list, one entry per picture)")
    parser.add_argument(
        "--no-invert",
        dest="invert",
        action="store_false",
        help="never invert (the pictures already have a dark background)",
    )
    parser.add_argument(
        "--top", type=positive_int, default=3, metavar="K", help="how many classes to show (default: 3)"
    )
    parser.set_defaults(run=run)


def run(args):
    model = load_model(args.model)
    top = min(args.top, len(CLASS_NAMES))
    results, images, failed = [], [], 0
    for path in args.images:
        try:
            images.append(load_image(path, invert="auto" if args.invert else False))
        except ImageError as err:
            failed += 1
            print(f"cnnlab predict: error: {err}", file=sys.stderr)
            results.append({"file": path, "error": str(err)})
        else:
            results.append({"file": path})
    if images:
        probabilities = model.predict(model_input(np.stack(images)), verbose=0)
        classified = (entry for entry in results if "error" not in entry)
        for entry, row in zip(classified, probabilities):
            best = np.argsort(-row, kind="stable")[:top]
            entry["predictions"] = [
                {"class": CLASS_NAMES[i], "label": int(i), "probability": float(row[i])} for i in best
            ]
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for entry in results:
            if "predictions" in entry:
                print(entry["file"])
                for rank, prediction in enumerate(entry["predictions"], start=1):
                    print(f"  {rank}. {prediction['class']:12} {prediction['probability']:7.2%}")
    return 1 if failed else 0
