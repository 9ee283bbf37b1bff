"""Reading documents for the ``document`` component: kind detection and conversions.

Pure functions over bytes; they raise :class:`ComponentError` with a message meant
for the user. PDF text, Markdown and page rendering use pypdfium2 (:mod:`._pdf`),
whose PDFium library is *not* thread-safe, so every call into it holds
:data:`PDFIUM_LOCK`; metadata and page splitting use pypdf. Spreadsheets,
presentations and legacy Office files are read by :mod:`._office`.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pipelines.components import _office, _pdf
from pipelines.components._pdf import PDFIUM_LOCK, encode_png
from pipelines.engine.components import ComponentError
from pipelines.engine.values import File, FileDecodeError

__all__ = [
    "BINARY_KINDS",
    "DOCUMENT_MIME_TYPES",
    "PDF",
    "TO_PDF",
    "Converted",
    "decode_text",
    "detect_kind",
    "load_document",
    "pdf_split",
    "pdf_to_pngs",
    "to_markdown",
    "to_pdf",
    "to_text",
]

PDF = "pdf"
DOCX = "docx"
DOC = "doc"
PPTX = "pptx"
PPT = "ppt"
XLSX = "xlsx"
XLS = "xls"
HTML = "html"
MARKDOWN = "markdown"
CSV = "csv"
TEXT = "text"

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
#: The binary formats' MIME types and the kinds they are declared as.
_DECLARED = {
    "application/pdf": PDF,
    DOCX_MIME: DOCX,
    "application/msword": DOC,
    "application/vnd.ms-word": DOC,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": PPTX,
    "application/vnd.ms-powerpoint": PPT,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": XLSX,
    "application/vnd.ms-excel": XLS,
}
#: Kinds that are binary files (not text).
BINARY_KINDS = frozenset({PDF, DOCX, DOC, PPTX, PPT, XLSX, XLS})
#: Binary document types whose text reads inside a template string (Instill's ``documentData.String()``).
DOCUMENT_MIME_TYPES = frozenset(_DECLARED)
#: A ZIP-based Office file's kind, told by the part every such file has.
_ZIP_PARTS = {"word/document.xml": DOCX, "ppt/presentation.xml": PPTX, "xl/workbook.xml": XLSX}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: An OLE (Office 97-2003) file's kind, told by its main stream (a top-level entry).
_OLE_STREAMS = {"WordDocument": DOC, "PowerPoint Document": PPT, "Workbook": XLS, "Book": XLS}
_LABELS = {PDF: "PDF", DOCX: "DOCX", DOC: "DOC", PPTX: "PPTX", PPT: "PPT", XLSX: "XLSX", XLS: "XLS"}
SUPPORTED = "PDF, DOCX, DOC, PPTX, PPT, XLSX, XLS, HTML, Markdown, CSV and plain text"
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_MARKDOWN_TYPES = frozenset({"text/markdown", "text/x-markdown"})
_CSV_TYPES = frozenset({"text/csv", "application/csv", "text/comma-separated-values"})
_TEXT_LIKE_TYPES = frozenset({"application/json", "application/xml", "application/x-yaml", "application/yaml"})
_EXTENSIONS = {
    ".pdf": PDF,
    ".docx": DOCX,
    ".doc": DOC,
    ".pptx": PPTX,
    ".ppt": PPT,
    ".xlsx": XLSX,
    ".xls": XLS,
    ".html": HTML,
    ".htm": HTML,
    ".xhtml": HTML,
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".csv": CSV,
    ".txt": TEXT,
}
_BINARY_EXTENSIONS = frozenset({".pdf", ".docx", ".doc", ".pptx", ".ppt", ".xlsx", ".xls"})
_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html[\s>])", re.IGNORECASE)
_BLANK_RUNS = re.compile(r"\n{3,}")

#: Page bitmaps larger than this (pixels) are refused rather than exhausting memory.
MAX_PAGE_PIXELS = 80_000_000
#: A DOCX/PPTX/XLSX whose parts unpack to more than this (bytes, as its ZIP directory
#: says; the reader never unpacks more than it says) is refused: the readers hold every
#: part in memory, and XML packs a thousand to one (a ZIP bomb).
MAX_UNPACKED_BYTES = 256 * 1024 * 1024


@dataclass
class Converted:
    """A document as text: the whole body, per-page parts (PDF) and metadata."""

    body: str
    pages: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    #: The images the body tags ``![image N](N)``, as PNGs (when asked for).
    images: list[bytes] = field(default_factory=list)


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
    return [info.filename for info in _zip_infos(data)]


def _zip_infos(data: bytes) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.infolist()
    except zipfile.BadZipFile:
        return []


def _check_unpacked(infos: list[zipfile.ZipInfo], kind: str) -> None:
    if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
        raise ComponentError(
            f"The {_LABELS[kind]} file unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB, "
            "too large to convert."
        )


def detect_kind(file: File, filename: str | None = None) -> str:
    """``pdf``, ``docx``, ``doc``, ``pptx``, ``ppt``, ``xlsx``, ``xls``, ``html``, ``markdown``, ``csv`` or ``text``.

    Magic bytes win over the declared MIME type (uploads are often labelled
    ``application/octet-stream``); for text the MIME type, then the extension
    (of ``filename`` or the file's own name), then an HTML sniff decide.
    """
    data = file.read()
    mime = (file.mime_type or "").split(";")[0].strip().lower()
    ext = _extension(filename) or _extension(file.filename)
    declared = _DECLARED.get(mime) or (
        _EXTENSIONS.get(ext) if ext in _BINARY_EXTENSIONS and not mime.startswith("text/") else None
    )
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        infos = _zip_infos(data)
        names = {info.filename for info in infos}
        for part, kind in _ZIP_PARTS.items():
            if part in names:
                _check_unpacked(infos, kind)
                return kind
        raise _unsupported(mime if mime.startswith("application/vnd") else "application/zip", file, filename)
    if data.startswith(_OLE_MAGIC):
        if declared in (DOC, PPT, XLS):
            return declared
        ole_kind = _ole_kind(data)
        if ole_kind is not None:
            return ole_kind
        raise _unsupported(mime or "application/x-ole-storage", file, filename)
    if declared is not None:
        label = _LABELS[declared]
        raise ComponentError(f"The document {_label(file, filename)}is declared as {label} but is not a {label} file.")
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


def _ole_kind(data: bytes) -> str | None:
    """DOC, PPT or XLS from an OLE file's top-level streams (embedded objects sit deeper)."""
    import xlrd.compdoc

    try:
        document = xlrd.compdoc.CompDoc(data, logfile=io.StringIO())
    except Exception:  # noqa: BLE001 - a damaged OLE file raises assorted errors
        return None
    names = {entry.name for entry in document.dirlist if entry.parent == 0}
    return next((kind for stream, kind in _OLE_STREAMS.items() if stream in names), None)


def _looks_like_text(data: bytes) -> bool:
    return b"\x00" not in data[:8192]


def _label(file: File, filename: str | None) -> str:
    name = filename or file.filename
    return f"{name!r} " if name else ""


def _unsupported(mime: str, file: File, filename: str | None) -> ComponentError:
    name = filename or file.filename
    named = f" ({name})" if name else ""
    return ComponentError(f"Unsupported document type {mime}{named}; supported: {SUPPORTED}.")


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# --- PDF --------------------------------------------------------------------------


def pdf_to_text(data: bytes) -> Converted:
    reader = _pdf.read_pdf(data)
    pages = _pdf.pdf_to_text(data)
    return Converted(body="\n\n".join(page for page in pages if page), pages=pages, meta=_pdf.pdf_meta(data, reader))


def pdf_to_markdown(data: bytes, image_resolution: float | None = None) -> Converted:
    """PDF as Markdown; with ``image_resolution``, its images too, tagged in place."""
    _pdf.read_pdf(data)  # the same errors as the other PDF tasks (password, broken file)
    images: list[bytes] = []
    if image_resolution is None:
        pages = _pdf.pdf_to_markdown(data)
    else:
        pages, images = _pdf.pdf_to_markdown_with_images(data, image_resolution, MAX_PAGE_PIXELS)
    return Converted(body="\n".join(page for page in pages if page), pages=pages, images=images)


def pdf_split(data: bytes, batch_size: int) -> list[tuple[int, int, bytes]]:
    """The PDF as consecutive PDFs of ``batch_size`` pages (the last may be shorter).

    Each batch is ``(first page, last page, PDF bytes)``, pages numbered from 1.
    """
    from pypdf import PdfWriter

    reader = _pdf.read_pdf(data)
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
    scale = resolution / 72
    pngs: list[bytes] = []
    with PDFIUM_LOCK:
        document = _pdf.open_pdfium(data)
    try:
        for index in range(len(document)):
            with PDFIUM_LOCK:
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
        with PDFIUM_LOCK:
            document.close()
    return pngs


# --- DOCX -------------------------------------------------------------------------


def _docx(data: bytes) -> Any:
    import docx

    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-docx raises assorted zip/xml/KeyError errors
        raise ComponentError(f"Couldn't read the DOCX document: {exc}") from None


def _docx_meta(document: Any, data: bytes) -> dict[str, str]:
    if "docProps/core.xml" not in _zip_names(data):
        return {}  # python-docx would make up a title and an author
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
    return Converted(body=body, pages=[body], meta=_docx_meta(document, data))


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


def _docx_default_size(document: Any) -> float:
    sizes = document.styles.element.xpath("w:docDefaults/w:rPrDefault/w:rPr/w:sz/@w:val")
    return int(sizes[0]) / 2 if sizes else 10.0  # half-points; Word's own default is 10 pt


def _docx_size(paragraph: Any, default: float) -> int:
    """The paragraph's largest text size in points (runs, then its style chain, then the default)."""
    style = paragraph.style
    style_size = None
    while style is not None and style_size is None:
        style_size = style.font.size
        style = style.base_style
    base = style_size.pt if style_size is not None else default
    sizes = [run.font.size.pt if run.font.size is not None else base for run in paragraph.runs if run.text.strip()]
    return int(max(sizes, default=base))


_BLIP = "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"
_VML_IMAGE = "{urn:schemas-microsoft-com:vml}imagedata"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _as_png(blob: bytes) -> bytes | None:
    """An embedded picture as PNG (Pillow reads it), or None when it cannot be drawn
    here (EMF/WMF, a broken file) or would exceed :data:`MAX_PAGE_PIXELS`."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(blob)) as image:
            if image.width * image.height > MAX_PAGE_PIXELS:
                return None
            image.load()
            converted = image if image.mode in ("RGB", "RGBA", "L", "LA") else image.convert("RGBA")
            buffer = io.BytesIO()
            converted.save(buffer, format="PNG")
            return buffer.getvalue()
    except Exception:  # noqa: BLE001 - Pillow raises assorted errors for what it cannot read
        return None


def _docx_pictures(document: Any, block: Any) -> list[bytes]:
    """The pictures a paragraph or table embeds (word/media), in the order they stand, as PNGs."""
    parts = document.part.related_parts
    found = []
    for element in block._element.iter(_BLIP, _VML_IMAGE):
        rid = element.get(f"{_REL}embed") or element.get(f"{_REL}id")
        part = parts.get(rid) if rid else None
        png = _as_png(part.blob) if part is not None and "image" in getattr(part, "content_type", "") else None
        if png is not None:
            found.append(png)
    return found


def docx_to_markdown(data: bytes, image_resolution: float | None = None) -> Converted:
    """DOCX as Markdown: Word's heading styles, and text sizes as in PDFs (:func:`_pdf.heading_sizes`).
    With ``image_resolution`` (any: the pictures are taken at their own size), each
    picture is tagged ``![image N](N)`` after the paragraph or table that holds it."""
    from docx.table import Table

    document = _docx(data)
    images: list[bytes] = []
    default = _docx_default_size(document)
    blocks = list(_docx_blocks(document))
    paragraphs = [block for block in blocks if not isinstance(block, Table) and block.text.strip()]
    sizes = [(_docx_size(block, default), len(block.text)) for block in paragraphs]
    title, subtitle = _pdf.heading_sizes(sizes, lone_title_lines=1)
    out: list[str] = []
    list_run: list[str] = []

    def flush_list() -> None:
        if list_run:
            out.append("\n".join(list_run))
            list_run.clear()

    def markdown_paragraph(block: Any) -> None:
        text = block.text.strip()
        style = (block.style.name if block.style is not None else "") or ""
        heading = re.match(r"Heading (\d)$", style)
        prefix = _docx_list_prefix(block)
        if prefix is not None and text:
            list_run.append(prefix + _docx_inline(block).strip())
            return
        flush_list()
        if not text:
            return
        size = _docx_size(block, default)
        if heading:
            out.append("#" * min(int(heading.group(1)), 6) + " " + text)
        elif style == "Title" or size >= title:
            out.append("# " + text)
        elif size >= subtitle:
            out.append("## " + text)
        else:
            out.append(_docx_inline(block).strip())

    def tag_pictures(block: Any) -> None:
        pictures = _docx_pictures(document, block) if image_resolution is not None else []
        if pictures:
            flush_list()
        for png in pictures:
            out.append(_pdf.image_tag(len(images)))
            images.append(png)

    for block in blocks:
        if isinstance(block, Table):
            flush_list()
            table = _pdf.markdown_table([[cell.text for cell in row.cells] for row in block.rows])
            if table:
                out.append(table.rstrip("\n"))
            tag_pictures(block)
            continue
        markdown_paragraph(block)
        tag_pictures(block)
    flush_list()
    body = "\n\n".join(out) + "\n" if out else ""
    return Converted(body=body, pages=[body], meta=_docx_meta(document, data), images=images)


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


def csv_to_markdown(data: bytes) -> Converted:
    body = _pdf.markdown_table(_csv_rows(decode_text(data)))
    return Converted(body=body, pages=[body])


def plain(data: bytes) -> Converted:
    body = decode_text(data)
    return Converted(body=body, pages=[body])


# --- spreadsheets, presentations, legacy Office files ---------------------------------


def _sheets_markdown(sheets: list[tuple[str, list[list[str]]]]) -> Converted:
    """Each sheet as ``# name`` and a table (Instill's layout), ``No data found`` when empty."""
    parts = []
    for name, rows in sheets:
        table = _pdf.markdown_table(rows) if rows else "No data found\n"
        parts.append(f"# {name}\n{table}\n\n")
    body = "".join(parts)
    return Converted(body=body, pages=[body])


def _sheets_text(sheets: list[tuple[str, list[list[str]]]]) -> Converted:
    """Each sheet's name, then its rows with cells separated by tabs."""
    parts = [name + "\n" + "\n".join("\t".join(row) for row in rows) for name, rows in sheets]
    body = "\n\n".join(part.strip() for part in parts)
    return Converted(body=body, pages=[body], meta={"Sheets": str(len(sheets))})


def xlsx_to_markdown(data: bytes) -> Converted:
    return _sheets_markdown(_office.xlsx_sheets(data))


def xlsx_to_text(data: bytes) -> Converted:
    return _sheets_text(_office.xlsx_sheets(data))


def xls_to_markdown(data: bytes) -> Converted:
    return _sheets_markdown(_office.xls_sheets(data))


def xls_to_text(data: bytes) -> Converted:
    return _sheets_text(_office.xls_sheets(data))


def pptx_to_markdown(data: bytes, image_resolution: float | None = None) -> Converted:
    """Each slide's title as ``#``, its text as paragraphs and its tables as tables; one
    page per slide. With ``image_resolution`` (any: pictures are taken at their own
    size), each picture that Pillow can draw is tagged ``![image N](N)`` where it stands
    on its slide (top to bottom)."""
    pages = []
    images: list[bytes] = []
    for blocks in _office.pptx_blocks(data, pictures=image_resolution is not None):
        out = []
        for kind, value in blocks:
            if isinstance(value, bytes):
                png = _as_png(value)
                if png is not None:
                    out.append(_pdf.image_tag(len(images)))
                    images.append(png)
            elif kind == "title":
                out.append("# " + " ".join(value.split()))
            elif kind == "table":
                out.append(_pdf.markdown_table([row.split("\t") for row in value.split("\n")]).rstrip("\n"))
            else:
                out.append(value)
        pages.append("\n\n".join(out) + "\n" if out else "")
    return Converted(body="\n".join(page for page in pages if page), pages=pages, images=images)


def pptx_to_text(data: bytes) -> Converted:
    pages = ["\n".join(text for _, text in blocks) for blocks in _office.pptx_slides(data)]
    return Converted(body="\n\n".join(page for page in pages if page), pages=pages, meta={"Slides": str(len(pages))})


def office_to_pdf(data: bytes, kind: str) -> bytes:
    """A DOC, PPT, DOCX or PPTX file as PDF (LibreOffice)."""
    label = _LABELS[kind]
    if kind in (DOC, PPT):
        what, advice = f"Reading {label} files", f"save the file as {label}X or PDF instead."
    else:
        what, advice = f"Page images of {label} files", "convert the file to PDF first."
    return _office.libreoffice_to_pdf(data, kind, label, what, advice)


def doc_to_text(data: bytes) -> Converted:
    converted = pdf_to_text(office_to_pdf(data, DOC))
    return Converted(body=converted.body, pages=converted.pages, meta={"Pages": converted.meta.get("Pages", "0")})


def doc_to_markdown(data: bytes, image_resolution: float | None = None) -> Converted:
    return pdf_to_markdown(office_to_pdf(data, DOC), image_resolution)


def ppt_to_text(data: bytes) -> Converted:
    converted = pdf_to_text(office_to_pdf(data, PPT))
    return Converted(body=converted.body, pages=converted.pages, meta={"Slides": converted.meta.get("Pages", "0")})


def ppt_to_markdown(data: bytes, image_resolution: float | None = None) -> Converted:
    return pdf_to_markdown(office_to_pdf(data, PPT), image_resolution)


def _same(data: bytes) -> bytes:
    return data


#: Kinds that have pages (for page images), and how each becomes a PDF.
TO_PDF: dict[str, Callable[[bytes], bytes]] = {
    PDF: _same,
    **{kind: functools.partial(office_to_pdf, kind=kind) for kind in (DOCX, DOC, PPTX, PPT)},
}


# --- dispatch ----------------------------------------------------------------------

_TO_TEXT = {
    PDF: pdf_to_text,
    DOCX: docx_to_text,
    DOC: doc_to_text,
    PPTX: pptx_to_text,
    PPT: ppt_to_text,
    XLSX: xlsx_to_text,
    XLS: xls_to_text,
    HTML: html_to_text,
    MARKDOWN: plain,
    CSV: plain,
    TEXT: plain,
}
_TO_MARKDOWN = {
    PDF: pdf_to_markdown,
    DOCX: docx_to_markdown,
    DOC: doc_to_markdown,
    PPTX: pptx_to_markdown,
    PPT: ppt_to_markdown,
    XLSX: xlsx_to_markdown,
    XLS: xls_to_markdown,
    HTML: html_to_markdown,
    MARKDOWN: plain,
    CSV: csv_to_markdown,
    TEXT: plain,
}


def to_text(file: File, filename: str | None = None, *, kind: str | None = None) -> Converted:
    return _TO_TEXT[kind or detect_kind(file, filename)](file.read())


#: Kinds whose images the Markdown can tag (Instill's: PDF, and the Office kinds through PDF).
WITH_IMAGES: dict[str, Callable[[bytes, float], Converted]] = {
    PDF: pdf_to_markdown,
    DOCX: docx_to_markdown,
    DOC: doc_to_markdown,
    PPTX: pptx_to_markdown,
    PPT: ppt_to_markdown,
}


def to_markdown(
    file: File, filename: str | None = None, *, kind: str | None = None, image_resolution: float | None = None
) -> Converted:
    """The document as Markdown; with ``image_resolution`` (DPI), the images of the
    kinds in :data:`WITH_IMAGES` are tagged ``![image N](N)`` where they stand and
    returned as PNGs."""
    kind = kind or detect_kind(file, filename)
    if image_resolution is not None and kind in WITH_IMAGES:
        return WITH_IMAGES[kind](file.read(), image_resolution)
    return _TO_MARKDOWN[kind](file.read())


def to_pdf(file: File, filename: str | None = None, *, kind: str | None = None) -> bytes:
    """The document as PDF bytes: a PDF itself, Office files through LibreOffice."""
    kind = kind or detect_kind(file, filename)
    if kind not in TO_PDF:
        raise ComponentError(f"Only PDF, DOCX, DOC, PPTX and PPT documents have pages; this one is {kind.upper()}.")
    return TO_PDF[kind](file.read())
