"""The run folder of a training run (`RunDir`): what `studio.train` writes besides the style package.

    RUN/config.json            the TrainConfig (resuming compares against it)
    RUN/dataset.json           every artwork's and photo's record, the landmark edit, the held-out photos
    RUN/losses.jsonl           one row per optimizer step: {"step", "time_s", loss terms...}
    RUN/losses.png             the loss plot (`plot_losses`)
    RUN/previews/step_N.jpg    held-out photos, original | stylized (`preview_grid`)
    RUN/checkpoints/step_N/    accelerate `save_state` folders, written to `.tmp-step_N` and renamed when whole

Under `accelerate launch` every process holds a RunDir; only the main one (`main=True`) writes files, while
checkpoints are written by all of them together (`save_checkpoint`).
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ResumeError
from core.generator import GeneratorConfig
from core.images import save_image
from studio.config import RESUMABLE, TrainConfig

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
CONFIG_FILE = "config.json"
LOSSES_FILE = "losses.jsonl"
PLOT_FILE = "losses.png"
PREVIEWS = "previews"
DATASET_FILE = "dataset.json"
CHECKPOINT_TMP = ".tmp-"  # checkpoints are written to checkpoints/.tmp-step_N and renamed to step_N when complete
# What accelerate's load_state needs, by the files save_state writes last: weights (either name), the random
# states, and the trainer's second custom object (the step counter, the very last file).
CHECKPOINT_FILES = (("model.safetensors", "pytorch_model.bin"), ("random_states_0.pkl",), ("custom_checkpoint_1.pkl",))
STEP_RE = re.compile(r"step_(\d+)")


def read_losses(run_dir: str | Path) -> list[dict]:
    """The rows of run_dir/losses.jsonl ([] when there is none)."""
    file = Path(run_dir) / LOSSES_FILE
    if not file.is_file():
        return []
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]


def plot_losses(run_dir: str | Path, smooth: int = 25) -> Path | None:
    """losses.png in run_dir: every term against the step, moving average over `smooth` steps."""
    rows = read_losses(run_dir)
    if not rows:
        return None
    from matplotlib.figure import Figure  # no pyplot: no global backend, safe off the main thread (Agg canvas)

    keys = list(dict.fromkeys(k for r in rows for k in r if k not in ("step", "time_s")))
    steps = np.array([r["step"] for r in rows])
    fig = Figure(figsize=(12, 2.6 * math.ceil(len(keys) / 3)))
    axes = fig.subplots(math.ceil(len(keys) / 3), 3, squeeze=False)
    for ax, key in zip(axes.flat, keys):
        values = np.array([r.get(key, np.nan) for r in rows], dtype=float)
        ok = np.isfinite(values)  # terms logged on some steps only (warm-up, lazy R1)
        x, y = steps[ok], values[ok]
        ax.plot(x, y, alpha=0.3, lw=0.8)
        if len(y) >= smooth:
            ax.plot(x[smooth - 1:], np.convolve(y, np.ones(smooth) / smooth, mode="valid"), lw=1.5)
        ax.set_title(key, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.tight_layout()
    path = Path(run_dir) / PLOT_FILE
    fig.savefig(path, dpi=90)
    return path


def preview_grid(originals: np.ndarray, stylized: np.ndarray, per_row: int = 4) -> np.ndarray:
    """(N, S, S, 3) pairs -> one uint8 image: rows of `per_row` [original | stylized] pairs, white gaps."""
    n, s = len(originals), originals.shape[1]
    rows = math.ceil(n / per_row)
    cols = min(n, per_row)
    gap = max(2, s // 32)
    grid = np.full((rows * (s + gap) - gap, cols * (2 * s + 3 * gap) - 2 * gap, 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, per_row)
        y, x = r * (s + gap), c * (2 * s + 3 * gap)
        grid[y:y + s, x:x + s] = originals[i]
        grid[y:y + s, x + s + gap:x + 2 * s + gap] = stylized[i]
    return grid


def checkpoint_missing(path: Path) -> list[str]:
    """The files a checkpoint folder lacks for resuming ([] when complete): a run killed while writing one with
    an older version left it partial or empty."""
    return [names[0] for names in CHECKPOINT_FILES if not any((path / n).is_file() for n in names)]


def config_diff(config: TrainConfig, saved_file: Path) -> list[str]:
    """The settings of `config` that differ from the run saved in `saved_file`, other than the RESUMABLE ones."""
    saved = json.loads(saved_file.read_text())
    if isinstance(saved.get("generator"), dict):  # generator keys added since then take their legacy values
        saved["generator"] = GeneratorConfig.from_dict(saved["generator"]).to_dict()
    now = json.loads(json.dumps(config.to_dict()))  # tuples -> lists, like the saved file
    # a run saved before a setting existed ran with that setting's default
    default = json.loads(json.dumps(TrainConfig().to_dict()))
    return sorted(k for k in now if k not in RESUMABLE and now.get(k) != saved.get(k, default.get(k)))


class RunDir:
    """One training run's folder (module docstring): checkpoints, losses, plot, previews, dataset record."""

    def __init__(self, path: str | Path, main: bool = True) -> None:
        self.path = Path(path)
        self.main = main  # only the main process writes files
        self._losses: Any = None  # losses.jsonl, open for appending while training
        self.saved_step: int | None = None  # the step of the checkpoint saved (or resumed from) last

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # ----------------------------------------------------------------- checkpoints

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / CHECKPOINTS

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoint_dir / f"step_{step:07d}"

    def step_dirs(self) -> list[Path]:
        """Every checkpoints/step_N folder, complete or not, by step."""
        found = [p for p in self.checkpoint_dir.glob("step_*") if p.is_dir() and STEP_RE.fullmatch(p.name)]
        return sorted(found, key=lambda p: int(p.name.split("_")[1]))

    def checkpoints(self) -> list[Path]:
        """The complete checkpoints, oldest first (incomplete ones are never resumed from or counted)."""
        return [p for p in self.step_dirs() if not checkpoint_missing(p)]

    def latest(self) -> Path:
        return self.checkpoints()[-1]

    def incomplete(self) -> list[tuple[Path, str]]:
        """(folder, why) for each unusable checkpoint: temporary folders of a save that never finished, and step
        folders missing files."""
        stale = [(p, "a checkpoint still being written when the run stopped")
                 for p in sorted(self.checkpoint_dir.glob(CHECKPOINT_TMP + "*")) if p.is_dir()]
        partial = [(p, f"incomplete: missing {', '.join(m)}") for p in self.step_dirs() if (m := checkpoint_missing(p))]
        return stale + partial

    def remove_incomplete(self) -> list[tuple[Path, str]]:
        """Delete the unusable checkpoints (a kill -9 mid-save leaves one), saying which and why."""
        removed = self.incomplete()
        for path, why in removed:
            log.warning("removed checkpoint %s (%s); it cannot be resumed from", path, why)
            shutil.rmtree(path, ignore_errors=True)
        return removed

    def check_resume(self, config: TrainConfig, resume: bool) -> Path | None:
        """The checkpoint to resume from (None for a fresh run): the latest complete one, after removing (and
        naming) incomplete ones; refuses mismatched or clobbering runs."""
        removed = self.remove_incomplete()
        ckpts = self.checkpoints()
        if not resume:
            if ckpts:
                raise ResumeError(f"{self.path} already holds checkpoints; pass --resume to continue that run, or "
                                  "choose another --run-dir")
            return None
        if not ckpts:
            gone = "".join(f"; removed {p.name} ({why})" for p, why in removed)
            gone = f" that can be resumed{gone}" if removed else ""
            raise ResumeError(f"nothing to resume in {self.path}: it has no checkpoints{gone}; start without --resume")
        if removed:
            log.warning("resuming from %s, the latest complete checkpoint", ckpts[-1])
        saved_file = self.path / CONFIG_FILE
        diff = config_diff(config, saved_file) if saved_file.is_file() else []
        if diff:
            raise ResumeError(f"cannot resume {self.path}: settings {diff} differ from the saved run "
                              f"({saved_file}); resume with the saved config (omit --config/--preset) or "
                              "start a new --run-dir")
        return ckpts[-1]

    def publish(self, tmp: Path, path: Path) -> Path:
        """Move a fully written checkpoint folder into place with one rename, so a kill leaves no partial step_N."""
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)
        return path

    def prune(self, keep: int) -> None:
        """Delete all but the `keep` newest complete checkpoints."""
        for old in self.checkpoints()[:-keep]:
            shutil.rmtree(old, ignore_errors=True)

    def save_checkpoint(self, accelerator: Any, step: int, keep: int) -> Path:
        """Every process writes its part of checkpoints/.tmp-step_N (`accelerator.save_state`); the main one
        then renames it to step_N and keeps the `keep` newest."""
        path = self.checkpoint_path(step)
        tmp = path.with_name(CHECKPOINT_TMP + path.name)
        if self.main and tmp.exists():
            shutil.rmtree(tmp)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp))
        accelerator.wait_for_everyone()
        if self.main:
            self.publish(tmp, path)
            self.prune(keep)
        self.saved_step = step
        return path

    # ----------------------------------------------------------------- files

    def start(self, config: TrainConfig, fresh: bool) -> None:
        """Create the folder and save the config; a fresh run starts an empty losses.jsonl."""
        if self.main:
            self.path.mkdir(parents=True, exist_ok=True)
            config.save(self.path / CONFIG_FILE)
            if fresh:
                (self.path / LOSSES_FILE).write_text("")

    def write_dataset(self, record: dict) -> None:
        if self.main:
            (self.path / DATASET_FILE).write_text(json.dumps(record, indent=1) + "\n")

    def read_losses(self) -> list[dict]:
        return read_losses(self.path)

    def resumed(self, step: int) -> None:
        """After loading the checkpoint of `step`: it counts as saved, and later loss rows are dropped."""
        self.saved_step = step
        self.trim_losses(step)

    def trim_losses(self, step: int) -> None:
        """Drop loss rows after the resumed checkpoint so the history matches the run."""
        if self.main:
            rows = [r for r in self.read_losses() if r["step"] <= step]
            (self.path / LOSSES_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows))

    def log_losses(self, step: int, time_s: float, losses: dict[str, float]) -> None:
        """Append one row to losses.jsonl (flushed: the UI and `read_losses` see it at once)."""
        if not self.main:
            return
        if self._losses is None:
            self._losses = (self.path / LOSSES_FILE).open("a")
        self._losses.write(json.dumps({"step": step, "time_s": round(time_s, 3),
                                       **{k: round(v, 6) for k, v in losses.items()}}) + "\n")
        self._losses.flush()

    def final_losses(self, latest: dict[str, float], window: int = 50) -> dict[str, float]:
        """Mean of each loss over the last `window` logged steps (the latest step's values when none are logged)."""
        rows = self.read_losses()[-window:]
        if not rows:
            return {k: round(v, 5) for k, v in latest.items()}
        keys = [k for k in rows[-1] if k not in ("step", "time_s")]
        return {k: round(float(np.mean([r[k] for r in rows if k in r])), 5) for k in keys}

    def save_preview(self, step: int, grid: np.ndarray) -> Path:
        path = self.path / PREVIEWS / f"step_{step:07d}.jpg"
        path.parent.mkdir(exist_ok=True)
        save_image(path, grid)
        return path

    def close(self) -> Path | None:
        """Close losses.jsonl and draw the loss plot (main process; None elsewhere or without losses)."""
        if self._losses is not None:
            self._losses.close()
            self._losses = None
        return plot_losses(self.path) if self.main else None
