"""Image values for components: decoding ``File``/data-URI/base64 inputs with
Pillow, encoding results back to :class:`File`, and the ``:width``/``:height``
reference attributes.

Pillow is imported by the functions that use it, not with this module: the server
registers components at start-up and most never decode an image."""

from __future__ import annotations

import io
import os
import warnings
from typing import TYPE_CHECKING, Any

from pipelines.engine.components import ComponentError
from pipelines.engine.values import File, FileDecodeError

__all__ = ["as_file", "check_size", "image_file", "image_size", "load_image"]

if TYPE_CHECKING:
    from PIL import Image

# Larger outputs are refused rather than risking the worker's memory (≈ 400 MB RGBA).
MAX_PIXELS = 100_000_000


def as_file(value: Any, *, what: str = "image") -> File:
    """``value`` as a :class:`File`; data URIs and raw base64 strings are decoded."""
    if isinstance(value, File):
        return value
    if isinstance(value, str) and value:
        try:
            if value.startswith("data:"):
                return File.from_data_uri(value)
            return File.from_base64(value)
        except FileDecodeError:
            raise ComponentError(f"The {what} is not a data URI or base64 string.") from None
    if value is None:
        raise ComponentError(f"The {what} is missing.")
    raise ComponentError(f"The {what} must be an image file, got {type(value).__name__}.")


def _open(file: File, *, strict: bool = True) -> Image.Image:
    from PIL import Image

    # Pillow reads only the header here; pixels are decoded on first access.
    source: Any = file.path if file.path is not None else io.BytesIO(file.read())
    with warnings.catch_warnings():
        # Strict: a decompression bomb is an error before any pixel is decoded.
        warnings.simplefilter("error" if strict else "ignore", Image.DecompressionBombWarning)
        return Image.open(source)


def load_image(value: Any, *, what: str = "image") -> tuple[Image.Image, File]:
    """Decode an image input fully; returns the Pillow image and its source file."""
    from PIL import Image, UnidentifiedImageError

    file = as_file(value, what=what)
    try:
        image = _open(file)
        image.load()
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        if isinstance(exc, UnidentifiedImageError):
            raise ComponentError(f"The {what} is not a readable image ({file.mime_type}).") from None
        raise ComponentError(f"The {what} is too large to process.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ComponentError(f"The {what} could not be decoded: {exc}.") from None
    return image, file


def check_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise ComponentError(f"The resulting image would be {width}×{height} pixels; both sides must be at least 1.")
    if width * height > MAX_PIXELS:
        raise ComponentError(
            f"The resulting image would be {width}×{height} pixels; at most {MAX_PIXELS:,} pixels are allowed."
        )


def _stem(file: File | None) -> str:
    if file is not None and file.filename:
        stem = os.path.splitext(os.path.basename(file.filename))[0]
        if stem:
            return stem
    return "image"


def image_file(image: Image.Image, *, source: File | None, suffix: str, keep_jpeg: bool = True) -> File:
    """Encode ``image`` as PNG — or JPEG when the source was JPEG and ``keep_jpeg``.

    ``suffix`` is appended to the source's file stem (``cat.jpg`` → ``cat-resized.jpg``).
    """
    jpeg = keep_jpeg and source is not None and source.mime_type == "image/jpeg"
    buffer = io.BytesIO()
    if jpeg:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(buffer, format="JPEG", quality=95)
        mime_type, ext = "image/jpeg", "jpg"
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I", "I;16"):
            image = image.convert("RGBA")
        image.save(buffer, format="PNG")
        mime_type, ext = "image/png", "png"
    return File(buffer.getvalue(), mime_type=mime_type, filename=f"{_stem(source)}-{suffix}.{ext}")


def image_size(value: Any) -> tuple[int, int]:
    """``(width, height)`` from the header only. Raises ValueError when not an image."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(value, File):
        file = value
    elif isinstance(value, str) and value.startswith("data:"):
        try:
            file = File.from_data_uri(value)
        except FileDecodeError as exc:
            raise ValueError(str(exc)) from exc
    else:
        raise TypeError(f"{type(value).__name__} is not an image file")
    try:
        with _open(file, strict=False) as image:
            return image.size
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"file ({file.mime_type}) is not a readable image") from exc
