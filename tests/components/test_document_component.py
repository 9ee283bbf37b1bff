"""The document component: text, Markdown, page images and page splits; the :text attribute."""

from __future__ import annotations

import base64
import io
import math
import struct
import zlib
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


def make_pdf(pages: list[str], *, title: str | None = None) -> bytes:
    """A minimal valid PDF: one Helvetica line of text per page, with a correct xref."""
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
    assert out["error"] == "" and out["filename"] == "greet.pdf"
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
    assert "From a string" in by_uri["body"] and by_uri["filename"] == "a.pdf"
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
    assert out["filename"] == "report.docx" and out["markdowns"] == [body]
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
    assert body == "| name | age |\n| --- | --- |\n| Ada | 36 |\n| Linus | 5\\|4 |"


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
    assert out["markdowns"] == ["Alpha", "Beta"]
    assert out["body"] == "Alpha\n\nBeta"
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
    """Non-PDF documents and resolutions below 72 DPI are component errors."""
    with pytest.raises(ComponentError, match="only PDF"):
        run("TASK_CONVERT_TO_IMAGES", {"document": File(make_docx())})
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
    with pytest.raises(ComponentError, match="declared as a PDF"):
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
    assert row == {"text": "Engine page", "name": "e.pdf", "direct": "Engine page"}
