"""The ``document`` operator: text, Markdown, page images and page splits (Instill ``document`` v0).

Supported inputs: PDF, DOCX, DOC, PPTX, PPT, XLSX, XLS, HTML, Markdown, CSV and
plain text (the kind is told by magic bytes, MIME type and file extension; see
``_documents.detect_kind``). DOC and PPT go through LibreOffice, as in Instill.
Page images take PDFs and the Word and PowerPoint formats; page splits PDFs only.

Also registers how a document reads where Instill reads it as text (its
``documentData.Text()``): the ``:text`` reference attribute
(``${variable.doc:text}``) and a document inside a template string
(``"Resume: ${variable.resume}"``) give the document's Markdown body; text
documents (HTML, Markdown, CSV, plain text) read as themselves.
"""

from __future__ import annotations

import time
from typing import Any

from pipelines.components import _documents as docs
from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext
from pipelines.engine.values import (
    File,
    FileDecodeError,
    file_text,
    register_attribute,
    register_string_form,
)

_DOCUMENT = {
    # A File value, a data URI or raw base64; no "type" so all three validate.
    "title": "Document",
    "description": (
        "Base64 encoded PDF/DOCX/DOC/PPTX/PPT/XLSX/XLS/HTML/Markdown/CSV/TXT document (a file, data URI or base64)."
    ),
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
            "description": (
                "Extract the document's images into images and tag each in the Markdown where it stands, "
                "as ![image N](N) (N from 0). PDF, DOCX, DOC, PPTX and PPT."
            ),
            "default": False,
        },
        "display-all-page-image": {
            "type": "boolean",
            "title": "Display All Page Image",
            "description": "Return every page as an image in all-page-images (PDF, DOCX, DOC, PPTX, PPT).",
            "default": False,
        },
        "resolution": _RESOLUTION,
        "converter": {
            "type": "string",
            "title": "Converter",
            "description": (
                "Instill's choice of PDF-to-Markdown engine; accepted for compatibility. "
                "This server has one converter, which follows pdfplumber's output."
            ),
            "enum": ["pdfplumber", "docling"],
            "default": "pdfplumber",
        },
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
        "all-page-images": {
            **_IMAGES,
            "title": "All Page Images",
            "description": "Every page as an image (PDF, DOCX, DOC, PPTX, PPT).",
        },
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
    "properties": {
        "document": {
            **_DOCUMENT,
            "description": "Base64 encoded PDF/DOCX/DOC/PPTX/PPT to be converted to images (a file, data URI or base64).",
        },
        "filename": _FILENAME,
        "resolution": _RESOLUTION,
    },
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


def _output_filename(filename: str, extension: str) -> str:
    """Instill's output name: the input's name with ``extension`` instead of its own ("" without a name)."""
    return _stem(filename) + extension if filename else ""


def _require_pdf(file: File, filename: str, task: str) -> None:
    kind = docs.detect_kind(file, filename)
    if kind != docs.PDF:
        raise ComponentError(f"{task} takes only PDF documents; this one is {kind.upper()}.")


def _page_images(pdf: bytes, filename: str, resolution: float) -> tuple[list[File], list[str]]:
    stem = _stem(filename)
    names = []
    images = []
    for number, png in enumerate(docs.pdf_to_pngs(pdf, resolution), start=1):
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
        "filename": _output_filename(filename, ".txt"),
    }


def convert_to_markdown(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    file, filename = _input_document(input)
    resolution = _resolution(input)
    kind = docs.detect_kind(file, filename)
    tagged = input.get("display-image-tag")
    if tagged is not None and not isinstance(tagged, bool):
        raise ComponentError(f"display-image-tag must be true or false, not {tagged!r}.")
    converted = docs.to_markdown(file, filename, kind=kind, image_resolution=resolution if tagged else None)
    converter = input.get("converter")
    if converter is not None and not isinstance(converter, str):
        raise ComponentError(f"The converter must be a string such as 'pdfplumber', not {converter!r}.")
    all_page_images: list[File] = []
    if input.get("display-all-page-image") and kind in docs.TO_PDF:
        all_page_images, _ = _page_images(docs.to_pdf(file, filename, kind=kind), filename, resolution)
    return {
        "body": converted.body,
        "filename": _output_filename(filename, ".md"),
        "images": [File(png, mime_type="image/png") for png in converted.images],
        "error": "",
        "all-page-images": all_page_images,
        "markdowns": converted.pages,
    }


def convert_to_images(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    file, filename = _input_document(input)
    resolution = _resolution(input)
    images, names = _page_images(docs.to_pdf(file, filename), filename, resolution)
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


def document_text(file: File) -> str:
    """A document as Instill's ``documentData.Text()`` reads it: text types as themselves, others as Markdown."""
    if file.mime_type.split(";", 1)[0].strip().lower().startswith("text"):
        return docs.decode_text(file.read())
    try:
        return docs.to_markdown(file).body
    except ComponentError as exc:
        raise ValueError(str(exc)) from None


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
    if value.mime_type.split(";", 1)[0].strip().lower() in docs.DOCUMENT_MIME_TYPES:
        return file_text(value)  # kept on the file: read once, off the event loop (the executor)
    return document_text(value)


def _unlabelled_text(file: File) -> str:
    """A file without a useful MIME type: a document's text when it is a binary document, else as any file."""
    try:
        kind = docs.detect_kind(file)
    except ComponentError:
        kind = None
    if kind in docs.BINARY_KINDS:
        return document_text(file)
    data = file.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return file.data_uri()


register_attribute("text", _text_attribute, reads_text=True)
register_string_form(docs.DOCUMENT_MIME_TYPES, document_text)
register_string_form(["application/octet-stream", "application/x-ole-storage", "application/zip"], _unlabelled_text)


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
