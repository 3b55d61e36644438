"""Measure the live webcam page in headless Chromium with a fake 640x480 camera: frames shown per second and
how far the stylized frame is behind the camera, over a window of at least 10 s.

  .venv/bin/python scripts/live_report.py [--style NAME] [--seconds 15] [--mode face|full] [--shot PNG]
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("GLOG_minloglevel", "2")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--style", default="animation")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--mode", choices=["face", "full"], default="face")
    ap.add_argument("--shot", default="", help="save a screenshot of the live view here")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    import app
    from core.images import load_image
    from studio import live

    tmp = Path(tempfile.mkdtemp(prefix="live-report-"))
    clip = tmp / "camera.y4m"
    live.write_y4m(clip, live.moving_face_frames(load_image(ROOT / "examples" / "astronaut.jpg")))
    demo = app.build_demo()
    port = free_port()
    app.launch(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True)
    chrome_args = ["--no-sandbox", "--disable-gpu", "--use-fake-device-for-media-stream",
                   "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={clip}"]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=chrome_args)
            page = browser.new_context(viewport={"width": 1360, "height": 1000}, permissions=["camera"]).new_page()
            page.set_default_timeout(60_000)
            page.on("console", lambda m: print("console:", m.text) if os.environ.get("LIVE_DEBUG") else None)
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator("#style-gallery button.thumbnail-item").first.wait_for()
            page.locator("#style-gallery .caption-label", has_text=args.style.capitalize()).first.click()
            page.wait_for_timeout(1500)
            if args.mode == "face":
                page.get_by_text("Face only").first.click()
            else:
                page.get_by_text("Whole image").first.click()
            page.get_by_text("Live webcam: stylize").click()
            page.locator("#live-start").click()
            try:
                page.wait_for_function("() => window.psLive && window.psLive().shown >= 5")
            except Exception:
                page.screenshot(path=str(tmp / "failed.png"))
                print("live view never showed 5 frames; page says:", page.locator("#live-stats").inner_text(), tmp)
                raise
            page.wait_for_timeout(3000)  # warm-up: the first frames build the session and detect
            start = page.evaluate("window.psLive()")
            t0 = time.time()
            page.wait_for_timeout(args.seconds * 1000)
            end = page.evaluate("window.psLive()")
            wall = time.time() - t0
            if args.shot:
                page.locator("#live").scroll_into_view_if_needed()
                page.locator("#live").screenshot(path=args.shot)
            stats = page.locator("#live-stats").inner_text()
            browser.close()
    finally:
        demo.close()
    fps = (end["shown"] - start["shown"]) / wall
    print(f"machine: {platform.machine()} {os.cpu_count()} cores; style {args.style}, mode {args.mode}, "
          f"640x480 fake camera at 30 fps, {wall:.1f} s window")
    print(f"frames shown per second: {fps:.1f} (goal >= 24)")
    print(f"stylized frame behind the camera: median {end['latency_ms']:.0f} ms over the last 120 frames "
          f"(goal <= 150); server {end['server_ms']:.0f} ms per frame")
    print(f"page says: {stats}")


if __name__ == "__main__":
    main()
