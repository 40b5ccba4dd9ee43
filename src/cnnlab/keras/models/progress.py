"""What ``fit`` / ``evaluate`` / ``predict`` print: a progress bar, one line per epoch, or nothing.

verbose=1 draws a tqdm bar per epoch (tqdm is optional; without it the same
information is printed as text), showing the steps done, the time per step and
the running loss and metrics.  verbose=2 prints one line per epoch, Keras's way:

    Epoch 3/20
    1500/1500 - 4s - 2ms/step - loss: 0.3120 - accuracy: 0.8891 - val_loss: 0.3304 - val_accuracy: 0.8810

The bar is redrawn at most ten times a second, so the training loop only pays
for a clock read per step.
"""

import sys
import time

_REFRESH_SECONDS = 0.1


def resolve_verbose(verbose, op):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"{op}: verbose must be 'auto', 0, 1 or 2; received verbose={verbose!r}.")
    return verbose


def format_logs(logs):
    return " - ".join(f"{name}: {value:.4f}" for name, value in logs.items())


def _format_seconds(seconds):
    return f"{seconds:.0f}s" if seconds >= 1 or seconds == 0 else f"{seconds * 1000:.0f}ms"


def _format_step_time(seconds_per_step):
    if seconds_per_step >= 1:
        return f"{seconds_per_step:.0f}s/step"
    if seconds_per_step >= 1e-3:
        return f"{seconds_per_step * 1e3:.0f}ms/step"
    return f"{seconds_per_step * 1e6:.0f}us/step"


class Progress:
    """Reports one pass over the data (an epoch, or an evaluate / predict run).

    Args:
        verbose: 0, 1 or 2.
        steps: the number of batches in the pass.
        title: printed first ('Epoch 3/20'), or None.

    After every batch the loop asks ``due(step)`` (a clock read) and only then
    assembles the running logs for ``draw(step, logs)``.
    """

    def __init__(self, verbose, steps, title=None):
        self.verbose = verbose
        self.steps = steps
        self.title = title
        self._stream = sys.stdout
        self._start = time.perf_counter()
        self._next_refresh = self._start + _REFRESH_SECONDS
        self._bar = None
        if verbose == 1:
            self._bar = _make_bar(steps, title, self._stream)
            if self._bar is None and title:
                print(title, file=self._stream)
        elif verbose == 2 and title:
            print(title, file=self._stream)

    def due(self, step):
        """Whether the bar should be redrawn after ``step`` batches (at most ten times a second)."""
        if self.verbose != 1:
            return False
        now = time.perf_counter()
        if now < self._next_refresh and (self.steps is None or step < self.steps):  # None: not known yet
            return False
        self._next_refresh = now + _REFRESH_SECONDS
        return True

    def draw(self, step, logs):
        """Redraw the bar: ``step`` batches done, running ``logs``."""
        self._draw(step, time.perf_counter(), logs)

    def finish(self, logs):
        """The pass is over: print the final line with ``logs`` (validation metrics included)."""
        if self.verbose == 0:
            return
        now = time.perf_counter()
        if self.verbose == 1 and self._bar is not None:
            self._draw(self.steps, now, logs, refresh=False)
            self._bar.close()  # draws the final state once more and ends the line
            return
        elapsed = now - self._start
        parts = [
            f"{self.steps}/{self.steps}",
            _format_seconds(elapsed),
            _format_step_time(elapsed / max(self.steps, 1)),
        ]
        if logs:
            parts.append(format_logs(logs))
        end = "\n"
        if self.verbose == 1:  # text fallback of the bar: overwrite the running line
            self._stream.write("\r")
        self._stream.write(" - ".join(parts) + end)
        self._stream.flush()

    def _draw(self, step, now, logs, refresh=True):
        elapsed = now - self._start
        step_time = _format_step_time(elapsed / max(step, 1))
        text = f"{step_time} - {format_logs(logs)}" if logs else step_time
        if self._bar is not None:
            self._bar.n = step
            self._bar.set_postfix_str(text, refresh=False)
            if refresh:
                self._bar.refresh()
        elif self._stream.isatty():
            self._stream.write(f"\r{step}/{self.steps} - {_format_seconds(elapsed)} - {text}")
            self._stream.flush()


def _make_bar(steps, title, stream):
    """A tqdm bar, or None when tqdm is not installed (it is an optional dependency)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(
        total=steps,
        desc=title,
        unit="step",
        file=stream,
        leave=True,
        dynamic_ncols=True,
        mininterval=_REFRESH_SECONDS,
        # tqdm puts ", " before the postfix (the step time and running logs).
        bar_format=("{desc}: " if title else "") + "{n_fmt}/{total_fmt} |{bar}| {elapsed}<{remaining}{postfix}",
    )
