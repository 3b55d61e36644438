"""What a trained style package records about how it was made: the training summary (steps, resolution, wall
time, hardware, loss weights, final losses) and the provenance of its artworks and photos (sources, licenses,
the photo pool's attribution file). `studio.train` writes these into the package's StyleConfig."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch

from studio.config import TrainConfig
from studio.data import PhotoPool, StyleSet, license_summary, source_label

ATTRIBUTION_FILE = "attribution.json"


def cpu_model(default: str = "") -> str:
    """The CPU's model name (as lscpu prints it, from /proc/cpuinfo), else `default`, else platform's guess."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return default or platform.processor() or platform.machine()


def hardware() -> str:
    """GPU name, else the CPU model and core count."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"{cpu_model()} ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


def provenance(config: TrainConfig, style: StyleSet, pool: PhotoPool, held: PhotoPool, styles: Any, photos: Any,
               steps: int, wall_s: float, losses: dict[str, float]) -> dict[str, Any]:
    """{"training": summary, "artworks": provenance, "photos": provenance, "attribution": [per photo]}.

    `styles` and `photos` are the sources as given to `train` (a folder, a list of files, a dataset id);
    `held` are the photos held out for previews; `losses` the final losses.
    """
    artworks: dict[str, Any] = {"source": str(styles) if not isinstance(styles, list) else f"{len(styles)} files",
                                "count": len(style), "license": config.artwork_license or "not stated",
                                "files": ", ".join(style.files)}
    if any(style.provenance):
        artworks["licenses"] = license_summary(style.provenance)
    photo: dict[str, Any] = {"source": source_label(photos), "count": len(pool), "held_out_for_preview": len(held)}
    attribution = [{k: p.get(k) for k in ("image_name", "author", "photo_url", "license")}
                   for p in pool.provenance if p]
    if attribution:
        photo["licenses"] = license_summary(pool.provenance)
        photo["attribution_file"] = ATTRIBUTION_FILE
    training = {"artworks": len(style), "photos": len(pool) - len(held), "steps": steps,
                "resolution": config.size, "batch": config.batch, "grad_accum": config.grad_accum,
                "wall_time_s": round(wall_s, 1), "hardware": hardware(), "no_tps": config.no_tps,
                "loss_weights": dict(config.weights), "final_losses": losses,
                "missing_landmarks": config.missing, "artwork_statuses": style.counts(),
                "landmark_edit": dict(config.landmark_edit)}
    return {"training": training, "artworks": artworks, "photos": photo, "attribution": attribution}
