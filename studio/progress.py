"""Training progress callbacks: one interface for the CLI (a tqdm bar) and the UI (a thread-safe state it polls).

The trainer calls on_start(total) once, on_step(Progress) after every optimizer step, on_preview(step, image)
and on_checkpoint(step, path) when it writes them, then on_end(result) on success or on_error(exc) when it
stops on an exception (cancellation included). Callbacks run on the training thread and should return quickly.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import TrainingCancelled


@dataclass
class Progress:
    """One optimizer step: losses are the step's scalar terms; eta_s and it_per_s are over this session."""

    step: int
    total: int
    losses: dict[str, float]
    eta_s: float
    elapsed_s: float
    it_per_s: float

    @property
    def fraction(self) -> float:
        return self.step / self.total if self.total else 1.0


class TrainCallback:
    """No-op base class; subclass and override what you need."""

    def on_start(self, total: int) -> None:
        pass

    def on_step(self, progress: Progress) -> None:
        pass

    def on_preview(self, step: int, image: np.ndarray) -> None:
        pass

    def on_checkpoint(self, step: int, path: Path) -> None:
        pass

    def on_end(self, result: Any) -> None:
        pass

    def on_error(self, error: BaseException) -> None:
        pass


class CallbackList(TrainCallback):
    """Forward every event to several callbacks, in order."""

    def __init__(self, *callbacks: TrainCallback | None) -> None:
        self.callbacks = [c for c in callbacks if c is not None]

    def on_start(self, total: int) -> None:
        for c in self.callbacks:
            c.on_start(total)

    def on_step(self, progress: Progress) -> None:
        for c in self.callbacks:
            c.on_step(progress)

    def on_preview(self, step: int, image: np.ndarray) -> None:
        for c in self.callbacks:
            c.on_preview(step, image)

    def on_checkpoint(self, step: int, path: Path) -> None:
        for c in self.callbacks:
            c.on_checkpoint(step, path)

    def on_end(self, result: Any) -> None:
        for c in self.callbacks:
            c.on_end(result)

    def on_error(self, error: BaseException) -> None:
        for c in self.callbacks:
            c.on_error(error)


class TqdmCallback(TrainCallback):
    """A tqdm progress bar with the main losses as postfix; checkpoints are noted above the bar."""

    def __init__(self, keys: tuple[str, ...] = ("g_adv", "d_adv", "content", "cycle_x", "style", "base"),
                 **tqdm_kwargs: Any) -> None:
        self.keys = keys
        self.kwargs = {"unit": "step", "dynamic_ncols": True, **tqdm_kwargs}
        self.bar = None

    def on_start(self, total: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, **self.kwargs)

    def on_step(self, progress: Progress) -> None:
        if self.bar is None:
            return
        self.bar.set_postfix({k: f"{progress.losses[k]:.3f}" for k in self.keys if k in progress.losses},
                             refresh=False)
        self.bar.update(progress.step - self.bar.n)  # redraws at most every `mininterval` seconds

    def on_checkpoint(self, step: int, path: Path) -> None:
        if self.bar is not None:
            self.bar.write(f"step {step}: checkpoint {path}")

    def on_end(self, result: Any) -> None:
        self.close()

    def on_error(self, error: BaseException) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@dataclass
class TrainSnapshot:
    """What the UI shows: status (idle, running, done, cancelled, failed), the latest progress and preview, the loss
    history [(step, {name: value})], the last checkpoint, the result or the error message."""

    status: str = "idle"
    total: int = 0
    progress: Progress | None = None
    preview: np.ndarray | None = None
    preview_step: int | None = None
    history: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    checkpoint: str | None = None
    result: Any = None
    error: str | None = None


class QueueCallback(TrainCallback):
    """Thread-safe state for a UI to poll with `snapshot()` while training runs on another thread.

    The history keeps every step up to `max_history` entries, then every other one (so it stays bounded).
    """

    def __init__(self, max_history: int = 5000) -> None:
        self._lock = threading.Lock()
        self._state = TrainSnapshot()
        self.max_history = max_history

    def snapshot(self) -> TrainSnapshot:
        """A copy of the current state (the preview array is shared, read-only)."""
        with self._lock:
            snap = copy.copy(self._state)
            snap.history = list(self._state.history)
            return snap

    def on_start(self, total: int) -> None:
        with self._lock:
            self._state = TrainSnapshot(status="running", total=total)

    def on_step(self, progress: Progress) -> None:
        with self._lock:
            self._state.progress = progress
            self._state.history.append((progress.step, dict(progress.losses)))
            if len(self._state.history) > self.max_history:
                self._state.history = self._state.history[::2]

    def on_preview(self, step: int, image: np.ndarray) -> None:
        image = np.array(image, copy=True)
        image.setflags(write=False)
        with self._lock:
            self._state.preview, self._state.preview_step = image, step

    def on_checkpoint(self, step: int, path: Path) -> None:
        with self._lock:
            self._state.checkpoint = str(path)

    def on_end(self, result: Any) -> None:
        with self._lock:
            self._state.status, self._state.result = "done", result

    def on_error(self, error: BaseException) -> None:
        with self._lock:
            self._state.status = "cancelled" if isinstance(error, TrainingCancelled) else "failed"
            self._state.error = str(error)
