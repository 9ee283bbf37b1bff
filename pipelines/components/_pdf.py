"""PDF text, Markdown and metadata for the ``document`` component.

Text comes from PDFium (pypdfium2), which keeps a line's words on one line as
Instill's converter does (``This is test file for markdown``). Markdown follows
the rules of Instill's pdfplumber converter: lines whose text is the largest
(or second largest) size in the document become ``#`` (``##``) headings, unless
more than 50 lines share that size; consecutive heading lines join into one
heading; a gap between lines larger than 1.5 times the usual one starts a new
paragraph. Two differences: the size most of the text uses is never a heading
size (Instill's rule turns a short document's body into headings), except in a
one-page document of one size and at most three lines (then it is a title, as
in Instill's ``test.pdf``); and lines that start with a bullet or a number become
Markdown list items. Ruled tables (a drawn grid of at least two rows and two
columns, as pdfplumber's ``lines_strict`` finds them) become Markdown tables
where they stand, the first row as the header.

Metadata follows ``pdfinfo``'s names, as Instill's (docconv's) does.

PDFium is not thread-safe: every call into it holds :data:`PDFIUM_LOCK`.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import struct
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.engine.components import ComponentError

__all__ = [
    "PDFIUM_LOCK",
    "Line",
    "encode_png",
    "heading_sizes",
    "image_tag",
    "list_item",
    "markdown_table",
    "open_pdfium",
    "pdf_lines",
    "pdf_meta",
    "pdf_to_markdown",
    "pdf_to_markdown_with_images",
    "pdf_to_text",
    "read_pdf",
]

PDFIUM_LOCK = threading.Lock()

#: Instill's rule: a size that more lines than this use is body text, not a heading.
MAX_HEADING_LINES = 50
#: Instill's tolerance: a line at 95 % of a heading size still is one.
HEADING_TOLERANCE = 0.95

# Bullets, including the private-use code points symbol fonts map them to (Word's is U+F0B7).
_BULLET = re.compile(r"^[•●○◦▪▫■□‣∙·\-–—*\ue000-\uf8ff]\s+")
_NUMBERED = re.compile(r"^(\d{1,3}|[a-zA-Z])[.)]\s+")


@dataclass
class Line:
    """A line of text on a page: its size (points), left edge and vertical extent (from the top)."""

    text: str
    size: int
    x0: float
    top: float
    bottom: float
    page: int


@dataclass
class Table:
    """A ruled table on a page: its vertical extent (from the top) and its cells' text, row by row."""

    top: float
    bottom: float
    rows: list[list[str]]


@dataclass
class Picture:
    """An image on a page: its vertical extent (from the top) and its box in PDF
    coordinates (left, bottom, right, top, in points from the bottom-left corner)."""

    top: float
    bottom: float
    box: tuple[float, float, float, float]


#: Images smaller than this (points, either side) are specks, not pictures.
_MIN_PICTURE = 2.0


#: Ruling lines closer than this (points) are one line; shorter segments are not rulings.
_SNAP = 3.0
_MIN_RULING = 5.0
#: More horizontal (or vertical) segments than this on a page: a drawing, not tables.
MAX_RULINGS = 600


def open_pdfium(data: bytes) -> Any:
    """A pypdfium2 document; call with :data:`PDFIUM_LOCK` held."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower():
            raise ComponentError("The PDF is password-protected.") from None
        raise ComponentError(f"Couldn't read the PDF: {message}") from None
    return document


#: PDFium writes a hyphen that breaks a word at a line's end as U+0002, and U+FFFE for
#: characters it can't map; the first reads as the hyphen it is, the second as nothing.
_PDFIUM_MARKS = str.maketrans({"\x02": "-", "\ufffe": ""})


def _page_text(page: Any) -> str:
    textpage = page.get_textpage()
    try:
        text: str = textpage.get_text_range()
    finally:
        textpage.close()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").translate(_PDFIUM_MARKS).split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _each_page[T](data: bytes, read: Callable[[Any, int], T]) -> list[T]:
    """``read(page, number)`` for every page, numbered from 1, with the PDFium lock held."""
    with PDFIUM_LOCK:
        document = open_pdfium(data)
        try:
            results = []
            for index in range(len(document)):
                page = document[index]
                try:
                    results.append(read(page, index + 1))
                finally:
                    page.close()
        finally:
            document.close()
    return results


def pdf_to_text(data: bytes) -> list[str]:
    """Each page's text, in PDFium's reading order."""
    return _each_page(data, lambda page, _: _page_text(page))


def _segments(page: Any) -> tuple[list[tuple[float, float, float]], list[tuple[float, float, float]]]:
    """The page's straight horizontal ``(y, x0, x1)`` and vertical ``(x, y0, y1)`` drawn segments
    (lines and rectangle sides), in PDF coordinates."""
    import pypdfium2.raw as raw

    horizontal: list[tuple[float, float, float]] = []
    vertical: list[tuple[float, float, float]] = []

    def add(x0: float, y0: float, x1: float, y1: float) -> None:
        if abs(y1 - y0) < 1 and abs(x1 - x0) >= _MIN_RULING:
            horizontal.append(((y0 + y1) / 2, min(x0, x1), max(x0, x1)))
        elif abs(x1 - x0) < 1 and abs(y1 - y0) >= _MIN_RULING:
            vertical.append(((x0 + x1) / 2, min(y0, y1), max(y0, y1)))

    for obj in page.get_objects(filter=(raw.FPDF_PAGEOBJ_PATH,), max_depth=4):
        matrix = obj.get_matrix()
        x = raw.FS_FLOAT(0)
        y = raw.FS_FLOAT(0)
        start = current = None
        for index in range(raw.FPDFPath_CountSegments(obj.raw)):
            segment = raw.FPDFPath_GetPathSegment(obj.raw, index)
            if not raw.FPDFPathSegment_GetPoint(segment, x, y):
                continue
            point = matrix.on_point(x.value, y.value)
            kind = raw.FPDFPathSegment_GetType(segment)
            if kind == raw.FPDF_SEGMENT_MOVETO or current is None:
                start = point
            elif kind == raw.FPDF_SEGMENT_LINETO:
                add(*current, *point)
            current = point
            if raw.FPDFPathSegment_GetClose(segment) and start is not None:
                add(*current, *start)
                current = start
    return horizontal, vertical


def _snap(values: list[float]) -> list[float]:
    """Sorted values with those within :data:`_SNAP` of each other merged (their mean)."""
    groups: list[list[float]] = []
    for value in sorted(values):
        if groups and value - groups[-1][-1] <= _SNAP:
            groups[-1].append(value)
        else:
            groups.append([value])
    return [sum(group) / len(group) for group in groups]


def _grids(
    horizontal: list[tuple[float, float, float]], vertical: list[tuple[float, float, float]]
) -> list[tuple[list[float], list[float]]]:
    """Groups of crossing rulings as grids: (column edges x, row edges y, both ascending).

    A page with more than :data:`MAX_RULINGS` of either is a drawing, not tables.
    """
    if len(horizontal) > MAX_RULINGS or len(vertical) > MAX_RULINGS:
        return []
    parent = list(range(len(horizontal) + len(vertical)))  # horizontal first, then vertical

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    offset = len(horizontal)
    for i, (y, x0, x1) in enumerate(horizontal):
        for j, (x, y0, y1) in enumerate(vertical, start=offset):
            if x0 - _SNAP <= x <= x1 + _SNAP and y0 - _SNAP <= y <= y1 + _SNAP:
                parent[find(i)] = find(j)
    groups: dict[int, tuple[list[float], list[float]]] = {}
    for i, (y, _, _) in enumerate(horizontal):
        groups.setdefault(find(i), ([], []))[1].append(y)
    for j, (x, _, _) in enumerate(vertical, start=offset):
        groups.setdefault(find(j), ([], []))[0].append(x)
    grids = []
    for xs, ys in groups.values():
        columns, rows = _snap(xs), _snap(ys)
        if len(columns) >= 3 and len(rows) >= 3:  # at least two columns and two rows
            grids.append((columns, rows))
    return grids


def _page_tables(page: Any, textpage: Any) -> list[Table]:
    """The page's ruled tables (drawn grids of at least two rows and two columns)."""
    height = page.get_height()
    tables = []
    for xs, ys in _grids(*_segments(page)):
        rows = []
        for top, bottom in itertools.pairwise(reversed(ys)):
            row = []
            for left, right in itertools.pairwise(xs):
                text = textpage.get_text_bounded(left, bottom, right, top)
                row.append(" ".join(text.split()))
            rows.append(row)
        tables.append(Table(height - ys[-1], height - ys[0], rows))
    return sorted(tables, key=lambda table: table.top)


def _page_lines(page: Any, number: int) -> tuple[list[Line], list[Table]]:
    """The page's lines of text outside its tables, and its tables."""
    import pypdfium2.raw as raw

    height = page.get_height()
    textpage = page.get_textpage()
    lines: list[Line] = []
    try:
        tables = _page_tables(page, textpage)
        handle = textpage.raw
        rect = raw.FS_RECTF()  # reused: one char's loose box (font ascent to descent)
        chars: list[str] = []
        size = left = bottom = top = 0.0
        inf = math.inf

        def flush() -> None:
            text = "".join(chars).strip()
            if text and left != inf:
                lines.append(Line(" ".join(text.split()), int(size), left, height - top, height - bottom, number))
            chars.clear()

        left, bottom, top, size = inf, inf, -inf, 0.0
        for index in range(textpage.count_chars()):
            code = raw.FPDFText_GetUnicode(handle, index)
            char = chr(code).translate(_PDFIUM_MARKS) if code else ""
            if char in ("\r", "\n"):
                flush()
                left, bottom, top, size = inf, inf, -inf, 0.0
                continue
            chars.append(char)
            if char.strip():
                size = max(size, raw.FPDFText_GetFontSize(handle, index))
                if raw.FPDFText_GetLooseCharBox(handle, index, rect):
                    left, bottom, top = min(left, rect.left), min(bottom, rect.bottom), max(top, rect.top)
        flush()
    finally:
        textpage.close()

    def in_table(line: Line) -> bool:
        middle = (line.top + line.bottom) / 2
        return any(table.top < middle < table.bottom for table in tables)

    return [line for line in lines if not in_table(line)], tables


def pdf_lines(data: bytes) -> list[tuple[list[Line], list[Table]]]:
    """The lines (outside tables) and tables of every page, top to bottom."""
    return _each_page(data, _page_lines)


def _page_pictures(page: Any) -> list[Picture]:
    """The page's image objects (also inside form XObjects), top to bottom, clipped to the page."""
    import pypdfium2.raw as raw

    width, height = page.get_size()
    pictures = []
    for image in page.get_objects(filter=[raw.FPDF_PAGEOBJ_IMAGE], max_depth=8):
        left, bottom, right, top = image.get_bounds()
        left, bottom, right, top = max(left, 0.0), max(bottom, 0.0), min(right, width), min(top, height)
        if right - left < _MIN_PICTURE or top - bottom < _MIN_PICTURE:
            continue
        pictures.append(Picture(height - top, height - bottom, (left, bottom, right, top)))
    return sorted(pictures, key=lambda picture: (picture.top, picture.box[0]))


#: A rendered area: raw RGB(A) rows, width, height, stride and channels (:func:`encode_png`'s arguments).
_Render = tuple[bytes, int, int, int, int]


def _render_box(page: Any, box: tuple[float, float, float, float], scale: float) -> _Render:
    """The page's area ``box`` rendered at ``scale``: raw RGB(A) rows and their shape."""
    width, height = page.get_size()
    left, bottom, right, top = box
    bitmap = page.render(scale=scale, crop=(left, bottom, width - right, height - top), rev_byteorder=True)
    try:
        return bytes(bitmap.buffer), bitmap.width, bitmap.height, bitmap.stride, bitmap.n_channels
    finally:
        bitmap.close()


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


def heading_sizes(sizes: list[tuple[int, int]], lone_title_lines: int = 3) -> tuple[float, float]:
    """The smallest sizes of a ``#`` and a ``##`` heading (``inf``: none).

    ``sizes`` has one ``(size, characters)`` per line (or paragraph). Text in the
    size most characters use is body text, never a heading, unless the whole
    document is in one size and at most ``lone_title_lines`` long: then it is a
    title (a title page, a slide's title).
    """
    inf = math.inf
    if not sizes:
        return inf, inf
    lines_per_size = Counter(size for size, _ in sizes)
    chars_per_size: Counter[int] = Counter()
    for size, count in sizes:
        chars_per_size[size] += count
    distinct = sorted(lines_per_size, reverse=True)
    if len(distinct) == 1:
        return (distinct[0] * HEADING_TOLERANCE, inf) if len(sizes) <= lone_title_lines else (inf, inf)
    body = chars_per_size.most_common(1)[0][0]
    larger = [size for size in distinct if size > body]
    title = subtitle = inf
    # Instill's 95 % tolerance, short of the next size down (a 13 pt heading under 14 pt is ##).
    floors = [*larger[1:], body]
    if larger and lines_per_size[larger[0]] <= MAX_HEADING_LINES:
        title = max(round(larger[0] * HEADING_TOLERANCE), floors[0] + 1)
        if len(larger) > 1 and lines_per_size[larger[1]] <= MAX_HEADING_LINES:
            subtitle = max(round(larger[1] * HEADING_TOLERANCE), floors[1] + 1)
    return title, subtitle


def list_item(text: str) -> str | None:
    """``- item`` / ``1. item`` when the text starts like a list item, else None."""
    if match := _BULLET.match(text):
        return "- " + text[match.end() :]
    if match := _NUMBERED.match(text):
        return f"{match.group(1)}. " + text[match.end() :]
    return None


def _paragraph_gap(pages: list[list[Line]]) -> float:
    """1.5 times the most common gap between lines (rounded up to a step of 3, as Instill does)."""
    gaps: Counter[float] = Counter()
    for lines in pages:
        for line, following in itertools.pairwise(lines):
            gap = following.top - line.bottom
            if gap > 0:
                gaps[(gap // 3 + 1) * 3] += 1
    common = gaps.most_common(1)[0][0] if gaps else 10
    return common * 1.5


def image_tag(number: int) -> str:
    """Instill's Markdown for the document's image ``number`` (from 0)."""
    return f"![image {number}]({number})"


def _page_markdown(
    lines: list[Line],
    tables: list[Table],
    title: float,
    subtitle: float,
    paragraph_gap: float,
    pictures: Sequence[tuple[float, int]] = (),
) -> str:
    """The page's Markdown; ``pictures`` are (top, number) of its images, each tagged
    where it stands among the lines."""
    blocks: list[list[str]] = []
    kinds: list[str] = []
    previous: Line | None = None
    waiting = list(tables)
    images = list(pictures)
    for line in lines:
        while waiting and waiting[0].top <= line.top:
            blocks.append([markdown_table(waiting.pop(0).rows).rstrip("\n")])
            kinds.append("table")
            previous = None
        while images and images[0][0] <= line.top:
            blocks.append([image_tag(images.pop(0)[1])])
            kinds.append("image")
            previous = None
        kind = "#" if line.size >= title else "##" if line.size >= subtitle else "p"
        item = list_item(line.text) if kind == "p" else None
        if item is not None:
            kind = "li"
        gap = line.top - previous.bottom if previous is not None else 0.0
        joins = kinds and kinds[-1] == kind and (kind in ("#", "##") or gap < paragraph_gap)
        if kinds and kinds[-1] == "li" and kind == "p" and gap < paragraph_gap:
            blocks[-1][-1] += " " + line.text  # a list item's wrapped line
        elif joins:
            blocks[-1].append(item if item is not None else line.text)
        else:
            blocks.append([item if item is not None else line.text])
            kinds.append(kind)
        previous = line
    for table in waiting:
        blocks.append([markdown_table(table.rows).rstrip("\n")])
        kinds.append("table")
    for _, number in images:
        blocks.append([image_tag(number)])
        kinds.append("image")
    out = []
    for kind, parts in zip(kinds, blocks, strict=True):
        if kind in ("#", "##"):
            out.append(f"{kind} " + " ".join(parts))
        else:
            out.append("\n".join(parts))
    return "\n\n".join(out) + "\n" if out else ""


def _markdown_pages(
    pages: list[tuple[list[Line], list[Table]]], pictures: list[list[Picture]] | None = None
) -> list[str]:
    """Each page's Markdown, its pictures (when given) tagged in place, numbered from 0
    through the document."""
    # Only a one-page document with nothing but text can be all title (a title page, a slide).
    lone_title_lines = 3 if sum(1 for lines, _ in pages if lines) == 1 and not any(t for _, t in pages) else 0
    sizes = [(line.size, len(line.text)) for lines, _ in pages for line in lines]
    title, subtitle = heading_sizes(sizes, lone_title_lines)
    gap = _paragraph_gap([lines for lines, _ in pages])
    numbered = itertools.count()
    out = []
    for index, (lines, tables) in enumerate(pages):
        tops = [(picture.top, next(numbered)) for picture in (pictures[index] if pictures else [])]
        out.append(_page_markdown(lines, tables, title, subtitle, gap, tops))
    return out


def pdf_to_markdown(data: bytes) -> list[str]:
    """Each page's Markdown (every non-empty page ends with a newline)."""
    return _markdown_pages(pdf_lines(data))


def pdf_to_markdown_with_images(data: bytes, resolution: float, max_pixels: float) -> tuple[list[str], list[bytes]]:
    """Each page's Markdown with an ``![image N](N)`` tag where each of its images
    stands, and the images (their area of the page rendered at ``resolution`` DPI, as
    Instill's converter crops them) as PNGs, in the tags' order. An image that would
    render larger than ``max_pixels`` is refused."""
    scale = resolution / 72

    def read(page: Any, number: int) -> tuple[tuple[list[Line], list[Table]], list[Picture], list[_Render]]:
        pictures = _page_pictures(page)
        renders = []
        for picture in pictures:
            left, bottom, right, top = picture.box
            if (right - left) * scale * (top - bottom) * scale > max_pixels:
                raise ComponentError(
                    f"An image on page {number} would be too large at {resolution:g} DPI; use a lower resolution."
                )
            renders.append(_render_box(page, picture.box, scale))
        return _page_lines(page, number), pictures, renders

    pages = _each_page(data, read)
    markdown = _markdown_pages([content for content, _, _ in pages], [pictures for _, pictures, _ in pages])
    # Compression runs outside the PDFium lock so other renders can proceed.
    return markdown, [encode_png(*render) for _, _, renders in pages for render in renders]


def markdown_table(rows: list[list[str]]) -> str:
    """Rows as a GitHub-flavoured Markdown table, the first row being the header (Instill's layout)."""
    if not rows:
        return ""
    width = max(len(row) for row in rows)

    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    def line(row: list[str]) -> str:
        cells = [cell(text) for text in row] + [""] * (width - len(row))
        return "| " + " | ".join(cells) + " |"

    lines = [line(rows[0]), "| " + " | ".join(["---"] * width) + " |", *map(line, rows[1:])]
    return "\n".join(lines) + "\n"


# --- metadata ----------------------------------------------------------------------

_INFO_KEYS = ("Title", "Subject", "Keywords", "Author", "Creator", "Producer")
#: Info dictionary date keys → pypdf's parsed-date attribute.
_DATE_KEYS = {"CreationDate": "creation_date", "ModDate": "modification_date"}
_STANDARD_INFO = {*_INFO_KEYS, *_DATE_KEYS, "Trapped"}


def _paper(width: float, height: float) -> str:
    """pdfinfo's paper name: `` (letter)``, `` (A4)``… or nothing."""
    if (abs(width - 612) < 0.1 and abs(height - 792) < 0.1) or (abs(width - 792) < 0.1 and abs(height - 612) < 0.1):
        return " (letter)"
    long_side = math.sqrt(math.sqrt(2.0)) * 7200 / 2.54
    short_side = long_side / math.sqrt(2.0)
    for number in range(7):
        if (abs(width - short_side) < 1 and abs(height - long_side) < 1) or (
            abs(width - long_side) < 1 and abs(height - short_side) < 1
        ):
            return f" (A{number})"
        long_side, short_side = short_side, short_side / math.sqrt(2.0)
    return ""


def _yes(flag: Any) -> str:
    return "yes" if flag else "no"


def _has_javascript(root: Any) -> bool:
    names = root.get("/Names")
    if names is not None and "/JavaScript" in names.get_object():
        return True
    action = root.get("/OpenAction")
    if action is not None:
        action = action.get_object()
        if hasattr(action, "get") and action.get("/S") == "/JavaScript":
            return True
    return False


def pdf_meta(data: bytes, reader: Any) -> dict[str, str]:
    """``pdfinfo``-style metadata: the document info, page count and size, version and flags."""
    meta: dict[str, str] = {}
    info = reader.metadata or {}
    for key, value in info.items():
        name = str(key).lstrip("/")
        if value in (None, "") or name in _DATE_KEYS:
            continue
        meta[name] = str(value)
    for key, attribute in _DATE_KEYS.items():
        try:
            date = getattr(reader.metadata, attribute, None) if reader.metadata else None
        except ValueError:  # an unparseable date string
            date = None
        if date is not None:
            meta[key] = date.strftime("%a %b %d %H:%M:%S %Y") + (" UTC" if date.utcoffset() is not None else "")
    root = reader.trailer["/Root"].get_object()
    mark_info = root.get("/MarkInfo")
    mark_info = mark_info.get_object() if mark_info is not None else {}
    form = "none"
    if "/AcroForm" in root:
        form = "XFA" if "/XFA" in root["/AcroForm"].get_object() else "AcroForm"
    pages = reader.pages
    meta["Pages"] = str(len(pages))
    if len(pages):
        box = pages[0].mediabox
        width, height = float(box.width), float(box.height)
        meta["Page size"] = f"{width:g} x {height:g} pts{_paper(width, height)}"
        meta["Page rot"] = str(pages[0].rotation % 360)
    meta["PDF version"] = reader.pdf_header.removeprefix("%PDF-")
    meta["File size"] = f"{len(data)} bytes"
    meta["Encrypted"] = _yes(reader.is_encrypted)
    meta["Optimized"] = _yes(b"/Linearized" in data[:1024])
    meta["Tagged"] = _yes(mark_info.get("/Marked"))
    meta["UserProperties"] = _yes(mark_info.get("/UserProperties"))
    meta["Suspects"] = _yes(mark_info.get("/Suspects"))
    meta["Form"] = form
    meta["JavaScript"] = _yes(_has_javascript(root))
    meta["Metadata Stream"] = _yes("/Metadata" in root)
    meta["Custom Metadata"] = _yes(any(str(key).lstrip("/") not in _STANDARD_INFO for key in info))
    return meta


def read_pdf(data: bytes) -> Any:
    """A pypdf reader (pure Python; used for metadata and page splits)."""
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
