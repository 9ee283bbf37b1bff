"""Reading documents for the ``document`` component: kind detection and conversions.

Pure functions over bytes; they raise :class:`ComponentError` with a message meant
for the user. PDF text and page splitting use pypdf (pure Python, thread-safe);
page rendering uses pypdfium2, whose PDFium library is *not* thread-safe, so every
call into it holds :data:`_PDFIUM_LOCK` (blocking tasks run in a thread pool).
"""

from __future__ import annotations

import csv
import io
import re
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pipelines.engine.components import ComponentError
from pipelines.engine.values import File, FileDecodeError

__all__ = [
    "PDF",
    "Converted",
    "detect_kind",
    "load_document",
    "pdf_split",
    "pdf_to_pngs",
    "to_markdown",
    "to_text",
]

PDF = "pdf"
DOCX = "docx"
HTML = "html"
MARKDOWN = "markdown"
CSV = "csv"
TEXT = "text"

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_MARKDOWN_TYPES = frozenset({"text/markdown", "text/x-markdown"})
_CSV_TYPES = frozenset({"text/csv", "application/csv", "text/comma-separated-values"})
_TEXT_LIKE_TYPES = frozenset({"application/json", "application/xml", "application/x-yaml", "application/yaml"})
_EXTENSIONS = {
    ".pdf": PDF,
    ".docx": DOCX,
    ".html": HTML,
    ".htm": HTML,
    ".xhtml": HTML,
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".csv": CSV,
    ".txt": TEXT,
}
_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html[\s>])", re.IGNORECASE)
_BLANK_RUNS = re.compile(r"\n{3,}")

#: Page bitmaps larger than this (pixels) are refused rather than exhausting memory.
MAX_PAGE_PIXELS = 80_000_000

_PDFIUM_LOCK = threading.Lock()


@dataclass
class Converted:
    """A document as text: the whole body, per-page parts (PDF) and metadata."""

    body: str
    pages: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)


# --- input ----------------------------------------------------------------------


def load_document(value: Any) -> File:
    """The ``document`` input as a :class:`File`: a File, a data URI or base64."""
    if isinstance(value, File):
        return value
    if isinstance(value, bytes | bytearray):
        return File(bytes(value))
    if value is None or value == "":
        raise ComponentError("The document is missing.")
    if not isinstance(value, str):
        raise ComponentError(f"The document must be a file, a data URI or base64, not {type(value).__name__}.")
    text = value.strip()
    if text.startswith(("http://", "https://")):
        raise ComponentError("Documents given by URL are not fetched; pass the file, a data URI or base64.")
    try:
        return File.from_data_uri(text) if text.startswith("data:") else File.from_base64(text)
    except FileDecodeError as exc:
        raise ComponentError(f"The document is not a valid data URI or base64 string: {exc}.") from None


def _extension(filename: str | None) -> str:
    if not filename or "." not in filename:
        return ""
    return "." + filename.rsplit(".", 1)[1].lower()


def _zip_names(data: bytes) -> list[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except zipfile.BadZipFile:
        return []


def detect_kind(file: File, filename: str | None = None) -> str:
    """``pdf``, ``docx``, ``html``, ``markdown``, ``csv`` or ``text``.

    Magic bytes win over the declared MIME type (uploads are often labelled
    ``application/octet-stream``); for text the MIME type, then the extension
    (of ``filename`` or the file's own name), then an HTML sniff decide.
    """
    data = file.read()
    mime = (file.mime_type or "").split(";")[0].strip().lower()
    ext = _extension(filename) or _extension(file.filename)
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        if "word/document.xml" in _zip_names(data):
            return DOCX
        raise _unsupported(mime if mime.startswith("application/vnd") else "application/zip", file, filename)
    if mime == "application/pdf" or (ext == ".pdf" and not mime.startswith("text/")):
        raise ComponentError(f"The document {_label(file, filename)}is declared as a PDF but is not one.")
    if mime == DOCX_MIME:
        raise ComponentError(f"The document {_label(file, filename)}is declared as DOCX but is not a DOCX file.")
    if not _looks_like_text(data):
        raise _unsupported(mime or "application/octet-stream", file, filename)
    if mime in _HTML_TYPES or _EXTENSIONS.get(ext) == HTML:
        return HTML
    if mime in _MARKDOWN_TYPES or _EXTENSIONS.get(ext) == MARKDOWN:
        return MARKDOWN
    if mime in _CSV_TYPES or _EXTENSIONS.get(ext) == CSV:
        return CSV
    if mime.startswith("text/") or mime in _TEXT_LIKE_TYPES or mime in ("", "application/octet-stream"):
        return HTML if _HTML_START.match(data[:1024]) else TEXT
    raise _unsupported(mime, file, filename)


def _looks_like_text(data: bytes) -> bool:
    return b"\x00" not in data[:8192]


def _label(file: File, filename: str | None) -> str:
    name = filename or file.filename
    return f"{name!r} " if name else ""


def _unsupported(mime: str, file: File, filename: str | None) -> ComponentError:
    name = filename or file.filename
    named = f" ({name})" if name else ""
    return ComponentError(
        f"Unsupported document type {mime}{named}; supported: PDF, DOCX, HTML, Markdown, CSV and plain text."
    )


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# --- PDF --------------------------------------------------------------------------


def _pdf_reader(data: bytes) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ComponentError("The PDF is password-protected.")
        len(reader.pages)  # parse the page tree now, so a broken one fails here
    except ComponentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ComponentError(f"Couldn't read the PDF: {exc}") from None
    return reader


def pdf_to_text(data: bytes) -> Converted:
    reader = _pdf_reader(data)
    pages = [(page.extract_text() or "").strip() for page in reader.pages]
    meta: dict[str, str] = {}
    for key, value in (reader.metadata or {}).items():
        if value not in (None, ""):
            meta[str(key).lstrip("/")] = str(value)
    meta["Pages"] = str(len(pages))
    return Converted(body="\n\n".join(page for page in pages if page), pages=pages, meta=meta)


def pdf_split(data: bytes, batch_size: int) -> list[tuple[int, int, bytes]]:
    """The PDF as consecutive PDFs of ``batch_size`` pages (the last may be shorter).

    Each batch is ``(first page, last page, PDF bytes)``, pages numbered from 1.
    """
    from pypdf import PdfWriter

    reader = _pdf_reader(data)
    batches: list[tuple[int, int, bytes]] = []
    total = len(reader.pages)
    for start in range(0, total, batch_size):
        end = min(start + batch_size, total)
        writer = PdfWriter()
        for index in range(start, end):
            writer.add_page(reader.pages[index])
        buffer = io.BytesIO()
        writer.write(buffer)
        batches.append((start + 1, end, buffer.getvalue()))
    return batches


def pdf_to_pngs(data: bytes, resolution: float) -> list[bytes]:
    """Every page rendered at ``resolution`` DPI, as PNG bytes."""
    import pypdfium2 as pdfium

    scale = resolution / 72
    pngs: list[bytes] = []
    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise ComponentError(f"Couldn't read the PDF: {exc}") from None
    try:
        for index in range(len(document)):
            with _PDFIUM_LOCK:
                page = document[index]
                try:
                    width, height = page.get_size()
                    if width * scale * height * scale > MAX_PAGE_PIXELS:
                        raise ComponentError(
                            f"Page {index + 1} would be too large at {resolution:g} DPI; use a lower resolution."
                        )
                    bitmap = page.render(scale=scale, rev_byteorder=True)
                    try:
                        raw = bytes(bitmap.buffer)
                        shape = (bitmap.width, bitmap.height, bitmap.stride, bitmap.n_channels)
                    finally:
                        bitmap.close()
                finally:
                    page.close()
            # Compression runs outside the lock so other renders can proceed.
            pngs.append(encode_png(raw, *shape))
    finally:
        with _PDFIUM_LOCK:
            document.close()
    return pngs


def encode_png(raw: bytes, width: int, height: int, stride: int, channels: int) -> bytes:
    """RGB(A) rows (``stride`` bytes apart) as a PNG; avoids needing Pillow."""
    color_type = {3: 2, 4: 6}[channels]
    row = width * channels
    scanlines = b"".join(b"\x00" + raw[y * stride : y * stride + row] for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(scanlines, 6))
        + chunk(b"IEND", b"")
    )


# --- DOCX -------------------------------------------------------------------------


def _docx(data: bytes) -> Any:
    import docx

    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-docx raises assorted zip/xml/KeyError errors
        raise ComponentError(f"Couldn't read the DOCX document: {exc}") from None


def _docx_meta(document: Any) -> dict[str, str]:
    props = document.core_properties
    meta: dict[str, str] = {}
    for key in ("title", "author", "subject", "keywords", "category", "comments", "last_modified_by"):
        value = getattr(props, key, None)
        if value:
            meta[key] = str(value)
    for key in ("created", "modified"):
        value = getattr(props, key, None)
        if value is not None:
            meta[key] = value.isoformat()
    return meta


def _docx_blocks(document: Any) -> Iterator[Any]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for block in document.iter_inner_content():
        if isinstance(block, Paragraph | Table):
            yield block


def docx_to_text(data: bytes) -> Converted:
    from docx.table import Table

    document = _docx(data)
    lines: list[str] = []
    for block in _docx_blocks(document):
        if isinstance(block, Table):
            lines.extend("\t".join(cell.text for cell in row.cells) for row in block.rows)
        else:
            lines.append(block.text)
    body = _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
    return Converted(body=body, pages=[body], meta=_docx_meta(document))


def _docx_list_prefix(paragraph: Any) -> str | None:
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    ppr = paragraph._p.pPr
    num = ppr.numPr if ppr is not None else None
    level = 0
    if num is not None and num.ilvl is not None and num.ilvl.val is not None:
        level = int(num.ilvl.val)
    match = re.match(r"List (Bullet|Number|Paragraph)(?: (\d+))?$", style)
    if match and match.group(2):
        level = max(level, int(match.group(2)) - 1)
    if match and match.group(1) == "Number":
        return "   " * level + "1. "
    if match or num is not None:
        return "  " * level + "- "
    return None


def _docx_inline(paragraph: Any) -> str:
    """The paragraph's runs with bold/italic as Markdown emphasis (same-style runs merged)."""
    parts: list[tuple[bool, bool, str]] = []
    for run in paragraph.runs:
        style = (bool(run.bold), bool(run.italic))
        if parts and parts[-1][:2] == style:
            parts[-1] = (*style, parts[-1][2] + run.text)
        else:
            parts.append((*style, run.text))
    if not parts:
        text: str = paragraph.text
        return text
    out: list[str] = []
    for bold, italic, text in parts:
        core = text.strip()
        if not core or not (bold or italic):
            out.append(text)
            continue
        mark = "***" if bold and italic else "**" if bold else "*"
        lead = text[: len(text) - len(text.lstrip())]
        trail = text[len(text.rstrip()) :]
        out.append(f"{lead}{mark}{core}{mark}{trail}")
    return "".join(out)


def docx_to_markdown(data: bytes) -> Converted:
    from docx.table import Table

    document = _docx(data)
    blocks: list[str] = []
    list_run: list[str] = []

    def flush_list() -> None:
        if list_run:
            blocks.append("\n".join(list_run))
            list_run.clear()

    for block in _docx_blocks(document):
        if isinstance(block, Table):
            flush_list()
            table = markdown_table([[cell.text for cell in row.cells] for row in block.rows])
            if table:
                blocks.append(table)
            continue
        style = (block.style.name if block.style is not None else "") or ""
        heading = re.match(r"Heading (\d)$", style)
        prefix = _docx_list_prefix(block)
        if prefix is not None and block.text.strip():
            list_run.append(prefix + _docx_inline(block).strip())
            continue
        flush_list()
        text = block.text.strip()
        if not text:
            continue
        if heading:
            blocks.append("#" * min(int(heading.group(1)), 6) + " " + text)
        elif style == "Title":
            blocks.append("# " + text)
        else:
            blocks.append(_docx_inline(block).strip())
    flush_list()
    body = "\n\n".join(blocks)
    return Converted(body=body, pages=[body], meta=_docx_meta(document))


# --- HTML, CSV, text --------------------------------------------------------------


def _soup(data: bytes) -> Any:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    return soup


def _html_meta(soup: Any) -> dict[str, str]:
    title = soup.title.get_text(strip=True) if soup.title else ""
    return {"title": title} if title else {}


def html_to_text(data: bytes) -> Converted:
    soup = _soup(data)
    meta = _html_meta(soup)
    if soup.head is not None:
        soup.head.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    body = "\n".join(line for line in lines if line)
    return Converted(body=body, pages=[body], meta=meta)


def html_to_markdown(data: bytes) -> Converted:
    from markdownify import markdownify

    soup = _soup(data)
    meta = _html_meta(soup)
    if soup.head is not None:
        soup.head.decompose()
    markdown = markdownify(str(soup), heading_style="ATX", bullets="-")
    body = _BLANK_RUNS.sub("\n\n", markdown).strip()
    return Converted(body=body, pages=[body], meta=meta)


def _csv_rows(text: str) -> list[list[str]]:
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect) if row]


def markdown_table(rows: list[list[str]]) -> str:
    """Rows as a GitHub-flavoured Markdown table, the first row being the header."""
    if not rows:
        return ""
    width = max(len(row) for row in rows)

    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    def line(row: list[str]) -> str:
        cells = [cell(text) for text in row] + [""] * (width - len(row))
        return "| " + " | ".join(cells) + " |"

    return "\n".join([line(rows[0]), "| " + " | ".join(["---"] * width) + " |", *map(line, rows[1:])])


def csv_to_markdown(data: bytes) -> Converted:
    body = markdown_table(_csv_rows(decode_text(data)))
    return Converted(body=body, pages=[body])


def plain(data: bytes) -> Converted:
    body = decode_text(data)
    return Converted(body=body, pages=[body])


# --- dispatch ----------------------------------------------------------------------

_TO_TEXT = {PDF: pdf_to_text, DOCX: docx_to_text, HTML: html_to_text, MARKDOWN: plain, CSV: plain, TEXT: plain}
_TO_MARKDOWN = {
    PDF: pdf_to_text,
    DOCX: docx_to_markdown,
    HTML: html_to_markdown,
    MARKDOWN: plain,
    CSV: csv_to_markdown,
    TEXT: plain,
}


def to_text(file: File, filename: str | None = None, *, kind: str | None = None) -> Converted:
    return _TO_TEXT[kind or detect_kind(file, filename)](file.read())


def to_markdown(file: File, filename: str | None = None, *, kind: str | None = None) -> Converted:
    return _TO_MARKDOWN[kind or detect_kind(file, filename)](file.read())
