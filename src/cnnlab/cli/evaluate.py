"""``cnnlab evaluate``: test accuracy, per-class precision / recall / F1, and a confusion-matrix image.

A run on a standard data set is measured on its test set; a run on a folder of
pictures on the validation pictures its data.json lists, or on the class folders of
``--data DIR``.
"""

import os

import numpy as np

from . import data as run_data_module
from .common import add_data_option, add_parser, check_output_file, model_input

PREDICT_BATCH_SIZE = 256


def register(subparsers):
    parser = add_parser(
        subparsers,
        "evaluate",
        "measure a trained model on its test images",
        "Runs the model on the test set of its data set (Fashion-MNIST's 10,000 images, say) or, for a run on "
        "your own pictures, on the validation pictures it recorded or the class folders of --data DIR; prints the "
        "accuracy and a table of precision, recall and F1 per class, and writes the confusion matrix as a PNG.",
        [
            "cnnlab evaluate runs/seed/model.keras",
            "cnnlab evaluate runs/deep --out deep-confusion.png   # a run directory works too",
            "cnnlab evaluate runs/photos --data more-photos/      # class folders the run has not seen",
        ],
    )
    parser.add_argument("model", metavar="MODEL", help="a model file written by 'cnnlab train' (or its run directory)")
    parser.add_argument(
        "--out", metavar="FILE", help="the confusion-matrix PNG (default: confusion_matrix.png beside the model)"
    )
    add_data_option(parser)
    parser.set_defaults(run=run)


def confusion_matrix(labels, predictions, num_classes):
    """``matrix[true, predicted]`` counts, an int64 array (num_classes, num_classes)."""
    return np.bincount(
        labels.astype(np.int64) * num_classes + predictions, minlength=num_classes * num_classes
    ).reshape(num_classes, num_classes)


def per_class_scores(matrix):
    """Precision, recall and F1 per class from a confusion matrix (0 where undefined, as scikit-learn)."""
    true_positives = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    precision = np.divide(true_positives, predicted, out=np.zeros_like(true_positives), where=predicted > 0)
    recall = np.divide(true_positives, actual, out=np.zeros_like(true_positives), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(true_positives), where=both > 0)
    return precision, recall, f1, actual


def format_report(matrix, class_names):
    """The per-class table, then accuracy and the macro averages."""
    precision, recall, f1, support = per_class_scores(matrix)
    width = max(len(name) for name in class_names) + 2
    lines = [f"{'class':{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for name, p, r, f, s in zip(class_names, precision, recall, f1, support):
        lines.append(f"{name:{width}}{p:>10.4f}{r:>10.4f}{f:>10.4f}{s:>10d}")
    total = int(matrix.sum())
    lines.append("")
    lines.append(f"{'accuracy':{width}}{'':>20}{np.trace(matrix) / total:>10.4f}{total:>10d}")
    lines.append(f"{'macro avg':{width}}{precision.mean():>10.4f}{recall.mean():>10.4f}{f1.mean():>10.4f}{total:>10d}")
    return "\n".join(lines)


def run(args):
    from .plots import plot_confusion_matrix

    model_path = args.model
    model, run_data = run_data_module.load_run_model(model_path)
    out = args.out or os.path.join(
        model_path if os.path.isdir(model_path) else os.path.dirname(model_path), "confusion_matrix.png"
    )
    check_output_file(out)
    if run_data.kind == run_data_module.PICTURES:
        labels, probabilities, what = _pictures(model, run_data, args.data)
    else:
        _, (x_test, labels) = run_data_module.load_standard(run_data.kind, args.data)
        probabilities = model.predict(model_input(x_test), batch_size=PREDICT_BATCH_SIZE, verbose=0)
        what = "test accuracy"
    predictions = np.argmax(probabilities, axis=1)
    matrix = confusion_matrix(labels, predictions, len(run_data.class_names))
    print(f"{what}: {np.trace(matrix) / len(labels):.4f}  ({len(labels)} images)")
    print()
    print(format_report(matrix, run_data.class_names))
    plot_confusion_matrix(
        matrix, run_data.class_names, out, title=f"Confusion matrix: {os.path.basename(os.path.abspath(model_path))}"
    )
    print(f"\nwrote {out}")
    return 0


def _pictures(model, run_data, data_dir):
    """``(labels, probabilities, what)`` on the run's validation pictures, or on the class folders of ``data_dir``."""
    if data_dir:
        paths, local, class_names = run_data_module.scan_pictures(data_dir, run_data)
        labels = run_data_module.labels_for(class_names, run_data.class_names, data_dir)[local]
        what = f"accuracy on {data_dir}"
    else:
        paths, labels = run_data.validation_files()
        missing = [path for path in paths if not os.path.isfile(path)]
        if missing:
            raise run_data_module.CommandError(
                f"{missing[0]}: a validation picture of the run is gone ({len(missing)} of {len(paths)} missing); "
                "evaluate on a folder with --data DIR"
            )
        what = "validation accuracy"
    dataset = run_data_module.picture_dataset(paths, labels, run_data, PREDICT_BATCH_SIZE)
    return labels, model.predict(dataset.map(lambda x, y: x), verbose=0), what
