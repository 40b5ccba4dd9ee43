"""The explain page's web server: the page, its scripts and a small JSON API, on Starlette.

    GET  /                    the page (static/index.html; static/ holds every asset it uses)
    GET  /api/model           the model: title, input shape, class names, layers
    GET  /api/samples         the shipped test images: labels, test-set indices, pixels
    GET  /api/activations     activation functions and their derivatives (GradientTape)
    POST /api/predict         the top classes for a picture
    POST /api/layers          every layer's output for a picture (with conv filters)
    POST /api/conv-step       one conv output worked out: patch x filter + bias, activation
    POST /api/pool-step       one pooling output: its window and maximum (or mean)
    POST /api/dense-step      one dense unit: its largest contributions
    POST /api/signal          the signal playground: cnnlab.signal's output and its steps

The picture in a POST is either a JSON body (``{"sample": i}`` or
``{"pixels": [[...]]}``, plus the step's position) or, for ``/api/predict`` and
``/api/layers``, the bytes of an uploaded picture file (any other Content-Type;
``?invert=auto|true|false``); every answer about a picture carries its ``pixels``,
which the page sends back with later requests.  A bad request gets a 4xx answer
``{"error": message}``; the server never stops on one.

The work runs on Starlette's thread pool, so requests are served concurrently; the
model itself runs one request at a time (``NetworkView``), and at most
``DECODERS`` uploads are decoded at once, which bounds the memory a burst of large
uploads can take.
"""

import json
import os
import threading

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .network import RequestError
from .pictures import MAX_UPLOAD_BYTES, decode_upload, fit_to_size, parse_pixels, upload_too_large_message
from .signals import signal_result

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
MAX_JSON_BYTES = 256 * 1024
# Bodies too large are read and dropped up to this size before the 413 answer (see ``_body``).
DRAIN_LIMIT = 64 * 1024 * 1024
DECODERS = 2
LOOPBACK_HOSTS = ["127.0.0.1", "localhost"]


def create_app(view, samples, activation_curves, allowed_hosts=LOOPBACK_HOSTS):
    """The ASGI application serving the page for one model.

    Args:
        view: the ``NetworkView`` of the model.
        samples: the ``Samples`` the picker offers.
        activation_curves: ``{"x": [...], "functions": [{"name", "values", "derivatives"}]}``,
            computed once (a GradientTape is process-wide state: no request opens one).
        allowed_hosts: the Host names the server answers (loopback only by default, so
            that no other web page can reach it through a DNS name pointing here).

    Returns:
        A ``starlette.applications.Starlette`` app.
    """
    api = _Api(view, samples, activation_curves)
    routes = [
        Route("/", _index),
        Route("/api/model", api.model),
        Route("/api/samples", api.samples),
        Route("/api/activations", api.activations),
        Route("/api/predict", api.predict, methods=["POST"]),
        Route("/api/layers", api.layers, methods=["POST"]),
        Route("/api/conv-step", api.conv_step, methods=["POST"]),
        Route("/api/pool-step", api.pool_step, methods=["POST"]),
        Route("/api/dense-step", api.dense_step, methods=["POST"]),
        Route("/api/signal", api.signal, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)],
        exception_handlers={RequestError: _request_error},
    )


async def _index(request):
    return FileResponse(os.path.join(STATIC_DIR, "index.html"), media_type="text/html")


async def _request_error(request, error):
    return JSONResponse({"error": str(error)}, status_code=error.status)


class _Api:
    def __init__(self, view, samples, activation_curves):
        self.view = view
        self.sample_set = samples
        self.curves = activation_curves
        self.decoders = threading.BoundedSemaphore(DECODERS)

    async def model(self, request):
        return JSONResponse(self.view.describe())

    async def samples(self, request):
        return JSONResponse(
            [{**entry, "pixels": self._sample_pixels(entry["index"]).tolist()} for entry in self.sample_set.describe()]
        )

    async def activations(self, request):
        return JSONResponse(self.curves)

    async def predict(self, request):
        pixels, _ = await self._picture(request, allow_upload=True)
        result = await run_in_threadpool(self.view.predict, pixels)
        return JSONResponse({"pixels": pixels.tolist(), **result})

    async def layers(self, request):
        pixels, _ = await self._picture(request, allow_upload=True)
        result = await run_in_threadpool(self.view.layer_values, pixels)
        return JSONResponse({"pixels": pixels.tolist(), **result})

    async def conv_step(self, request):
        pixels, body = await self._picture(request)
        result = await run_in_threadpool(
            self.view.conv_step, pixels, body.get("layer"), body.get("channel"), body.get("row"), body.get("col")
        )
        return JSONResponse(result)

    async def pool_step(self, request):
        pixels, body = await self._picture(request)
        result = await run_in_threadpool(
            self.view.pool_step, pixels, body.get("layer"), body.get("channel"), body.get("row"), body.get("col")
        )
        return JSONResponse(result)

    async def dense_step(self, request):
        pixels, body = await self._picture(request)
        result = await run_in_threadpool(self.view.dense_step, pixels, body.get("layer"), body.get("unit"))
        return JSONResponse(result)

    async def signal(self, request):
        body = await _json_body(request)
        return JSONResponse(await run_in_threadpool(signal_result, body))

    # ---- the picture a request is about ---------------------------------------------------

    async def _picture(self, request, allow_upload=False):
        """``(pixels, JSON body or {})``: the picture named, sent or uploaded with the request."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            if not allow_upload:
                raise RequestError("expected a JSON body (Content-Type: application/json)", status=415)
            invert = {"auto": "auto", "true": True, "false": False}.get(request.query_params.get("invert", "auto"))
            if invert is None:
                raise RequestError(
                    f"invert: expected auto, true or false; received {request.query_params.get('invert')!r}"
                )
            data = await _body(request, MAX_UPLOAD_BYTES, upload_too_large_message)
            pixels = await run_in_threadpool(self._decode, data, invert)
            return fit_to_size(pixels, self.view.picture_size), {}
        body = await _json_body(request)
        if "sample" in body:
            index = body["sample"]
            count = len(self.sample_set.images)
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count:
                raise RequestError(f"sample: expected a whole number 0-{count - 1}; received {index!r}")
            return self._sample_pixels(index), body
        if "pixels" in body:
            return parse_pixels(body["pixels"], self.view.picture_size), body
        raise RequestError('expected the picture: {"sample": index} or {"pixels": rows of 0-255}')

    def _decode(self, data, invert):
        with self.decoders:
            return decode_upload(data, invert)

    def _sample_pixels(self, index):
        return fit_to_size(self.sample_set.images[index], self.view.picture_size)


async def _body(request, limit, too_large):
    """The request body, or 413 once it passes ``limit`` bytes.

    A body that is too large is still read to its end (and dropped, up to
    ``DRAIN_LIMIT`` bytes), because a client that is still sending does not read an
    early answer: it would see a broken connection instead of the message.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > DRAIN_LIMIT:
        raise RequestError(too_large(int(declared)), status=413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > DRAIN_LIMIT:
            break
    if size > limit:
        raise RequestError(too_large(size), status=413)
    return b"".join(chunks)


async def _json_body(request):
    data = await _body(
        request, MAX_JSON_BYTES, lambda size: f"the request is {size:,} bytes; at most {MAX_JSON_BYTES:,}"
    )
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RequestError(f"the request body is not JSON ({err})") from None
    except RecursionError:
        raise RequestError("the request body nests too deeply") from None
    if not isinstance(body, dict):
        raise RequestError(f"expected a JSON object; received {type(body).__name__}")
    return body


def activation_curves(points=601):
    """The activation functions over [-6, 6] and their derivatives (``cnnlab activations``'s)."""
    from ..activations import activation_curves as curves

    x = np.linspace(-6.0, 6.0, points, dtype=np.float32)
    return {
        "x": x.tolist(),
        "functions": [
            {"name": name, "values": values.tolist(), "derivatives": derivatives.tolist()}
            for name, values, derivatives in curves(x)
        ],
    }
