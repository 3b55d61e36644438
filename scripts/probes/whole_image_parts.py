"""Where whole-image mode's extra time goes (issue 15): median ms of face mode and whole-image mode on the bench
photo, and of the background pass's parts (surround guides, the generator batch, guided upsampling, the surround's
blend), in one process.

    python scripts/probes/whole_image_parts.py styles/animation
"""
import sys

import cv2

sys.path.insert(0, ".")
import core.background as B  # noqa: E402
from core.engine import face_matrices, stylize  # noqa: E402
from core.landmarks import find_faces  # noqa: E402
from core.package import load_style  # noqa: E402
from core.runtime import get_runner  # noqa: E402
from studio.bench import bench_photo, median_ms  # noqa: E402


def ms(fn, repeats: int = 15) -> float:
    return round(median_ms(fn, repeats, warmup=1), 2)


style = load_style(sys.argv[1])
photo = bench_photo(None)
runner = get_runner(style)
matrices = face_matrices(find_faces(photo)[0], runner.resolution)
small = B.background_size(*photo.shape[:2], runner.resolution)
boxes, guides = B.surround_guides(photo, matrices, runner.resolution)
guide = cv2.resize(photo, small[::-1], interpolation=cv2.INTER_AREA)
styled = B.restyle(runner, [guide] + guides)
background = B.guided_upsample(photo, guide, styled[0])
print("face mode", ms(lambda: stylize(photo, style, mode="face")),
      "whole image", ms(lambda: stylize(photo, style, mode="full")))
print("background pass", ms(lambda: B.stylize_background(photo, runner, 1.0, matrices)),
      "| surround guides", ms(lambda: B.surround_guides(photo, matrices, runner.resolution)),
      "| generator, picture + surround", ms(lambda: B.restyle(runner, [guide] + guides)),
      "| generator, picture alone", ms(lambda: B.restyle(runner, [guide])),
      "| guided upsampling", ms(lambda: B.guided_upsample(photo, guide, styled[0])),
      "| surround blend", ms(lambda: B.blend_surrounds(photo, background, boxes, guides, styled[1:])))
