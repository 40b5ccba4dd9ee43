"""What ``fit`` / ``evaluate`` / ``predict`` print: Keras 3's progress bar, one line per epoch, or nothing.

The output is Keras 3's (``keras.utils.Progbar`` driven by ``keras.callbacks.ProgbarLogger``),
byte for byte but for the timings and the values.  ``verbose=1`` (and ``"auto"``) redraws
one line in place, at most every 0.05 s, and ends it with the epoch's final line:

    Epoch 3/20
    375/375 ━━━━━━━━━━━━━━━━━━━━ 3s 8ms/step - accuracy: 0.8812 - loss: 0.3278 - val_accuracy: 0.8655 - val_loss: 0.3722

Each redraw starts with backspaces over the previous line and a carriage return; the step
counter, the elapsed time (the ETA while the epoch runs) and the bar carry ANSI bold and
colour codes.  As Keras does on POSIX systems, this is printed the same whether stdout is a
terminal, a pipe or a file; elsewhere, when stdout is not a terminal, each redraw starts on
a new line instead.  ``verbose=2`` prints one line per epoch when it ends:

    Epoch 3/20
    375/375 - 3s - 8ms/step - accuracy: 0.8812 - loss: 0.3278 - val_accuracy: 0.8655 - val_loss: 0.3722

The ``Epoch k/n`` line is printed only when there is more than one epoch.  The time per
step leaves out the first step (which builds and warms up) once there are others, as
Keras's estimate does.  The logs are printed in the order given: the trainer hands over
the logs the callbacks saw (sorted by name, then what callbacks such as
``ReduceLROnPlateau`` added), as Keras's progress bar, the last callback, shows them.
"""

import math
import os
import re
import sys
import time

import numpy as np

_INTERVAL_SECONDS = 0.05  # Keras's Progbar(interval=0.05): the most a bar is redrawn
_BAR_WIDTH = 20
_BOLD, _GREEN, _WHITE, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"
_ESCAPE_CODE = re.compile("\x1b\\[[0-9;]*m")


def resolve_verbose(verbose, op):
    """``verbose`` as 0, 1 or 2 ('auto' is 1, as in Keras 3).

    Raises:
        ValueError: ``verbose`` is none of 'auto', 0, 1, 2.
    """
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"{op}: verbose must be 'auto', 0, 1 or 2; received verbose={verbose!r}.")
    return verbose


def epoch_title(epoch, epochs):
    """The line printed before an epoch: 'Epoch 3/20', or None for a run of one epoch (Keras prints none)."""
    return f"Epoch {epoch + 1}/{epochs}" if epochs > 1 else None


def write(text):
    """Write ``text`` to the current ``sys.stdout`` and flush it, as Keras's ``io_utils.print_msg`` does.

    A stream whose encoding cannot show the bar's '━' gets '=' instead (Keras 2's bar).
    """
    stream = sys.stdout
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = stream.encoding or "utf-8"
        stream.write(text.replace("━", "=").encode(encoding, errors="ignore").decode(encoding))
    stream.flush()


def _dynamic_display():
    """Whether the bar is redrawn in place (Keras's test: a terminal, a notebook, PyCharm or any POSIX system)."""
    stdout = sys.stdout
    return (
        (hasattr(stdout, "isatty") and stdout.isatty())
        or "ipykernel" in sys.modules
        or "posix" in sys.modules
        or "PYCHARM_HOSTED" in os.environ
    )


def format_step_time(seconds_per_step):
    """' 8ms/step' (with Keras's leading space): seconds, milliseconds or microseconds."""
    if seconds_per_step >= 1 or seconds_per_step == 0:
        return f" {seconds_per_step:.0f}s/step"
    if seconds_per_step >= 1e-3:
        return f" {seconds_per_step * 1e3:.0f}ms/step"
    return f" {seconds_per_step * 1e6:.0f}us/step"


def _format_eta(seconds):
    """'12s', '3:05' or '1:02:09' (whole seconds, cut down as Keras's %d does)."""
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def format_logs(logs, verbose=1):
    """' - accuracy: 0.8812 - loss: 0.3278': four decimals, or an exponent for small values.

    The bar (verbose=1) shows a value in exponent form when its magnitude is at most 1e-3;
    the epoch line (verbose=2) does so for every value at most 1e-3, negative ones too, as Keras does.
    """
    text = ""
    for name, value in logs.items():
        value = value if isinstance(value, float) else float(np.mean(value))
        large = abs(value) > 1e-3 if verbose == 1 else value > 1e-3
        text += f" - {name}: {value:.4f}" if large else f" - {name}: {value:.4e}"
    return text


class Progress:
    """Reports one pass over the data (an epoch, or an evaluate / predict run), as Keras's Progbar.

    Args:
        verbose: 0, 1 or 2.
        steps: the number of batches in the pass, or None while it is not known
            (a dataset's first pass; set ``steps`` before ``finish``).
        title: the line printed first ('Epoch 3/20'), or None.

    After every batch the loop asks ``due(step)`` (a clock read) and only then
    assembles the running logs for ``draw(step, logs)``; ``finish(logs)`` prints
    the final line.

    Example:
        >>> progress = Progress(0, steps=3)
        >>> [progress.due(step) for step in (1, 2, 3)]
        [False, False, False]
        >>> progress.finish({"loss": 0.5})
    """

    def __init__(self, verbose, steps, title=None):
        self.verbose = verbose
        self.steps = steps
        if verbose and title:
            write(title + "\n")
        self._start = time.time()
        self._now = self._start
        self._after_first_step = None
        self._last_draw = None
        self._previous_width = 0
        self._seen = 0

    def due(self, step):
        """Whether the bar should be redrawn after ``step`` batches: at most every 0.05 s, always after the first."""
        self._seen = step
        if self.verbose != 1:
            return False
        self._now = time.time()
        if step == 1:
            self._after_first_step = self._now
        return self._last_draw is None or self._now - self._last_draw >= _INTERVAL_SECONDS

    def draw(self, step, logs):
        """Redraw the bar: ``step`` batches done, running ``logs`` (shown sorted by name, as Keras's batch logs)."""
        self._last_draw = self._now
        self._draw_bar(step, dict(sorted(logs.items())), self._now, final=False)

    def finish(self, logs):
        """The pass is over: print the final line with ``logs`` (validation metrics included)."""
        if self.verbose == 0:
            return
        now = time.time()
        steps = self.steps if self.steps is not None else self._seen
        if self.verbose == 1:
            self._draw_bar(steps, logs or {}, now, final=True)
            return
        digits = int(math.log10(steps)) + 1 if steps > 0 else 1
        line = f"{steps:{digits}d}/{steps} - {now - self._start:.0f}s -"
        line += format_step_time(self._step_time(steps, now)) + format_logs(logs or {}, verbose=2)
        write(line + "\n")

    def _step_time(self, step, now):
        if not step:
            return 0
        if self._after_first_step is not None and step > 1:
            return (now - self._after_first_step) / (step - 1)
        return (now - self._start) / step

    def _draw_bar(self, step, logs, now, final):
        steps = self.steps
        if steps:
            digits = int(math.log10(steps)) + 1
            done = int(_BAR_WIDTH * step / steps)
            bar = f"{_BOLD}{step:{digits}d}/{steps}{_RESET} "
            if done > 0:
                bar += f"{_GREEN}{'━' * done}{_RESET}"
            bar += f"{_WHITE}{'━' * (_BAR_WIDTH - done)}{_RESET}"
        else:
            bar = f"{step:7d}/Unknown"
        step_time = self._step_time(step, now)
        if steps and not final:
            clock = _format_eta(step_time * (steps - step))
        else:
            clock = f"{now - self._start:.0f}s"
        info = f" {_BOLD}{clock}{_RESET}" + format_step_time(step_time) + format_logs(logs)
        width = len(_ESCAPE_CODE.sub("", bar + info))  # what the terminal shows, to blank it at the next redraw
        line = "\b" * self._previous_width + "\r" if _dynamic_display() else "\n"
        line += bar + info + " " * max(self._previous_width - width, 0)
        if final:
            line += "\n"
        write(line)
        self._previous_width = width
