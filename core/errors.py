"""Every error the project raises on bad input. Each subclasses a builtin so callers can catch
either the precise class or the builtin; messages name the input and the fix."""

from __future__ import annotations


class PortraitStudioError(Exception):
    """Base class: the UI shows these messages to users as they are."""


class ImageLoadError(PortraitStudioError, ValueError):
    """An image file or buffer could not be decoded."""


class ImageTooLargeError(ImageLoadError):
    """An image has more pixels than the configured limit."""


class NoFaceError(PortraitStudioError, ValueError):
    """No face was found where one is required."""


class LandmarkError(PortraitStudioError, ValueError):
    """Landmarks have the wrong shape, are not finite, or an override file is malformed."""


class StylePackageError(PortraitStudioError, ValueError):
    """A style package folder is missing a file, is malformed, or does not match its weights."""


class StyleNotFoundError(StylePackageError, LookupError):
    """No style package of that name or path exists."""


class DatasetError(PortraitStudioError, ValueError):
    """A training set cannot be built from the given folders or files."""


class TrainingCancelled(PortraitStudioError, RuntimeError):
    """Training stopped at a step boundary because cancellation was requested."""


class BusyError(PortraitStudioError, RuntimeError):
    """A single-slot resource (such as the training job) is already in use."""


class HubError(PortraitStudioError, RuntimeError):
    """A Hub operation failed: network, authentication, missing repo or revision."""


class UnsafeFileError(HubError, ValueError):
    """A downloaded file is not allowed: wrong type, too big, path escape, or bad checksum."""


class StyleNameTakenError(StylePackageError):
    """A pull would replace an installed style that came from another repo (or was trained or bundled here)."""


class OptionError(PortraitStudioError, ValueError):
    """A stylize option (alpha, strength, keep_shape, max_side, max_faces, mode) is not a number in its range."""


class VideoError(PortraitStudioError, ValueError):
    """A video file cannot be read (damaged, empty, not a video) or is over the length or size limit."""


class Cancelled(PortraitStudioError, RuntimeError):
    """A long job (such as stylizing a video) stopped because cancellation was requested; nothing was written."""


class ConfigError(PortraitStudioError, ValueError):
    """A training setting is invalid or unknown."""


class ResumeError(PortraitStudioError, ValueError):
    """A run folder cannot be resumed (no checkpoint, or different settings) or would be overwritten."""


class QRCodeError(PortraitStudioError, ValueError):
    """A QR code cannot be made: the text is not a download link, or the image cannot be written."""
