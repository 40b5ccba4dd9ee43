"""``tf.version``: the TensorFlow version whose API cnnlab follows.

Programs check ``tf.__version__`` the TF way (``packaging.version.parse(tf.__version__)
>= Version("2.8")``), so cnnlab answers in TensorFlow's version space: ``VERSION`` is
the TF 2 release whose public API and semantics cnnlab matches (2.16, the first with
Keras 3 as ``tf.keras``).  cnnlab's own release is ``cnnlab.__cnnlab_version__``
(also the package metadata and ``cnnlab --version``).

Example:
    >>> import cnnlab as tf
    >>> tf.version.VERSION, tf.__version__
    ('2.16.0', '2.16.0')
"""

# The TF release whose API cnnlab follows.
VERSION = "2.16.0"
# TF's build identifiers have no meaning here: they name cnnlab instead.
GIT_VERSION = "cnnlab"
COMPILER_VERSION = "cnnlab (pure Python on NumPy)"

# cnnlab's own version: the one in pyproject.toml.
CNNLAB_VERSION = "0.1.0"
