"""The app's training jobs without gradio (studio/jobs.py): one job at a time, cancel, failures kept as messages,
and the module imports without gradio."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.errors import BusyError, DatasetError, TrainingCancelled
from studio import jobs as training_jobs

ROOT = Path(__file__).resolve().parents[1]


def imports_without_gradio(*modules: str) -> None:
    """Import `modules` in a fresh interpreter and check that gradio was not loaded along with them."""
    code = ";".join(f"import {m}" for m in modules) + ";import sys;print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False", f"importing {modules} loads gradio"


def test_imports_without_gradio():
    imports_without_gradio("studio.jobs")


class TestJobManager:
    def test_one_job_at_a_time(self, tmp_path):
        jobs = training_jobs.JobManager()
        release = threading.Event()

        def slow(cb, cancel):
            cb.on_start(10)
            release.wait(10)

        jobs.start("a", tmp_path / "a", slow)
        try:
            with pytest.raises(BusyError, match=r"already running \(step 0/10\); wait or cancel it"):
                jobs.start("b", tmp_path / "b", lambda cb, cancel: None)
        finally:
            release.set()
            assert jobs.wait(10)
        assert jobs.current().state == "done"
        jobs.start("b", tmp_path / "b", lambda cb, cancel: None)  # free again
        jobs.wait(10)

    def test_cancel(self, tmp_path):
        jobs = training_jobs.JobManager()
        started = threading.Event()

        def until_cancelled(cb, cancel):
            started.set()
            cancel.wait(10)
            raise TrainingCancelled("stopped")

        assert not jobs.cancel()
        jobs.start("a", tmp_path / "a", until_cancelled)
        started.wait(5)
        assert jobs.cancel() and jobs.wait(10)
        assert jobs.current().state == "cancelled" and "cancelled" in jobs.current().message

    @pytest.mark.parametrize("error, message", [(DatasetError("no faces in x"), "no faces in x"),
                                                (RuntimeError("boom"), "training failed (RuntimeError: boom)")])
    def test_failures_keep_the_app_alive(self, tmp_path, error, message):
        jobs = training_jobs.JobManager()

        def fail(cb, cancel):
            raise error

        jobs.start("a", tmp_path / "a", fail)
        jobs.wait(10)
        assert jobs.current().state == "failed" and jobs.current().message == message

    def test_a_package_result_is_kept(self, tmp_path, tiny_style):
        jobs = training_jobs.JobManager()

        class Result:
            package = tiny_style

        job = jobs.start("tiny", tmp_path / "tiny", lambda cb, cancel: Result())
        assert jobs.wait(10) and job.state == "done" and job.package is tiny_style
        assert job.message == "style “tiny” is ready" and job.finished >= job.started
