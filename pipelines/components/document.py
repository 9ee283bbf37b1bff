"""The ``document`` operator: text, Markdown, page images and page splits (Instill ``document`` v0).

Supported inputs: PDF, DOCX, HTML, Markdown, CSV and plain text (the kind is told
by magic bytes, MIME type and file extension; see ``_documents.detect_kind``).
Page images and page splits take PDFs only. Also registers the ``:text``
reference attribute (``${variable.doc:text}``): the body TASK_CONVERT_TO_TEXT gives.
"""

from __future__ import annotations

import time
from typing import Any

from pipelines.components import _documents as docs
from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext
from pipelines.engine.values import File, FileDecodeError, register_attribute

_DOCUMENT = {
    # A File value, a data URI or raw base64; no "type" so all three validate.
    "title": "Document",
    "description": "Base64 encoded PDF/DOCX/HTML/Markdown/CSV/TXT document (a file, data URI or base64).",
}
_FILENAME = {
    "type": "string",
    "title": "Filename",
    "description": "The name of the file, with its extension, e.g. 'example.pdf'.",
}
_RESOLUTION = {
    "type": "number",
    "title": "Resolution",
    "description": "Desired number pixels per inch. Defaults to 300. Minimum is 72.",
    "minimum": 72,
    "default": 300,
}
_IMAGES = {"type": "array", "items": {}, "title": "Images"}
DEFAULT_RESOLUTION = 300

TO_TEXT_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {"document": _DOCUMENT, "filename": _FILENAME},
    "required": ["document"],
}
TO_TEXT_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "body": {"type": "string", "title": "Body", "description": "Plain text converted from the document."},
        "meta": {"type": "object", "title": "Meta", "description": "Metadata extracted from the document."},
        "msecs": {"type": "number", "title": "Milliseconds", "description": "Time taken to convert the document."},
        "error": {
            "type": "string",
            "title": "Error",
            "description": "Error message if any during the conversion process.",
        },
        "filename": {"type": "string", "title": "Filename", "description": "The name of the file."},
    },
    "required": ["body", "meta", "msecs", "error"],
}
TO_MARKDOWN_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "document": _DOCUMENT,
        "filename": _FILENAME,
        "display-image-tag": {
            "type": "boolean",
            "title": "Display Image Tag",
            "description": "Accepted for compatibility; image tags are not produced.",
            "default": False,
        },
        "display-all-page-image": {
            "type": "boolean",
            "title": "Display All Page Image",
            "description": "Return every PDF page as an image in all-page-images.",
            "default": False,
        },
        "resolution": _RESOLUTION,
    },
    "required": ["document"],
}
TO_MARKDOWN_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "body": {"type": "string", "title": "Body", "description": "Markdown text converted from the document."},
        "filename": {"type": "string", "title": "Filename", "description": "The name of the file."},
        "images": {**_IMAGES, "description": "Images extracted from the document."},
        "error": {
            "type": "string",
            "title": "Error",
            "description": "Error message if any during the conversion process.",
        },
        "all-page-images": {**_IMAGES, "title": "All Page Images", "description": "Every page as an image (PDF only)."},
        "markdowns": {
            "type": "array",
            "items": {"type": "string"},
            "title": "Markdowns",
            "description": "Markdown text converted from the document, separated by page.",
        },
    },
    "required": ["body"],
}
TO_IMAGES_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {"document": {**_DOCUMENT, "title": "PDF"}, "filename": _FILENAME, "resolution": _RESOLUTION},
    "required": ["document"],
}
TO_IMAGES_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "images": {**_IMAGES, "description": "Images converted from the document (PNG, one per page)."},
        "filenames": {
            "type": "array",
            "items": {"type": "string"},
            "title": "Filenames",
            "description": "The filenames of the images, with the page number appended, e.g. 'example-1.png'.",
        },
    },
    "required": ["images"],
}
SPLIT_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "document": {**_DOCUMENT, "description": "PDF document to split."},
        "batch-size": {
            "type": "integer",
            "title": "Batch Size",
            "description": "Number of pages per resulting document. Defaults to 1.",
            "minimum": 1,
            "default": 1,
        },
    },
    "required": ["document"],
}
SPLIT_OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {
        "batches": {
            "type": "array",
            "items": {},
            "title": "Batches",
            "description": "The PDF split in documents of batch-size pages.",
        },
    },
    "required": ["batches"],
}


def _input_document(input: dict[str, Any]) -> tuple[File, str]:
    file = docs.load_document(input.get("document"))
    filename = input.get("filename") or file.filename or ""
    if not isinstance(filename, str):
        raise ComponentError("The filename must be a string.")
    return file, filename


def _resolution(input: dict[str, Any]) -> float:
    value = input.get("resolution")
    if value is None:
        return DEFAULT_RESOLUTION
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 72:
        raise ComponentError(f"The resolution must be a number of at least 72 DPI, not {value!r}.")
    return float(value)


def _stem(filename: str) -> str:
    return (filename.rsplit(".", 1)[0] if "." in filename else filename) or "document"


def _require_pdf(file: File, filename: str, task: str) -> None:
    kind = docs.detect_kind(file, filename)
    if kind != docs.PDF:
        raise ComponentError(f"{task} takes only PDF documents; this one is {kind.upper()}.")


def _page_images(file: File, filename: str, resolution: float) -> tuple[list[File], list[str]]:
    stem = _stem(filename)
    names = []
    images = []
    for number, png in enumerate(docs.pdf_to_pngs(file.read(), resolution), start=1):
        name = f"{stem}-{number}.png"
        names.append(name)
        images.append(File(png, mime_type="image/png", filename=name))
    return images, names


def convert_to_text(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    started = time.perf_counter()
    file, filename = _input_document(input)
    converted = docs.to_text(file, filename)
    return {
        "body": converted.body,
        "meta": converted.meta,
        "msecs": round((time.perf_counter() - started) * 1000),
        "error": "",
        "filename": filename,
    }


def convert_to_markdown(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    file, filename = _input_document(input)
    resolution = _resolution(input)
    kind = docs.detect_kind(file, filename)
    converted = docs.to_markdown(file, filename, kind=kind)
    all_page_images: list[File] = []
    if input.get("display-all-page-image") and kind == docs.PDF:
        all_page_images, _ = _page_images(file, filename, resolution)
    return {
        "body": converted.body,
        "filename": filename,
        "images": [],
        "error": "",
        "all-page-images": all_page_images,
        "markdowns": converted.pages,
    }


def convert_to_images(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    file, filename = _input_document(input)
    resolution = _resolution(input)
    _require_pdf(file, filename, "Converting to images")
    images, names = _page_images(file, filename, resolution)
    return {"images": images, "filenames": names}


def split_in_pages(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    file, filename = _input_document(input)
    batch_size = input.get("batch-size") or 1
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ComponentError(f"The batch-size must be a whole number of at least 1, not {batch_size!r}.")
    _require_pdf(file, filename, "Page split")
    stem = _stem(filename)
    batches = []
    for first, last, pdf in docs.pdf_split(file.read(), batch_size):
        pages = f"{first}" if first == last else f"{first}-{last}"
        batches.append(File(pdf, mime_type="application/pdf", filename=f"{stem}-{pages}.pdf"))
    return {"batches": batches}


def _text_attribute(value: Any) -> str:
    """``${ref:text}``: a document file's text; TypeError/ValueError leave the reference unresolved."""
    if isinstance(value, str):
        if not value.startswith("data:"):
            raise TypeError("str is not a file")
        try:
            value = File.from_data_uri(value)
        except FileDecodeError as exc:
            raise ValueError(str(exc)) from None
    if not isinstance(value, File):
        raise TypeError(f"{type(value).__name__} is not a file")
    try:
        return docs.to_text(value).body
    except ComponentError as exc:
        raise ValueError(str(exc)) from None


register_attribute("text", _text_attribute)


COMPONENT = ComponentDefinition(
    type="document",
    title="Document",
    description="Manipulate Document files: convert them to text, Markdown or images, or split them in pages.",
    tasks={
        "TASK_CONVERT_TO_MARKDOWN": Task(
            name="TASK_CONVERT_TO_MARKDOWN",
            title="Convert To Markdown",
            description="Convert document to text in Markdown format.",
            input_schema=TO_MARKDOWN_INPUT,
            output_schema=TO_MARKDOWN_OUTPUT,
            run=convert_to_markdown,
            blocking=True,
        ),
        "TASK_CONVERT_TO_TEXT": Task(
            name="TASK_CONVERT_TO_TEXT",
            title="Convert To Text",
            description="Convert document to text.",
            input_schema=TO_TEXT_INPUT,
            output_schema=TO_TEXT_OUTPUT,
            run=convert_to_text,
            blocking=True,
        ),
        "TASK_CONVERT_TO_IMAGES": Task(
            name="TASK_CONVERT_TO_IMAGES",
            title="Convert To Images",
            description="Convert Document to images.",
            input_schema=TO_IMAGES_INPUT,
            output_schema=TO_IMAGES_OUTPUT,
            run=convert_to_images,
            blocking=True,
        ),
        "TASK_SPLIT_IN_PAGES": Task(
            name="TASK_SPLIT_IN_PAGES",
            title="Split In Pages",
            description="Split a PDF document in batches of pages.",
            input_schema=SPLIT_INPUT,
            output_schema=SPLIT_OUTPUT,
            run=split_in_pages,
            blocking=True,
        ),
    },
)
