"""The compatibility corpus: programs written the way public TensorFlow / Keras guides write theirs.

Each ``*.py`` file here (other than ``test_*.py`` and this one) mirrors one public
tutorial or guide, named in its header: the same API calls in the same patterns,
written anew for the suite (not copied), on small generated arrays, asserting what
the guide shows.  ``test_corpus.py`` runs each program in-process with ``runpy``,
as ``python program.py`` would, after seeding cnnlab's random streams, in a folder
of its own, with ``$CNNLAB_DATA`` pointing at a small generated Fashion-MNIST in the
real IDX format (``fake_fashion_mnist``), so that ``tf.keras.datasets.fashion_mnist.load_data()``
works as in the tutorials without the real data set; a program passes when it runs to
its end.  Together they must stay within the suite's budget (a few seconds each).
"""

import numpy as np
import pytest

from cnnlab.datasets import write_idx

FAKE_TRAIN, FAKE_TEST = 1200, 200


def clothing_like_images(labels, rng):
    """28x28 uint8 images: noise under a bright band whose rows and width depend on the class (learnable)."""
    images = rng.integers(0, 70, (len(labels), 28, 28), dtype=np.uint8)
    for image, label in zip(images, labels):
        image[3 + 2 * label : 6 + 2 * label, 2 + label : 26 - label] = rng.integers(180, 256)
    return images


@pytest.fixture(scope="session")
def fake_fashion_mnist(tmp_path_factory):
    """A folder with the four Fashion-MNIST files, 1,200 training and 200 test images."""
    directory = tmp_path_factory.mktemp("fake-fashion-mnist")
    rng = np.random.default_rng(20)
    y_train = rng.integers(0, 10, FAKE_TRAIN).astype(np.uint8)
    y_test = rng.integers(0, 10, FAKE_TEST).astype(np.uint8)
    write_idx(directory / "train-images-idx3-ubyte.gz", clothing_like_images(y_train, rng))
    write_idx(directory / "train-labels-idx1-ubyte.gz", y_train)
    write_idx(directory / "t10k-images-idx3-ubyte.gz", clothing_like_images(y_test, rng))
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", y_test)
    return directory
