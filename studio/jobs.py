"""Training jobs of the app, without gradio: at most one per process (JobManager, on a daemon thread, polled by
the page), and how the Studio tab's settings become a TrainConfig and a job (start_training)."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from core.config import style_name
from core.errors import BusyError, DatasetError, PortraitStudioError, StylePackageError, TrainingCancelled
from core.package import StylePackage, default_styles_dir
from studio.progress import QueueCallback, TrainCallback
from studio.session import StudioSession
from studio.workspace import photo_pool_dir, work_dir

logger = logging.getLogger(__name__)

PRESET_OVERRIDES_ENV = "PORTRAIT_TRAIN_PRESET_OVERRIDES"  # JSON dict applied over the preset (tests: tiny runs)


@dataclass
class Job:
    """One training job: its id, style name and output folder, the progress state the trainer feeds, and the
    outcome (state: running, done, failed or cancelled; message; the new package)."""

    id: int
    name: str
    out: Path
    callback: QueueCallback
    cancel: threading.Event
    started: float
    state: str = "running"
    message: str = ""
    package: StylePackage | None = None
    finished: float | None = None
    thread: threading.Thread | None = None


class JobManager:
    """At most one training job per process, run on a daemon thread; UIs poll `current()` and its snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._job: Job | None = None
        self._ids = 0

    def current(self) -> Job | None:
        """The running job, or the last one that ended."""
        with self._lock:
            return self._job

    def busy_message(self, job: Job) -> str:
        snap = job.callback.snapshot()
        step = snap.progress.step if snap.progress else 0
        total = snap.total or "?"
        return f"a training job is already running (step {step}/{total}); wait or cancel it"

    def start(self, name: str, out: Path, run: Callable[[TrainCallback, threading.Event], Any]) -> Job:
        """Start `run(callback, cancel_event)` in the background; BusyError while another job runs."""
        with self._lock:
            if self._job is not None and self._job.state == "running":
                raise BusyError(self.busy_message(self._job))
            self._ids += 1
            job = Job(self._ids, name, Path(out), QueueCallback(), threading.Event(), time.time())
            job.thread = threading.Thread(target=self._run, args=(job, run), name=f"train-{name}", daemon=True)
            self._job = job
        job.thread.start()
        return job

    def cancel(self) -> bool:
        """Ask the running job to stop at its next step; False when none runs."""
        with self._lock:
            job = self._job
        if job is None or job.state != "running":
            return False
        job.cancel.set()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the current job ends; True when none is running any more."""
        job = self.current()
        if job is not None and job.thread is not None:
            job.thread.join(timeout)
        return job is None or job.state != "running"

    @staticmethod
    def _run(job: Job, run: Callable[[TrainCallback, threading.Event], Any]) -> None:
        try:
            result = run(job.callback, job.cancel)
            package = getattr(result, "package", result)
            job.package = package if isinstance(package, StylePackage) else None
            job.state, job.message = "done", f"style “{job.name}” is ready"
        except TrainingCancelled:
            job.state, job.message = "cancelled", "training cancelled; nothing was installed"
        except PortraitStudioError as exc:
            job.state, job.message = "failed", str(exc)
        except Exception as exc:  # a trainer bug must not take the app down; the log keeps the traceback
            logger.exception("training job %s failed", job.name)
            job.state, job.message = "failed", f"training failed ({type(exc).__name__}: {exc})"
        finally:
            job.finished = time.time()


JOBS = JobManager()


def preset_overrides() -> dict[str, Any]:
    """Test-only overrides of the training preset, from $PORTRAIT_TRAIN_PRESET_OVERRIDES (a JSON object)."""
    raw = os.environ.get(PRESET_OVERRIDES_ENV, "").strip()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"${PRESET_OVERRIDES_ENV} is not valid JSON ({exc}); unset it or fix it") from None
    if not isinstance(data, dict):
        raise DatasetError(f"${PRESET_OVERRIDES_ENV} must be a JSON object of TrainConfig fields")
    return data


def train_config(preset: str, steps: int | None, size: int | None, landmark_edit: dict | None = None):
    """The preset's TrainConfig with the page's steps, size and landmark edit, the app's cache folder, then the
    test-only $PORTRAIT_TRAIN_PRESET_OVERRIDES (unknown keys are refused by TrainConfig)."""
    from studio.train import TrainConfig

    changes: dict[str, Any] = {"cache_dir": str(work_dir() / "cache"), "landmark_edit": landmark_edit or {}}
    if steps:
        changes["steps"] = int(steps)
    if size:
        changes["size"] = int(size)
        changes["perceptual_size"] = int(size)
    changes.update(preset_overrides())
    config = TrainConfig.from_dict(changes, TrainConfig.preset(preset))
    config.validate()
    return config


def check_style_name(name: str) -> str:
    """The package name for what the user typed (`core.config.style_name`), refused when that style exists."""
    name = style_name(name)
    if (default_styles_dir() / name).exists():
        raise StylePackageError(f"a style named {name!r} is already installed; choose another name")
    return name


def start_training(session: StudioSession, name: str, preset: str, steps: int | None, size: int | None,
                   landmark_edit: dict | None = None, jobs: JobManager = JOBS) -> Job:
    """Check the inputs and start a training job on the session's artworks and the photo pool.
    PORTRAIT_TRAINING=0 (e.g. on a public Space) turns training off for every visitor."""
    if os.environ.get("PORTRAIT_TRAINING", "1").strip().lower() in ("0", "false", "off", "no"):
        raise BusyError("training is turned off on this server (PORTRAIT_TRAINING=0); run Portrait Studio locally "
                        "or on your own Space to train a style")
    current = jobs.current()
    if current is not None and current.state == "running":
        raise BusyError(jobs.busy_message(current))
    if not session or not session.files():
        raise DatasetError("upload the artworks of your style first (10-100 images of faces in one style)")
    name = check_style_name(name)
    config = train_config(preset, steps, size, landmark_edit)
    out = default_styles_dir() / name
    artworks = session.artworks
    overrides = session.overrides if session.overrides.is_file() else None
    photos = photo_pool_dir()
    run_dir = work_dir() / "runs" / f"{name}-{uuid.uuid4().hex[:6]}"

    def run(callback: TrainCallback, cancel: threading.Event):
        from studio.train import train

        return train(config, styles=artworks, photos=photos, out=out, run_dir=run_dir, callback=callback,
                     cancel=cancel, name=name, overrides=overrides)

    return jobs.start(name, out, run)
