"""The plot helpers: fixed PNG sizes, images drawn the right way up, argument errors."""

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli.plots import plot_activations, plot_confusion_matrix, plot_history, plot_image_grid


def pixels(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int64)


def test_image_grid_panels_are_upright_and_where_the_layout_says(tmp_path):
    checker = np.array([[0.0, 1.0], [1.0, 0.0]])  # black top-left, white top-right
    filter_ = np.array([[-1.0, 1.0]])
    path = plot_image_grid([checker, filter_], ["checker", "filter"], tmp_path / "g.png", "two panels", columns=1)
    png = pixels(path)
    assert png.shape == (160 * 2 + 60, 160, 3)
    # panel 0: a 160 px cell below the 60 px title; a 19 px label band on top, and the
    # 2x2 image enlarged 68 times (136 px) centred in the 141 px below it (2 px above the cell's foot).
    top, left = 60 + 160 - 2 - 136, 12
    assert png[top + 34, left + 34].tolist() == [0, 0, 0]
    assert png[top + 34, left + 102].tolist() == [255, 255, 255]
    assert png[top + 102, left + 34].tolist() == [255, 255, 255]
    assert png[top + 102, left + 102].tolist() == [0, 0, 0]
    # panel 1, symmetric=False: the 1x2 filter's min..max in grey, left dark, right light
    middle_1 = 60 + 160 + 160 - (141 - 68) // 2 - 68 // 2  # a 1x2 image enlarged 68 times
    assert png[middle_1, 40].tolist() == [0, 0, 0] and png[middle_1, 120].tolist() == [255, 255, 255]


def test_symmetric_grid_puts_zero_in_the_middle_of_a_red_blue_map(tmp_path):
    path = plot_image_grid([np.array([[-2.0, 0.0, 1.0]])], ["w"], tmp_path / "f.png", "filters", symmetric=True)
    png = pixels(path)
    row = 60 + 160 - (141 - 45) // 2 - 45 // 2  # a 1x3 image enlarged 45 times: the middle of its rows
    blue, middle, red = png[row, 12 + 22], png[row, 12 + 22 + 45], png[row, 12 + 22 + 90]
    assert blue[2] > blue[0] + 80  # -2: the dark blue end
    assert red[0] > red[2] + 50  # +1: half-way to red
    assert np.all(middle > 230)  # 0: the white middle of RdBu


def test_fixed_sizes(tmp_path):
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.7]}
    assert Image.open(plot_history(history, tmp_path / "h.png")).size == (1000, 400)
    matrix = np.arange(9).reshape(3, 3)
    assert Image.open(plot_confusion_matrix(matrix, ["a", "b", "c"], tmp_path / "c.png")).size == (800, 700)
    x = np.linspace(-1, 1, 5)
    curves = [("f", x, np.ones_like(x)), ("g", x, x)]
    assert Image.open(plot_activations(x, curves, tmp_path / "a.png")).size == (600, 600)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="plot_history: history must hold a non-empty 'loss' list"):
        plot_history({"accuracy": [0.5]}, tmp_path / "h.png")
    with pytest.raises(ValueError, match=r"Received: matrix.shape=\(2, 3\), 2 class names"):
        plot_confusion_matrix(np.zeros((2, 3)), ["a", "b"], tmp_path / "c.png")
    with pytest.raises(ValueError, match="Received: 2 images, 1 titles"):
        plot_image_grid([np.zeros((2, 2))] * 2, ["one"], tmp_path / "g.png", "t")
    assert not list(tmp_path.iterdir())  # nothing written, not even a temporary file
