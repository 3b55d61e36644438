"""Portrait Studio core: landmarks, alignment, TPS, generator, style packages, ONNX runtime.

No UI and no training code lives here; `app.py` and `studio/` build on these modules.
"""

__version__ = "0.1.0"
