"""``cnnlab predict``: classify pictures (any PNG or JPEG) with a trained model, naming its run's classes."""

import json
import sys

import numpy as np

from .images import ImageError
from .common import add_parser, positive_int
from .data import load_run_model, picture_input


def register(subparsers):
    parser = add_parser(
        subparsers,
        "predict",
        "classify pictures with a trained model",
        "Reads each picture (PNG or JPEG, colour or greyscale, any size) the way the model's training data was "
        "read, as the run's data.json says: for a run on your own pictures or CIFAR-10, resized to its picture "
        "size in its colour mode; for Fashion-MNIST and MNIST, converted to a 28x28 greyscale image the way their "
        "images look (a light object on a dark background, trimmed, centred and scaled; a picture with a light "
        "background, decided from its border, is inverted first, unless --no-invert). Prints the most likely of "
        "the run's classes with their probabilities. A file that cannot be read is reported and the others are "
        "still classified; the exit status is then 1.",
        [
            "cnnlab predict runs/seed/model.keras shirt.jpg boot.png",
            "cnnlab predict runs/seed/model.keras photos/*.jpg --json > predictions.json",
            "cnnlab predict runs/deep dark-background.png --no-invert --top 5",
            "cnnlab predict runs/photos new-photo.jpg         # a run on your own pictures",
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
    model, run_data = load_run_model(args.model)
    class_names = run_data.class_names
    top = min(args.top, len(class_names))
    results, images, failed = [], [], 0
    for path in args.images:
        try:
            images.append(picture_input(run_data, path, invert="auto" if args.invert else False)[0])
        except ImageError as err:
            failed += 1
            print(f"cnnlab predict: error: {err}", file=sys.stderr)
            results.append({"file": path, "error": str(err)})
        else:
            results.append({"file": path})
    if images:
        probabilities = model.predict(np.stack(images), verbose=0)
        classified = (entry for entry in results if "error" not in entry)
        for entry, row in zip(classified, probabilities):
            best = np.argsort(-row, kind="stable")[:top]
            entry["predictions"] = [
                {"class": class_names[i], "label": int(i), "probability": float(row[i])} for i in best
            ]
    width = max(12, *(len(name) for name in class_names))
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for entry in results:
            if "predictions" in entry:
                print(entry["file"])
                for rank, prediction in enumerate(entry["predictions"], start=1):
                    print(f"  {rank}. {prediction['class']:{width}} {prediction['probability']:7.2%}")
    return 1 if failed else 0
