"""The document component: text, Markdown, page images and page splits; the :text attribute."""

from __future__ import annotations

import base64
import io
import math
import shutil
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import docx
import pytest
from pypdf import PdfReader

from pipelines.components import default_registry
from pipelines.components.document import COMPONENT
from pipelines.engine import File, execute, parse_recipe
from pipelines.engine.components import ComponentError, TaskContext
from pipelines.engine.values import ATTRIBUTES

PAGE_WIDTH, PAGE_HEIGHT = 300, 200


def assemble_pdf(objects: list[bytes], info: bytes = b"") -> bytes:
    """A PDF of numbered ``objects`` (1 is the catalog) with a correct xref; ``info`` goes in the trailer."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, info, xref)
    return bytes(out)


def make_pdf(pages: list[str], *, title: str | None = None) -> bytes:
    """A minimal valid PDF: one Helvetica line of text per page."""
    count = len(pages)
    font_id = 3 + 2 * count
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{3 + 2 * i} 0 R".encode() for i in range(count))
        + b"] /Count %d >>" % count,
    ]
    for i, text in enumerate(pages):
        content = f"BT /F1 24 Tf 20 100 Td ({text}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {4 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    info = b""
    if title is not None:
        objects.append(f"<< /Title ({title}) >>".encode())
        info = b" /Info %d 0 R" % len(objects)
    return assemble_pdf(objects, info)


def make_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Quarterly Report", level=1)
    intro = document.add_paragraph("Revenue grew ")
    intro.add_run("strongly").bold = True
    intro.add_run(" this quarter.")
    document.add_heading("Highlights", level=2)
    document.add_paragraph("New customers", style="List Bullet")
    document.add_paragraph("Lower churn", style="List Bullet")
    document.add_paragraph("Ship it", style="List Number")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Region", "Sales"
    table.cell(1, 0).text, table.cell(1, 1).text = "EU", "42"
    document.core_properties.author = "Ada"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


HTML = b"""<!DOCTYPE html><html><head><title>Hello page</title><style>p{color:red}</style></head>
<body><h1>Welcome</h1><p>Some <b>bold</b> text.</p><script>alert('x')</script>
<ul><li>one</li><li>two</li></ul>
<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table></body></html>"""
CSV = b"name,age\nAda,36\nLinus,5|4\n"
MARKDOWN = b"# Title\n\n- a\n- b\n"


def run(task: str, input: dict[str, Any]) -> dict[str, Any]:
    return COMPONENT.tasks[task].run(input, TaskContext(component_id="x", task=task))


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_tasks_are_blocking_and_named_like_instill() -> None:
    """The four Instill task names exist and run in the thread pool."""
    assert set(COMPONENT.tasks) == {
        "TASK_CONVERT_TO_TEXT",
        "TASK_CONVERT_TO_MARKDOWN",
        "TASK_CONVERT_TO_IMAGES",
        "TASK_SPLIT_IN_PAGES",
    }
    assert all(task.blocking for task in COMPONENT.tasks.values())
    assert default_registry().get("document") is COMPONENT


# --- convert to text ----------------------------------------------------------------


def test_pdf_to_text_with_meta() -> None:
    """PDF text comes from every page; meta has the document info and the page count."""
    pdf = File(make_pdf(["Hello world", "Second page"], title="Greeting"), filename="greet.pdf")
    out = run("TASK_CONVERT_TO_TEXT", {"document": pdf})
    assert "Hello world" in out["body"] and "Second page" in out["body"]
    assert out["body"].index("Hello") < out["body"].index("Second")
    assert out["meta"]["Title"] == "Greeting" and out["meta"]["Pages"] == "2"
    assert out["error"] == "" and out["filename"] == "greet.txt"
    assert isinstance(out["msecs"], int) and out["msecs"] >= 0


def test_docx_to_text() -> None:
    """DOCX paragraphs and table cells become lines of text; core properties become meta."""
    out = run("TASK_CONVERT_TO_TEXT", {"document": File(make_docx())})
    assert "Quarterly Report" in out["body"]
    assert "Revenue grew strongly this quarter." in out["body"]
    assert "Region\tSales" in out["body"] and "EU\t42" in out["body"]
    assert out["meta"]["author"] == "Ada"


def test_html_to_text_drops_scripts_and_styles() -> None:
    """HTML text keeps the visible words only; the title goes to meta."""
    out = run("TASK_CONVERT_TO_TEXT", {"document": File(HTML, mime_type="text/html")})
    assert "Welcome" in out["body"] and "bold" in out["body"] and "one" in out["body"]
    assert "alert" not in out["body"] and "color" not in out["body"]
    assert out["meta"] == {"title": "Hello page"}


@pytest.mark.parametrize(
    ("data", "mime", "filename"),
    [
        (b"just words\nand more", "text/plain", None),
        (MARKDOWN, "text/markdown", None),
        (CSV, "text/csv", "table.csv"),
    ],
)
def test_text_like_documents_pass_through(data: bytes, mime: str, filename: str | None) -> None:
    """Plain text, Markdown and CSV come back as their text."""
    out = run("TASK_CONVERT_TO_TEXT", {"document": File(data, mime_type=mime), "filename": filename})
    assert out["body"] == data.decode()


def test_document_accepts_data_uri_and_base64_strings() -> None:
    """A data URI or raw base64 string works like a File; the data URI's filename is kept."""
    pdf = make_pdf(["From a string"])
    encoded = base64.b64encode(pdf).decode()
    by_uri = run("TASK_CONVERT_TO_TEXT", {"document": f"data:application/pdf;filename=a.pdf;base64,{encoded}"})
    by_b64 = run("TASK_CONVERT_TO_TEXT", {"document": encoded})
    assert "From a string" in by_uri["body"] and by_uri["filename"] == "a.txt"
    assert by_b64["body"] == by_uri["body"] and by_b64["filename"] == ""


def test_octet_stream_html_is_sniffed() -> None:
    """A document without a useful MIME type is recognised by its content."""
    out = run("TASK_CONVERT_TO_TEXT", {"document": File(HTML, mime_type="application/octet-stream")})
    assert "alert" not in out["body"] and "Welcome" in out["body"]


# --- convert to markdown ------------------------------------------------------------


def test_docx_to_markdown_keeps_structure() -> None:
    """DOCX headings, emphasis, bullet and numbered lists, and tables become Markdown."""
    out = run("TASK_CONVERT_TO_MARKDOWN", {"document": File(make_docx()), "filename": "report.docx"})
    body = out["body"]
    assert body.startswith("# Quarterly Report")
    assert "## Highlights" in body
    assert "Revenue grew **strongly** this quarter." in body
    assert "- New customers\n- Lower churn\n1. Ship it" in body
    assert "| Region | Sales |\n| --- | --- |\n| EU | 42 |" in body
    assert out["filename"] == "report.md" and out["markdowns"] == [body]
    assert out["images"] == [] and out["all-page-images"] == [] and out["error"] == ""


def test_html_to_markdown() -> None:
    """HTML headings, lists and tables survive as Markdown; scripts are dropped."""
    body = run("TASK_CONVERT_TO_MARKDOWN", {"document": File(HTML, mime_type="text/html")})["body"]
    assert "# Welcome" in body
    assert "Some **bold** text." in body
    assert "- one" in body and "- two" in body
    assert "| a | b |" in body and "| 1 | 2 |" in body
    assert "alert" not in body and "Hello page" not in body


def test_csv_to_markdown_table() -> None:
    """CSV becomes a Markdown table with a header row; pipes in cells are escaped."""
    body = run("TASK_CONVERT_TO_MARKDOWN", {"document": File(CSV), "filename": "people.csv"})["body"]
    assert body == "| name | age |\n| --- | --- |\n| Ada | 36 |\n| Linus | 5\\|4 |\n"


def test_markdown_passes_through() -> None:
    """Markdown input is already Markdown."""
    out = run("TASK_CONVERT_TO_MARKDOWN", {"document": File(MARKDOWN), "filename": "notes.md"})
    assert out["body"] == MARKDOWN.decode()


def test_pdf_to_markdown_per_page_and_page_images() -> None:
    """PDF Markdown is split per page; display-all-page-image renders every page."""
    pdf = File(make_pdf(["Alpha", "Beta"]), filename="ab.pdf")
    out = run(
        "TASK_CONVERT_TO_MARKDOWN",
        {"document": pdf, "display-all-page-image": True, "resolution": 72},
    )
    assert out["markdowns"] == ["Alpha\n", "Beta\n"]
    assert out["body"] == "Alpha\n\nBeta\n"
    assert [image.filename for image in out["all-page-images"]] == ["ab-1.png", "ab-2.png"]
    assert png_size(out["all-page-images"][0].read()) == (PAGE_WIDTH, PAGE_HEIGHT)


# --- convert to images --------------------------------------------------------------


def test_pdf_pages_to_png_images() -> None:
    """Each PDF page becomes a PNG at the requested resolution, named after the file."""
    pdf = File(make_pdf(["One", "Two", "Three"]), filename="deck.pdf")
    out = run("TASK_CONVERT_TO_IMAGES", {"document": pdf, "resolution": 144})
    assert out["filenames"] == ["deck-1.png", "deck-2.png", "deck-3.png"]
    assert all(isinstance(image, File) and image.mime_type == "image/png" for image in out["images"])
    assert png_size(out["images"][0].read()) == (PAGE_WIDTH * 2, PAGE_HEIGHT * 2)

    image_module = pytest.importorskip("PIL.Image")
    with image_module.open(io.BytesIO(out["images"][0].read())) as image:
        image.load()
        assert image.size == (PAGE_WIDTH * 2, PAGE_HEIGHT * 2) and image.mode == "RGB"
        # White page, black text somewhere on it.
        colours = {colour for _, colour in image.getcolors(maxcolors=1_000_000)}
        assert (255, 255, 255) in colours and min(sum(c) for c in colours) < 100


def test_default_resolution_is_300_dpi() -> None:
    """Without a resolution the page is rendered at 300 DPI."""
    out = run("TASK_CONVERT_TO_IMAGES", {"document": File(make_pdf(["x"]))})
    assert out["filenames"] == ["document-1.png"]
    width, height = png_size(out["images"][0].read())
    # PDFium rounds fractional sizes up.
    assert (width, height) == (math.ceil(PAGE_WIDTH * 300 / 72), math.ceil(PAGE_HEIGHT * 300 / 72))


def test_png_rows_decode_to_the_rendered_pixels() -> None:
    """The hand-rolled PNG encoder writes filter-0 scanlines of the RGB pixels."""
    out = run("TASK_CONVERT_TO_IMAGES", {"document": File(make_pdf(["x"])), "resolution": 72})
    png = out["images"][0].read()
    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    raw = zlib.decompress(idat)
    assert len(raw) == PAGE_HEIGHT * (1 + PAGE_WIDTH * 3)
    assert raw[:4] == b"\x00\xff\xff\xff"  # filter byte, then a white pixel


def test_images_need_a_pdf_and_a_sane_resolution() -> None:
    """Documents without pages and resolutions below 72 DPI are component errors."""
    with pytest.raises(
        ComponentError, match="Only PDF, DOCX, DOC, PPTX and PPT documents have pages; this one is HTML"
    ):
        run("TASK_CONVERT_TO_IMAGES", {"document": File(HTML, mime_type="text/html")})
    with pytest.raises(ComponentError, match="at least 72"):
        run("TASK_CONVERT_TO_IMAGES", {"document": File(make_pdf(["x"])), "resolution": 10})
    with pytest.raises(ComponentError, match="too large"):
        run("TASK_CONVERT_TO_IMAGES", {"document": File(make_pdf(["x"])), "resolution": 100_000})


# --- split in pages -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("batch_size", "expected"),
    [(None, [["P1"], ["P2"], ["P3"]]), (2, [["P1", "P2"], ["P3"]]), (4, [["P1", "P2", "P3"]])],
)
def test_split_in_pages(batch_size: int | None, expected: list[list[str]]) -> None:
    """A PDF splits into PDFs of batch-size pages (default 1), read back page by page."""
    input: dict[str, Any] = {"document": File(make_pdf(["P1", "P2", "P3"]), filename="in.pdf")}
    if batch_size is not None:
        input["batch-size"] = batch_size
    batches = run("TASK_SPLIT_IN_PAGES", input)["batches"]
    assert all(batch.mime_type == "application/pdf" for batch in batches)
    texts = [[page.extract_text().strip() for page in PdfReader(io.BytesIO(batch.read())).pages] for batch in batches]
    assert texts == expected
    if batch_size == 2:
        assert [batch.filename for batch in batches] == ["in-1-2.pdf", "in-3.pdf"]


def test_split_rejects_non_pdf_and_bad_batch_size() -> None:
    """Only PDFs split; batch-size must be a positive whole number."""
    with pytest.raises(ComponentError, match="only PDF"):
        run("TASK_SPLIT_IN_PAGES", {"document": File(HTML, mime_type="text/html")})
    with pytest.raises(ComponentError, match="batch-size"):
        run("TASK_SPLIT_IN_PAGES", {"document": File(make_pdf(["x"])), "batch-size": -1})


# --- errors -------------------------------------------------------------------------


def test_unsupported_types_are_named() -> None:
    """An image, a spreadsheet or unknown binary is refused with its type in the message."""
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    with pytest.raises(ComponentError, match=r"Unsupported document type image/png \(pic.png\)"):
        run("TASK_CONVERT_TO_TEXT", {"document": File(png, filename="pic.png")})
    with pytest.raises(ComponentError, match="Unsupported document type application/zip"):
        run("TASK_CONVERT_TO_MARKDOWN", {"document": File(_zip({"a.txt": b"hi"}))})
    with pytest.raises(ComponentError, match="Unsupported document type application/octet-stream"):
        run("TASK_CONVERT_TO_TEXT", {"document": File(b"\x00\x01\x02binary")})


def test_broken_or_missing_documents_fail_clearly() -> None:
    """A truncated PDF, a fake PDF, bad base64, a URL and a missing document are component errors."""
    with pytest.raises(ComponentError, match="Couldn't read the PDF"):
        run("TASK_CONVERT_TO_TEXT", {"document": File(b"%PDF-1.4\ngarbage")})
    with pytest.raises(ComponentError, match="declared as PDF but is not a PDF file"):
        run("TASK_CONVERT_TO_TEXT", {"document": File(b"hello", mime_type="application/pdf")})
    with pytest.raises(ComponentError, match="not a valid data URI or base64"):
        run("TASK_CONVERT_TO_TEXT", {"document": "not base64 at all!"})
    with pytest.raises(ComponentError, match="not fetched"):
        run("TASK_CONVERT_TO_TEXT", {"document": "https://example.com/a.pdf"})
    with pytest.raises(ComponentError, match="missing"):
        run("TASK_CONVERT_TO_TEXT", {})


def _zip(entries: dict[str, bytes]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# --- the :text attribute and the engine -------------------------------------------------


def test_text_attribute() -> None:
    """:text gives a document file's text; non-files and unsupported files don't have it."""
    text = ATTRIBUTES["text"]
    assert "Hello" in text(File(make_pdf(["Hello"])))
    assert text("data:text/plain;base64," + base64.b64encode(b"plain").decode()) == "plain"
    with pytest.raises(TypeError):
        text(42)
    with pytest.raises(ValueError, match="Unsupported"):
        text(File(b"\x89PNG\r\n\x1a\n" + b"\x00" * 8))


async def test_recipe_converts_a_document_variable_to_text() -> None:
    """A `type: document` variable bound from a data URI runs through convert-to-text and :text."""
    registry = default_registry()
    recipe = parse_recipe(
        {
            "variable": {"doc": {"type": "document"}},
            "component": {
                "convert": {
                    "type": "document",
                    "task": "TASK_CONVERT_TO_TEXT",
                    "input": {"document": "${variable.doc}"},
                }
            },
            "output": {
                "text": {"value": "${convert.output.body}"},
                "name": {"value": "${convert.output.filename}"},
                "direct": {"value": "${variable.doc:text}"},
            },
        },
        registry=registry,
    )
    uri = File(make_pdf(["Engine page"]), mime_type="application/pdf", filename="e.pdf").data_uri()
    result = await execute(recipe, recipe.bind_rows([{"doc": uri}]), registry=registry)
    assert not result.failed, result.error_message
    [row] = result.outputs_json()
    # :text is Instill's documentData.Text(): the Markdown body (a lone line is the title).
    assert row == {"text": "Engine page", "name": "e.txt", "direct": "# Engine page\n"}


# --- Instill's own fixtures and expected outputs -----------------------------------------
# Fixtures: tests/components/fixtures/instill/ (see its README), copied from
# instill-ai/pipeline-backend pkg/component/operator/document/v0/testdata/.

INSTILL = Path(__file__).parent / "fixtures" / "instill"
# Instill's mimeTypeByExtension() in convert_document_to_markdown_test.go.
INSTILL_MIME = {
    "test.pdf": "application/pdf",
    "test.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "test.doc": "application/msword",
    "test.html": "text/html",
    "test.pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "test.ppt": "application/vnd.ms-powerpoint",
    "test.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "test.xls": "application/vnd.ms-excel",
    "test.csv": "text/csv",
}
needs_libreoffice = pytest.mark.skipif(
    shutil.which("libreoffice") is None and shutil.which("soffice") is None,
    reason="LibreOffice is not installed (scripts/install-system-deps.sh installs it)",
)


def instill_file(name: str) -> File:
    return File((INSTILL / name).read_bytes(), mime_type=INSTILL_MIME[name])


def test_instill_pdf_to_text() -> None:
    """convert_test.go TestConvertToText "Convert pdf file": the line on one line, pdfinfo's metadata."""
    out = run("TASK_CONVERT_TO_TEXT", {"document": instill_file("test.pdf")})
    assert out["body"] == "This is test file for markdown"
    assert out["meta"] == {
        "Custom Metadata": "no",
        "Encrypted": "no",
        "File size": "15489 bytes",
        "Form": "none",
        "JavaScript": "no",
        "Metadata Stream": "no",
        "Optimized": "no",
        "PDF version": "1.4",
        "Page rot": "0",
        "Page size": "596 x 842 pts (A4)",
        "Pages": "1",
        "Producer": "Skia/PDF m128 Google Docs Renderer",
        "Suspects": "no",
        "Tagged": "no",
        "Title": "Untitled document",
        "UserProperties": "no",
    }
    assert out["error"] == "" and out["filename"] == ""


def test_instill_docx_to_text() -> None:
    """convert_test.go TestConvertToText "Convert docx file": the text, no metadata (the file has none)."""
    out = run("TASK_CONVERT_TO_TEXT", {"document": instill_file("test.docx")})
    assert out["body"] == "This is test file for markdown"
    assert out["meta"] == {} and out["error"] == "" and out["filename"] == ""


@pytest.mark.parametrize(
    ("name", "body"),
    [
        # "Convert PDF file - pdfplumber" (the default converter)
        ("test.pdf", "# This is test file for markdown\n"),
        ("test.docx", "# This is test file for markdown\n"),
        ("test.html", "This is test file"),
        ("test.xlsx", "# Sheet1\n| test | test | tse |\n| --- | --- | --- |\n| 1 | 23 | 2 |\n\n\n"),
        ("test.csv", "| test | test | tse |\n| --- | --- | --- |\n| 1 | 23 | 2 |\n"),
        # Instill's "Convert PPTX file" expects "# This           is     test          file       for markdown\n":
        # the spacing is an artefact of its LibreOffice-to-PDF round trip; the slide's title reads as written here.
        ("test.pptx", "# This is test file for markdown\n"),
        # Instill's "Convert XLS file" has an empty third column: its Go XLS reader reads one column past
        # the last (row.LastCol() is one past the end); the workbook has two columns.
        (
            "test.xls",
            "# Sheet1\n| Name | Age |\n| --- | --- |\n| ChunHao | 27 |\n| Benny | 27 |\n| Kevin | 27 |\n\n\n"
            "# Sheet2\n| Name | Age |\n| --- | --- |\n| ChunHao | 28 |\n| Benny | 28 |\n| Kevin | 28 |\n\n\n",
        ),
    ],
)
def test_instill_documents_to_markdown(name: str, body: str) -> None:
    """convert_document_to_markdown_test.go TestConvertDocumentToMarkdown: each format's expected body."""
    out = run("TASK_CONVERT_TO_MARKDOWN", {"document": instill_file(name)})
    assert out["body"] == body
    assert out["images"] == [] and out["all-page-images"] == [] and out["error"] == "" and out["filename"] == ""
    if name in ("test.pdf", "test.docx", "test.pptx"):
        assert out["markdowns"] == [body]


@needs_libreoffice
@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("test.doc", "# This is test file for markdown\n"),
        # Instill's "Convert PPT file": the same spacing artefact as its PPTX case.
        ("test.ppt", "# This is test file for markdown\n"),
    ],
)
def test_instill_legacy_office_files_to_markdown(name: str, body: str) -> None:
    """convert_document_to_markdown_test.go "Convert DOC file" / "Convert PPT file", through LibreOffice."""
    out = run("TASK_CONVERT_TO_MARKDOWN", {"document": instill_file(name), "filename": name})
    assert out["body"] == body and out["markdowns"] == [body]
    assert out["filename"] == name.replace(name.rsplit(".", 1)[1], "md")


@needs_libreoffice
def test_legacy_office_files_to_text_and_word_files_to_images() -> None:
    """A DOC file's text; a DOCX file's page as an image, both through LibreOffice."""
    out = run("TASK_CONVERT_TO_TEXT", {"document": instill_file("test.doc")})
    assert out["body"] == "This is test file for markdown" and out["meta"] == {"Pages": "1"}
    images = run("TASK_CONVERT_TO_IMAGES", {"document": instill_file("test.docx"), "filename": "cv.docx"})
    assert images["filenames"] == ["cv-1.png"]
    # A4 (595.3 x 841.9 pt) at 300 DPI, as the DOCX's page setup says; PDFium rounds up.
    assert png_size(images["images"][0].read()) == (2481, 3508)


def test_legacy_office_files_without_libreoffice_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without LibreOffice, DOC and PPT are refused with what to install or how to save the file instead."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ComponentError, match=r"Reading DOC files needs LibreOffice.*save the file as DOCX or PDF"):
        run("TASK_CONVERT_TO_MARKDOWN", {"document": instill_file("test.doc")})
    with pytest.raises(ComponentError, match=r"Reading PPT files needs LibreOffice.*save the file as PPTX or PDF"):
        run("TASK_CONVERT_TO_TEXT", {"document": File((INSTILL / "test.ppt").read_bytes())})


def test_office_kinds_are_told_by_content() -> None:
    """Without a MIME type or name, Office files are recognised by their parts (ZIP) or streams (OLE)."""
    from pipelines.components import _documents as docs

    kinds = {name: docs.detect_kind(File((INSTILL / name).read_bytes())) for name in INSTILL_MIME}
    assert kinds == {
        "test.pdf": "pdf",
        "test.docx": "docx",
        "test.doc": "doc",
        "test.html": "html",
        "test.pptx": "pptx",
        "test.ppt": "ppt",
        "test.xlsx": "xlsx",
        "test.xls": "xls",
        "test.csv": "text",  # plain text without a name or type
    }


def test_spreadsheets_and_slides_to_text() -> None:
    """XLSX/XLS text is each sheet's name and tab-separated rows; PPTX text is the slides' text."""
    xlsx = run("TASK_CONVERT_TO_TEXT", {"document": instill_file("test.xlsx")})
    assert xlsx["body"] == "Sheet1\ntest\ttest\ttse\n1\t23\t2" and xlsx["meta"] == {"Sheets": "1"}
    xls = run("TASK_CONVERT_TO_TEXT", {"document": instill_file("test.xls")})
    assert xls["body"].startswith("Sheet1\nName\tAge\nChunHao\t27\n") and xls["body"].endswith(
        "Sheet2\nName\tAge\nChunHao\t28\nBenny\t28\nKevin\t28"
    )
    pptx = run("TASK_CONVERT_TO_TEXT", {"document": instill_file("test.pptx")})
    assert pptx["body"] == "This is test file for markdown" and pptx["meta"] == {"Slides": "1"}


def test_empty_sheet_and_broken_workbook() -> None:
    """An empty sheet reads "No data found" (Instill's wording); a broken workbook is a clear error."""
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    workbook.active.title = "Empty"
    data = workbook.create_sheet("Prices")
    data.append(["item", "price", "on sale"])
    data.append(["tea", 2.5, True])
    buffer = io.BytesIO()
    workbook.save(buffer)
    out = run("TASK_CONVERT_TO_MARKDOWN", {"document": File(buffer.getvalue()), "filename": "book.xlsx"})
    assert out["body"] == (
        "# Empty\nNo data found\n\n\n# Prices\n| item | price | on sale |\n| --- | --- | --- |\n| tea | 2.5 | TRUE |\n\n\n"
    )
    assert out["filename"] == "book.md"
    broken = _zip({"xl/workbook.xml": b"<not a workbook"})
    with pytest.raises(ComponentError, match="Couldn't read the XLSX workbook"):
        run("TASK_CONVERT_TO_MARKDOWN", {"document": File(broken)})


# --- PDF structure: headings, paragraphs, lists ---------------------------------------------


def make_pdf_page(lines: list[tuple[int, int, str]]) -> bytes:
    """A one-page Letter PDF: each line is (font size, baseline from the bottom, text) in Helvetica."""
    content = "".join(f"BT /F1 {size} Tf 72 {y} Td ({text}) Tj ET\n" for size, y, text in lines).encode("latin-1")
    return assemble_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        ]
    )


REPORT_LINES = [
    (24, 740, "Annual Report"),
    (16, 700, "Summary"),
    (11, 680, "Revenue grew strongly"),
    (11, 667, "across every region."),
    (11, 640, "Costs fell."),
    (11, 620, "\x95 First point"),  # WinAnsi bullet
    (11, 607, "\x95 Second point"),
    (11, 594, "2. Third step"),
    (16, 560, "Outlook"),
    (11, 540, "Growth continues."),
]


def test_pdf_to_markdown_headings_paragraphs_and_lists() -> None:
    """The largest text is #, the next ##; body lines stay text, gaps split paragraphs; bullets become a list."""
    out = run("TASK_CONVERT_TO_MARKDOWN", {"document": File(make_pdf_page(REPORT_LINES)), "filename": "report.pdf"})
    assert out["body"] == (
        "# Annual Report\n\n## Summary\n\nRevenue grew strongly\nacross every region.\n\nCosts fell.\n\n"
        "- First point\n- Second point\n2. Third step\n\n## Outlook\n\nGrowth continues.\n"
    )
    assert out["filename"] == "report.md"


def test_pdf_text_keeps_lines_whole() -> None:
    """PDF text has one line per line of the page, words together (not one word per line)."""
    body = run("TASK_CONVERT_TO_TEXT", {"document": File(make_pdf_page(REPORT_LINES))})["body"]
    assert body.splitlines()[:4] == ["Annual Report", "Summary", "Revenue grew strongly", "across every region."]


def test_body_sized_text_is_not_a_heading() -> None:
    """A page of same-sized text has no headings (Instill's rule would make it one long heading)."""
    lines = [(11, 700 - 13 * i, f"Line number {i}") for i in range(6)]
    body = run("TASK_CONVERT_TO_MARKDOWN", {"document": File(make_pdf_page(lines))})["body"]
    assert "#" not in body and body.startswith("Line number 0\nLine number 1\n")


# --- documents inside template strings ---------------------------------------------------


async def test_documents_inside_strings_read_as_their_text() -> None:
    """ "Resume: ${variable.resume}" gets the document's Markdown (Instill's documentData.String());
    text documents read as themselves, images as their data URI, arrays as Instill writes them."""
    registry = default_registry()
    recipe = parse_recipe(
        {
            "variable": {
                "resume": {"type": "document"},
                "notes": {"type": "document"},
                "photo": {"type": "image"},
                "skills": {"type": "array:string"},
            },
            "output": {
                "prompt": {"value": "Resume: ${variable.resume}Notes: ${variable.notes}"},
                "photo": {"value": "Photo: ${variable.photo}"},
                "skills": {"value": "Skills: ${variable.skills}"},
            },
        },
        registry=registry,
    )
    pdf = (INSTILL / "test.pdf").read_bytes()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    row = {
        "resume": "data:application/pdf;base64," + base64.b64encode(pdf).decode(),
        "notes": "data:text/markdown;base64," + base64.b64encode(b"- kind\n- patient").decode(),
        "photo": "data:image/png;base64," + base64.b64encode(png).decode(),
        "skills": ["Go", "Python"],
    }
    result = await execute(recipe, recipe.bind_rows([row]), registry=registry)
    assert not result.failed, result.error_message
    [out] = result.outputs_json()
    assert out["prompt"] == "Resume: # This is test file for markdown\nNotes: - kind\n- patient"
    assert out["photo"] == "Photo: " + row["photo"]
    assert out["skills"] == 'Skills: ["Go", "Python"]'


async def test_a_broken_document_inside_a_string_fails_the_component() -> None:
    """A document that can't be read fails its component with the reason, not an empty string."""
    registry = default_registry()
    recipe = parse_recipe(
        {
            "variable": {"resume": {"type": "document"}},
            "component": {
                "ask": {
                    "type": "json",
                    "task": "TASK_MARSHAL",
                    "input": {"json": {"prompt": "Resume: ${variable.resume}"}},
                }
            },
            "output": {"out": {"value": "${ask.output.string}"}},
        },
        registry=registry,
    )
    row = {"resume": "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4\ngarbage").decode()}
    result = await execute(recipe, recipe.bind_rows([row]), registry=registry)
    assert result.failed
    assert "Couldn't read ${variable.resume} as text: Couldn't read the PDF" in (result.error_message or "")


def test_pdf_ruled_tables_become_markdown_tables() -> None:
    """A drawn grid (a rectangle and lines, as pdfplumber's lines_strict finds tables) is a Markdown table
    where it stands; its text is not repeated as lines."""
    content = b"BT /F1 11 Tf 72 700 Td (Before the table.) Tj ET\n"
    content += b"0.5 w 72 620 258 60 re S 200 620 m 200 680 l S 72 660 m 330 660 l S 72 640 m 330 640 l S\n"
    cells = [(76, 666, "Region"), (204, 666, "Sales"), (76, 646, "EU"), (204, 646, "4|2"), (76, 626, "US")]
    content += b"".join(f"BT /F1 11 Tf {x} {y} Td ({text}) Tj ET\n".encode() for x, y, text in cells)
    content += b"BT /F1 11 Tf 72 590 Td (After the table.) Tj ET\n"
    pdf = assemble_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )
    body = run("TASK_CONVERT_TO_MARKDOWN", {"document": File(pdf)})["body"]
    assert body == (
        "Before the table.\n\n| Region | Sales |\n| --- | --- |\n| EU | 4\\|2 |\n| US |  |\n\nAfter the table.\n"
    )


def test_word_processor_pdf_to_markdown() -> None:
    """A LibreOffice-written PDF (fixtures/report-libreoffice.pdf): heading levels from sizes (14 pt #,
    13 pt ##), the ruled table, and symbol-font bullets as a list."""
    pdf = File((Path(__file__).parent / "fixtures" / "report-libreoffice.pdf").read_bytes())
    body = run("TASK_CONVERT_TO_MARKDOWN", {"document": pdf})["body"]
    assert body == (
        "# Quarterly Report\n\nRevenue grew strongly this quarter.\n\n## Numbers\n\n"
        "| Region | Sales | Growth |\n| --- | --- | --- |\n| EU | 42 | 5% |\n| US | 7 | 1% |\n\n"
        "- Ship it\n- Then rest\n"
    )


def _fake_libreoffice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, script: str) -> None:
    program = tmp_path / "libreoffice"
    program.write_text("#!/bin/sh\n" + script)
    program.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda name: str(program) if name == "libreoffice" else None)


def test_libreoffice_failures_and_timeouts_are_component_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """LibreOffice's own complaint is passed on; a conversion that hangs is stopped at the time limit."""
    from pipelines.components import _office

    _fake_libreoffice(monkeypatch, tmp_path, "echo 'Error: source file could not be loaded' >&2\nexit 1\n")
    with pytest.raises(ComponentError, match="LibreOffice couldn't read the DOC file: Error: source file could not"):
        run("TASK_CONVERT_TO_TEXT", {"document": instill_file("test.doc")})
    _fake_libreoffice(monkeypatch, tmp_path, "sleep 30\n")
    monkeypatch.setattr(_office, "LIBREOFFICE_TIMEOUT", 0.5)
    started = time.monotonic()
    with pytest.raises(ComponentError, match=r"LibreOffice took longer than 0.5 s to read the PPT file"):
        run("TASK_CONVERT_TO_MARKDOWN", {"document": instill_file("test.ppt")})
    assert time.monotonic() - started < 10


def _workbook_with(cells: dict[str, str], *, dimension: str | None = None) -> bytes:
    """An XLSX holding ``cells``; ``dimension`` rewrites the size the sheet declares."""
    openpyxl = pytest.importorskip("openpyxl")
    import zipfile

    workbook = openpyxl.Workbook()
    for ref, value in cells.items():
        workbook.active[ref] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    if dimension is None:
        return buffer.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<dimension ref="A1:B2"/>', f'<dimension ref="{dimension}"/>'.encode())
                assert dimension.encode() in data
            target.writestr(item, data)
    return out.getvalue()


def test_a_workbook_declaring_a_huge_sheet_reads_its_cells_only() -> None:
    """A few-KB workbook whose sheet claims all 1,048,576 x 16,384 cells is read as the
    cells it holds, at once (not padded out to billions of empty cells)."""
    data = _workbook_with({"A1": "tea", "B2": "2.5"}, dimension="A1:XFD1048576")
    started = time.monotonic()
    out = run("TASK_CONVERT_TO_TEXT", {"document": File(data), "filename": "book.xlsx"})
    assert out["body"] == "Sheet\ntea\t\n\t2.5"
    assert time.monotonic() - started < 10


def test_a_workbook_spanning_too_many_cells_is_refused() -> None:
    """One cell in the far corner of a sheet would be a grid of 17 billion cells: refused
    with the limit, quickly."""
    data = _workbook_with({"A1": "tea", "XFD1048576": "x"})
    started = time.monotonic()
    with pytest.raises(ComponentError, match=r"XLSX workbook .*more than [\d,]+ cells"):
        run("TASK_CONVERT_TO_TEXT", {"document": File(data), "filename": "book.xlsx"})
    assert time.monotonic() - started < 10


def test_an_office_file_that_unpacks_too_large_is_refused(monkeypatch) -> None:
    """A ZIP bomb: a small DOCX/XLSX/PPTX whose parts unpack to more than the limit is
    refused before any of it is unpacked, with the limit in the message."""
    import zipfile

    from pipelines.components import _documents

    monkeypatch.setattr(_documents, "MAX_UNPACKED_BYTES", 1024 * 1024)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(make_docx())) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            out.writestr(item, source.read(item.filename))
        out.writestr("word/padding.xml", b"<p/>" * 500_000)  # 2 MB, a few KB packed
    bomb = buffer.getvalue()
    assert len(bomb) < 100_000
    with pytest.raises(ComponentError, match=r"DOCX file unpacks to more than 1 MB"):
        run("TASK_CONVERT_TO_TEXT", {"document": File(bomb), "filename": "report.docx"})
    # The same document without the padding still reads.
    assert "Quarterly Report" in run("TASK_CONVERT_TO_TEXT", {"document": File(make_docx())})["body"]


@needs_libreoffice
def test_libreoffice_fetches_nothing_a_document_links_to() -> None:
    """A DOCX whose picture is a link to a URL (an internal address, say) is drawn
    without it: LibreOffice fetches no linked content, which would bypass the server's
    outbound allow list (and draw what it found into the page images)."""
    import http.server
    import re
    import threading
    import zipfile

    from PIL import Image

    requested: list[str] = []

    class Server(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            requested.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        document = docx.Document()
        document.add_paragraph("Linked picture below")
        picture = io.BytesIO()
        Image.new("RGB", (20, 20), "red").save(picture, "PNG")
        document.add_picture(picture)
        saved = io.BytesIO()
        document.save(saved)
        linked = io.BytesIO()
        url = f"http://127.0.0.1:{server.server_address[1]}/internal.png"
        with zipfile.ZipFile(saved) as source, zipfile.ZipFile(linked, "w") as out:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "word/_rels/document.xml.rels":
                    data = re.sub(rb'Target="media/[^"]+"', f'Target="{url}" TargetMode="External"'.encode(), data)
                elif item.filename == "word/document.xml":
                    data = data.replace(b"r:embed=", b"r:link=")
                out.writestr(item, data)
        images = run("TASK_CONVERT_TO_IMAGES", {"document": File(linked.getvalue()), "filename": "linked.docx"})
    finally:
        server.shutdown()
    assert images["filenames"] == ["linked-1.png"]
    assert requested == []


# --- images inside documents (display-image-tag) -------------------------------------------


def make_pdf_with_pictures() -> bytes:
    """Two Letter pages: text with a 100x50 pt picture between two of its lines, then a
    page holding only a 40x40 pt picture (both a 2x2 RGB image XObject, scaled)."""
    text = "".join(
        f"BT /F1 {size} Tf 72 {y} Td ({line}) Tj ET\n"
        for size, y, line in [
            (24, 740, "Field Notes"),
            (11, 700, "Before the picture."),
            (11, 687, "Still before it."),
            (11, 560, "After the picture."),
        ]
    )
    first = (text + "q 100 0 0 50 72 600 cm /Im1 Do Q\n").encode("latin-1")
    second = b"q 40 0 0 40 72 500 cm /Im1 Do Q\n"
    pixels = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])
    resources = b"/Resources << /Font << /F1 7 0 R >> /XObject << /Im1 8 0 R >> >>"
    return assemble_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] " + resources + b" /Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(first) + first + b"\nendstream",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] " + resources + b" /Contents 6 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(second) + second + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
            b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceRGB /BitsPerComponent 8 "
            b"/Length %d >>\nstream\n" % len(pixels) + pixels + b"\nendstream",
        ]
    )


def test_pdf_images_are_tagged_where_they_stand_and_returned_as_pngs() -> None:
    """Instill's converter with display-image-tag: each picture's area of the page as a
    PNG at the resolution, tagged ![image N](N) between the lines it stands between,
    numbered through the document; without the flag, no tags and no images."""
    pdf = File(make_pdf_with_pictures(), mime_type="application/pdf")
    out = run("TASK_CONVERT_TO_MARKDOWN", {"document": pdf, "display-image-tag": True, "resolution": 144})
    assert out["body"] == (
        "# Field Notes\n\nBefore the picture.\nStill before it.\n\n![image 0](0)\n\nAfter the picture.\n\n"
        "![image 1](1)\n"
    )
    assert out["markdowns"] == [
        "# Field Notes\n\nBefore the picture.\nStill before it.\n\n![image 0](0)\n\nAfter the picture.\n",
        "![image 1](1)\n",
    ]
    assert [image.mime_type for image in out["images"]] == ["image/png", "image/png"]
    assert [png_size(image.read()) for image in out["images"]] == [(200, 100), (80, 80)]
    plain = run("TASK_CONVERT_TO_MARKDOWN", {"document": pdf})
    assert plain["images"] == [] and "![image" not in plain["body"]
    assert plain["body"] == "# Field Notes\n\nBefore the picture.\nStill before it.\n\nAfter the picture.\n"
    with pytest.raises(ComponentError, match="display-image-tag must be true or false"):
        run("TASK_CONVERT_TO_MARKDOWN", {"document": pdf, "display-image-tag": "yes"})


def picture(size: tuple[int, int], kind: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=kind)
    return buffer.getvalue()


def test_docx_images_come_from_word_media_in_place() -> None:
    """A DOCX's pictures (word/media) in the order they stand: after the paragraph that
    holds them, a table's after the table; a JPEG comes back as PNG."""
    document = docx.Document()
    document.add_paragraph("Before the picture.")
    document.add_picture(io.BytesIO(picture((30, 20), "PNG")))
    document.add_paragraph("After the picture.")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Logo"
    table.cell(0, 1).paragraphs[0].add_run().add_picture(io.BytesIO(picture((12, 10), "JPEG")))
    buffer = io.BytesIO()
    document.save(buffer)
    out = run("TASK_CONVERT_TO_MARKDOWN", {"document": File(buffer.getvalue()), "display-image-tag": True})
    assert out["body"] == (
        "Before the picture.\n\n![image 0](0)\n\nAfter the picture.\n\n| Logo |  |\n| --- | --- |\n\n![image 1](1)\n"
    )
    assert [png_size(image.read()) for image in out["images"]] == [(30, 20), (12, 10)]
    plain = run("TASK_CONVERT_TO_MARKDOWN", {"document": File(buffer.getvalue())})
    assert plain["images"] == [] and "![image" not in plain["body"]


def test_pptx_pictures_are_tagged_where_they_stand_on_their_slide() -> None:
    import pptx
    from pptx.util import Inches

    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])  # title only
    slide.shapes.title.text = "Results"
    slide.shapes.add_picture(io.BytesIO(picture((24, 16), "PNG")), Inches(1), Inches(2))
    slide.shapes.add_textbox(Inches(1), Inches(5), Inches(4), Inches(1)).text_frame.text = "Below the chart."
    buffer = io.BytesIO()
    presentation.save(buffer)
    out = run("TASK_CONVERT_TO_MARKDOWN", {"document": File(buffer.getvalue()), "display-image-tag": True})
    assert out["body"] == "# Results\n\n![image 0](0)\n\nBelow the chart.\n"
    assert [png_size(image.read()) for image in out["images"]] == [(24, 16)]
    plain = run("TASK_CONVERT_TO_MARKDOWN", {"document": File(buffer.getvalue())})
    assert plain["body"] == "# Results\n\nBelow the chart.\n" and plain["images"] == []
