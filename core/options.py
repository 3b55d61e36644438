"""Stylize options checked in one place for the engine, the CLI and the app: each must be a finite number in its
range (NaN, infinities, booleans and strings are refused), and the error names the option and the fix.

API (stable): `check_option(name, value, label=None)` for any name in `OPTIONS`, the shorthands `check_alpha`,
`check_strength`, `check_keep_shape`, `check_max_side`, `check_max_faces` and `check_mode`, all raising
`core.errors.OptionError` (a ValueError). `label` is how the caller calls the option in its message
(e.g. "--alpha" in the CLI, "Geometry strength" in the app).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from core.errors import OptionError
from core.package import STYLIZE_MODES


@dataclass(frozen=True)
class Option:
    """One numeric option: inclusive range, whether it is a whole number, whether None (unset) is allowed."""

    lo: float
    hi: float
    integer: bool = False
    optional: bool = False
    hint: str = ""


# alpha: [0, 3] is what a style package may declare as alpha_default (the app's slider spans 0..2)
OPTIONS: dict[str, Option] = {
    "alpha": Option(0.0, 3.0, optional=True,
                    hint="geometry strength: 0 keeps the photo's face shape, 1 the style's, above 1 exaggerates"),
    "strength": Option(0.0, 1.0, hint="style strength: 0 is the original photo, 1 the full style"),
    "keep_shape": Option(0.0, 1.0, optional=True,
                         hint="0: faces take the style's template shape, 1: they keep their own shape"),
    "max_side": Option(64, 65536, integer=True, optional=True,
                       hint="the long side larger inputs are downscaled to; 0 or None keeps the size"),
    "max_faces": Option(1, 64, integer=True, hint="the number of largest faces to stylize"),
}


def _is_number(value: Any) -> bool:
    """A real number that is not a bool (True would silently mean 1)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_option(name: str, value: Any, label: str | None = None) -> float | int | None:
    """`value` as a float (an int for whole-number options; None where unset is allowed) if it is a finite
    number in OPTIONS[name]'s range; OptionError naming `label` (default: `name`), the range and the fix."""
    spec = OPTIONS[name]
    label = label or name
    if value is None and spec.optional:
        return None
    if name == "max_side" and _is_number(value) and value == 0:
        return None  # 0 keeps the size, as the CLI documents
    kind = "a whole number" if spec.integer else "a number"
    shown = repr(value) if not _is_number(value) else f"{value:g}" if isinstance(value, float) else str(value)
    if not _is_number(value) or not math.isfinite(value) or (spec.integer and value != int(value)) \
            or not spec.lo <= value <= spec.hi:
        raise OptionError(f"{label} must be between {spec.lo:g} and {spec.hi:g} ({kind}), got {shown}; "
                          f"{spec.hint}")
    return int(value) if spec.integer else float(value)


def check_alpha(value: Any, label: str = "alpha") -> float | None:
    """Geometry strength in [0, 3]; None means the style's default."""
    return check_option("alpha", value, label)


def check_strength(value: Any, label: str = "strength") -> float:
    """Style strength in [0, 1]."""
    return check_option("strength", value, label)


def check_keep_shape(value: Any, label: str = "keep_shape") -> float | None:
    """Own-shape amount in [0, 1]; None means the style's default."""
    return check_option("keep_shape", value, label)


def check_max_side(value: Any, label: str = "max_side") -> int | None:
    """Working long side in [64, 65536] pixels; None or 0 keeps the image's size (returned as None)."""
    return check_option("max_side", value, label)


def check_max_faces(value: Any, label: str = "max_faces") -> int:
    """How many of the largest faces to stylize, 1 to 64."""
    return check_option("max_faces", value, label)


def check_mode(value: Any, label: str = "mode") -> str | None:
    """One of STYLIZE_MODES ("face", "full"); None means the style's default."""
    if value is not None and value not in STYLIZE_MODES:
        raise OptionError(f"{label} must be one of {', '.join(STYLIZE_MODES)} (or unset for the style's default), "
                          f"got {value!r}; face stylizes faces only, full the whole picture")
    return value
