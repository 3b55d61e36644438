"""Resources a Space needs, measured: resident memory of the idle app, of the app after stylizing a photo through
its own API, and of a short quick-preset training run (the Studio tab's recipe), each a real process.

    python scripts/space_resources.py --styles-art runs/art/animation100 [--steps 20] [--port 7861]

Prints one JSON line. The training part needs an artwork folder (any 10+ portraits of one style)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int, key: str = "VmRSS") -> float:
    """Resident (VmRSS) or peak resident (VmHWM) memory of a process in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not found for pid {pid}")


def wait_http(url: str, timeout: float) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return time.perf_counter() - t0
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


APP_CHILD = """
import json, sys, time, urllib.request
sys.path.insert(0, {root!r})
import app
from studio.app.stylize import stylize_photo
from scripts.space_resources import rss_mb, wait_http
t0 = time.perf_counter()
app.launch(app.build_demo(), server_port={port}, prevent_thread_lock=True)
start = wait_http("http://127.0.0.1:{port}/", 180) + (time.perf_counter() - t0)
time.sleep(5)
idle = rss_mb(__import__("os").getpid())
t1 = time.perf_counter()
stylize_photo({photo!r}, {style!r}, 1.0, 1.0, "full", 1.0)
first = time.perf_counter() - t1
print(json.dumps({{"app_start_s": round(start, 1), "app_idle_rss_mb": round(idle),
                  "app_after_stylize_rss_mb": round(rss_mb(__import__("os").getpid())),
                  "app_peak_rss_mb": round(rss_mb(__import__("os").getpid(), "VmHWM")), "first_stylize_s": round(first, 2)}}))
"""


def app_figures(port: int, photo: Path, style: str) -> dict:
    """The app served as `python app.py` serves it (app.launch), in a child process: idle, then after one
    stylize through the Stylize tab's own handler (what the page's request runs)."""
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    code = APP_CHILD.format(root=str(ROOT), port=port, photo=str(photo), style=style)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def train_figures(art: Path, steps: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "studio", "train", "--preset", "quick", "--styles", str(art),
               "--out", f"{tmp}/pkg", "--run-dir", f"{tmp}/run", "--steps", str(steps)]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
        peak = next(int(l.split()[-1]) for l in done.stderr.splitlines() if "Maximum resident set size" in l)
        return {"train_steps": steps, "train_wall_s": round(wall, 1), "train_peak_rss_mb": round(peak / 1024)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles-art", type=Path, help="artworks for the training part")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--port", type=int, default=7861)
    ap.add_argument("--photo", type=Path, default=ROOT / "examples" / "portrait_1.jpg")
    ap.add_argument("--style", default="animation")
    ap.add_argument("--only", choices=["app", "train"], help="measure one part only")
    args = ap.parse_args()
    out = {}
    if args.only != "train":
        out.update(app_figures(args.port, args.photo, args.style))
    if args.only != "app":
        out.update(train_figures(args.styles_art, args.steps))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
