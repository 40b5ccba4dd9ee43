"""``cnnlab explain``: see inside a CNN in the browser, layer by layer and operation by operation.

A local web server (Starlette on uvicorn, the ``explain`` extra) serves a page for
one model: pick, upload or draw a picture and follow it through every layer's
feature maps; hover a map for its values and the filter that made it; click for
the sliding-window arithmetic of a convolution, the window of a pooling layer or
the largest contributions to a dense unit; play with convolution and correlation
of 1-D signals and small images; bend the activation functions.  Every number on
the page is computed on the server by cnnlab (``app.py`` lists the JSON API).

Modules: ``network`` (what a model's layers compute, step by step), ``pictures``
(samples, uploads, checks), ``signals`` (the signal playground), ``app`` (the
server), ``static/`` (the page: plain HTML, CSS and JavaScript, no build step) and
``seed/`` (the shipped model and test images, made by ``scripts/make-explain-seed``).
"""

import json
import os
import socket
import sys

from ..common import CommandError, add_parser, non_negative_int, read_model

MISSING_EXTRA = (
    "the explain page needs Starlette, uvicorn and Pillow (the 'explain' extra): "
    "run  pip install 'cnnlab[explain]'  (in a clone of cnnlab: pip install '.[explain]')"
)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(subparsers):
    parser = add_parser(
        subparsers,
        "explain",
        "see inside a model in the browser: every layer, filter and operation",
        "Starts a local web server with an interactive page for a model (by default the small trained seed "
        "model and 50 Fashion-MNIST test images that ship with cnnlab) and opens it in the browser. Pick, upload "
        "or draw a picture and see the top classes and every layer's feature maps; hover a map for its values "
        "and the filter that made it; click a map for the sliding-window computation at that position (conv: "
        "patch x filter + bias, then the activation; pooling: the window and its maximum; dense: the largest "
        "contributions). A signal playground shows convolution and correlation (full / same / valid, stride) of "
        "1-D sequences and of an image with a small kernel, and another view the activation functions and their "
        "derivatives. Every number comes from cnnlab on the server. The server listens on 127.0.0.1 (this "
        "machine only) at a free port; Ctrl+C stops it.",
        [
            "cnnlab explain                          # the shipped seed model",
            "cnnlab explain runs/seed                # a model trained with 'cnnlab train'",
            "cnnlab explain runs/deep/model.keras --port 8000 --no-browser",
        ],
    )
    parser.add_argument(
        "model",
        nargs="?",
        metavar="RUN_OR_MODEL",
        help="a model file or a run directory of 'cnnlab train' (default: the seed model that ships with cnnlab)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=non_negative_int, default=0, metavar="N", help="the port to listen on (default: a free one)"
    )
    parser.add_argument("--no-browser", dest="browser", action="store_false", help="do not open the page")
    parser.set_defaults(run=run)


def run(args):
    try:
        import PIL  # noqa: F401  (uploads and drawings are decoded with Pillow)
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise CommandError(MISSING_EXTRA) from None
    from .app import LOOPBACK_HOSTS, activation_curves, create_app
    from .pictures import Samples

    if args.port > 65535:
        raise CommandError(f"--port: expected 0-65535 (0: a free port); received {args.port}")
    view = load_view(args.model)
    listener = _listen(args.host, args.port)
    loopback = args.host in LOOPBACK
    app = create_app(
        view, Samples(), activation_curves(), allowed_hosts=[*LOOPBACK_HOSTS, args.host] if loopback else ["*"]
    )
    host, port = listener.getsockname()[:2]
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    print(f"cnnlab explain: {view.title} at {url}  (Ctrl+C stops the server)", flush=True)
    if not loopback:
        print(f"cnnlab explain: listening on {args.host}: other machines that reach it can use the page", flush=True)
    if args.browser:
        import webbrowser

        webbrowser.open(url)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:  # Ctrl+C is how the server is meant to stop: uvicorn has shut down, then re-raised it
        pass
    finally:
        listener.close()
    print("cnnlab explain: stopped", file=sys.stderr)
    return 0


def load_view(model_path=None):
    """The ``NetworkView`` of a model file or run directory, or of the shipped seed model (None).

    Raises:
        CommandError: the model cannot be read, or its input is not a picture.
    """
    from .network import NetworkView

    if model_path is None:
        model, title = seed_model()
    else:
        model, title = read_model(model_path), model_path
    try:
        return NetworkView(model, title)
    except ValueError as err:
        raise CommandError(str(err)) from None


def seed_model():
    """The small trained ``seed`` model that ships with cnnlab, and its title.

    Its weights (``seed/seed-weights.npz``, ``model.get_weights()`` order) are put into
    the ``seed`` architecture of ``cnnlab train``.
    """
    import numpy as np

    from ..models import MODELS
    from .pictures import SEED_DIR, SEED_MANIFEST, SEED_WEIGHTS

    model = MODELS["seed"].build()
    expected = [w.shape for w in model.get_weights()]
    with np.load(os.path.join(SEED_DIR, SEED_WEIGHTS), allow_pickle=False) as archive:
        weights = [archive[f"arr_{i}"] for i in range(len(archive.files))]
    if [w.shape for w in weights] != expected:
        raise CommandError(f"{SEED_WEIGHTS}: the shipped weights do not fit the seed model (damaged install?)")
    model.set_weights(weights)
    with open(os.path.join(SEED_DIR, SEED_MANIFEST), encoding="utf-8") as f:
        manifest = json.load(f)
    title = f"the seed model shipped with cnnlab (test accuracy {manifest['test_accuracy']:.1%})"
    return model, title


def _listen(host, port):
    """A listening TCP socket on ``host``:``port`` (0: a free port chosen by the system)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as err:
        raise CommandError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
