"""Spreadsheets, presentations and legacy Office files for the ``document`` component.

XLSX (openpyxl), XLS (xlrd) and PPTX (python-pptx) are read in pure Python.
DOC and PPT (the binary Office formats) have no well-kept pure-Python reader:
they are converted to PDF with LibreOffice (``libreoffice --headless
--convert-to pdf``), as Instill does, and read as that PDF. Without LibreOffice
they are refused with a message that says so.
"""

from __future__ import annotations

import datetime
import io
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import threading
from typing import Any

from pipelines.engine.components import ComponentError

__all__ = [
    "LIBREOFFICE_MISSING",
    "cell_text",
    "libreoffice_to_pdf",
    "pptx_blocks",
    "pptx_slides",
    "xls_sheets",
    "xlsx_sheets",
]

LIBREOFFICE_MISSING = (
    "{what} needs LibreOffice, which is not installed on this server "
    "(Debian: apt-get install libreoffice-writer-nogui libreoffice-impress-nogui); {advice}"
)
#: One conversion at a time: LibreOffice instances sharing a profile clash.
_LIBREOFFICE_LOCK = threading.Lock()
#: A conversion that takes longer than this is stopped.
LIBREOFFICE_TIMEOUT = 120
#: What LibreOffice gets of the server's environment.
_PASSED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "FONTCONFIG_PATH", "FONTCONFIG_FILE", "SAL_USE_VCLPLUGIN")
#: The most cells a workbook's sheets may span (rows x columns up to the last filled
#: cell, as the table shows them): a few-KB file can name a cell in the far corner of
#: a 17-billion-cell sheet, which would take the server's memory to lay out.
MAX_WORKBOOK_CELLS = 2_000_000
#: The most cells, empty ones included, read off an XLSX file's rows before that.
MAX_WORKBOOK_STORED_CELLS = 25 * MAX_WORKBOOK_CELLS


def _check_cells(kind: str, cells: int) -> None:
    if cells > MAX_WORKBOOK_CELLS:
        raise ComponentError(
            f"The {kind} workbook spans more than {MAX_WORKBOOK_CELLS:,} cells (rows x columns up to its last "
            "filled cell), too many to convert; split it or remove far-away cells."
        )


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a spreadsheet shows: 1 not 1.0, dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _trim(rows: list[list[str]], kind: str, counted: int = 0) -> list[list[str]]:
    """Rows without trailing empty rows and trailing empty columns (``counted``: the
    cells of the sheets before, for :data:`MAX_WORKBOOK_CELLS`)."""
    while rows and not any(rows[-1]):
        rows.pop()
    width = max((max((i + 1 for i, cell in enumerate(row) if cell), default=0) for row in rows), default=0)
    _check_cells(kind, counted + len(rows) * width)
    return [row[:width] + [""] * (width - len(row[:width])) for row in rows]


def xlsx_sheets(data: bytes) -> list[tuple[str, list[list[str]]]]:
    """Every worksheet's name and rows of cell texts (cached formula results, not formulas)."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises assorted zip/xml/KeyError errors
        raise ComponentError(f"Couldn't read the XLSX workbook: {exc}") from None
    try:
        sheets: list[tuple[str, list[list[str]]]] = []
        counted = stored = 0
        for sheet in workbook.worksheets:
            # Rows as stored, not padded to the size the sheet declares (any size at all).
            sheet.reset_dimensions()
            rows: list[list[str]] = []
            width = filled = 0
            for row in sheet.iter_rows(values_only=True):
                stored += len(row)
                if stored > MAX_WORKBOOK_STORED_CELLS:  # empty styled cells far out on many rows
                    _check_cells("XLSX", stored)
                cells = [cell_text(value) for value in row]
                while cells and not cells[-1]:
                    cells.pop()  # styled empty cells
                rows.append(cells)
                if cells:
                    width, filled = max(width, len(cells)), len(rows)
                    _check_cells("XLSX", counted + filled * width)
            sheets.append((sheet.title, _trim(rows, "XLSX", counted)))
            counted += sum(len(row) for row in sheets[-1][1])
    finally:
        workbook.close()
    return sheets


def xls_sheets(data: bytes) -> list[tuple[str, list[list[str]]]]:
    """Every sheet's name and rows of cell texts, from an Excel 97-2003 workbook."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception as exc:  # noqa: BLE001 - xlrd raises XLRDError, struct and compdoc errors
        raise ComponentError(f"Couldn't read the XLS workbook: {exc}") from None
    try:
        sheets: list[tuple[str, list[list[str]]]] = []
        counted = 0
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            _check_cells("XLS", counted + sheet.nrows * sheet.ncols)
            rows = []
            for row in range(sheet.nrows):
                cells = []
                for cell in sheet.row(row):
                    value = cell.value
                    if cell.ctype == xlrd.XL_CELL_DATE:
                        value = xlrd.xldate.xldate_as_datetime(value, book.datemode)
                    elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                        value = bool(value)
                    elif cell.ctype == xlrd.XL_CELL_ERROR:
                        value = xlrd.error_text_from_code.get(value, "#ERR")
                    cells.append(cell_text(value))
                rows.append(cells)
            sheets.append((sheet.name, _trim(rows, "XLS", counted)))
            counted += sum(len(row) for row in sheets[-1][1])
            book.unload_sheet(index)
    finally:
        book.release_resources()
    return sheets


def pptx_slides(data: bytes) -> list[list[tuple[str, str]]]:
    """Every slide's text blocks as ``(kind, text)``: ``title``, ``text`` or ``table`` rows joined by tabs."""
    return [[(kind, value) for kind, value in blocks if isinstance(value, str)] for blocks in pptx_blocks(data)]


def _picture(shape: Any) -> bytes | None:
    """A picture shape's image bytes (None for other shapes, or a picture linked, not embedded)."""
    try:
        blob: bytes = shape.image.blob
    except (AttributeError, KeyError, ValueError):
        return None
    return blob


def pptx_blocks(data: bytes, *, pictures: bool = False) -> list[list[tuple[str, str | bytes]]]:
    """Every slide's blocks top to bottom as :func:`pptx_slides` has them; with
    ``pictures``, its pictures too, as ``("picture", image bytes)``."""
    import pptx
    from pptx.enum.shapes import PP_PLACEHOLDER

    try:
        presentation = pptx.Presentation(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-pptx raises assorted zip/xml/KeyError errors
        raise ComponentError(f"Couldn't read the PPTX presentation: {exc}") from None
    titles = {PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE, PP_PLACEHOLDER.VERTICAL_TITLE}
    slides = []
    for slide in presentation.slides:
        blocks: list[tuple[str, str | bytes]] = []
        shapes = sorted(slide.shapes, key=lambda shape: ((shape.top or 0), (shape.left or 0)))
        for shape in shapes:
            if shape.has_text_frame:
                text = shape.text_frame.text.strip()
                if not text:
                    continue
                is_title = shape.is_placeholder and shape.placeholder_format.type in titles
                blocks.append(("title" if is_title else "text", text))
            elif getattr(shape, "has_table", False) and shape.has_table:
                rows = ["\t".join(cell.text for cell in row.cells) for row in shape.table.rows]
                blocks.append(("table", "\n".join(rows)))
            elif pictures and (blob := _picture(shape)) is not None:
                blocks.append(("picture", blob))
        slides.append(blocks)
    return slides


# LibreOffice's profile for a conversion: a document is untrusted, so it may not reach
# the network (linked pictures, OLE/DDE links, web queries would be fetched by the
# server, past the outbound allow list, and drawn into the PDF) nor run macros. Links
# are blocked and never updated, and any fetch goes to a proxy on a closed port.
_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
{items}
</oor:items>
"""
_PROFILE_SETTINGS = (
    ("org.openoffice.Office.Common/Security/Scripting", "BlockUntrustedRefererLinks", "true"),
    ("org.openoffice.Office.Common/Security/Scripting", "DisableMacrosExecution", "true"),
    ("org.openoffice.Office.Common/Security/Scripting", "MacroSecurityLevel", "3"),
    ("org.openoffice.Office.Writer/Content/Update", "Link", "2"),
    ("org.openoffice.Office.Calc/Content/Update", "Link", "2"),
    ("org.openoffice.Inet/Settings", "ooInetProxyType", "2"),
    ("org.openoffice.Inet/Settings", "ooInetHTTPProxyName", "127.0.0.1"),
    ("org.openoffice.Inet/Settings", "ooInetHTTPProxyPort", "9"),
    ("org.openoffice.Inet/Settings", "ooInetHTTPSProxyName", "127.0.0.1"),
    ("org.openoffice.Inet/Settings", "ooInetHTTPSProxyPort", "9"),
    ("org.openoffice.Inet/Settings", "ooInetNoProxy", ""),
)


def _write_profile(directory: str) -> str:
    """A LibreOffice user profile with :data:`_PROFILE_SETTINGS` in ``directory``; its URL."""
    user = os.path.join(directory, "user")
    os.makedirs(user)
    items = "\n".join(
        f'<item oor:path="/{path}"><prop oor:name="{name}" oor:op="fuse"><value>{value}</value></prop></item>'
        for path, name, value in _PROFILE_SETTINGS
    )
    with open(os.path.join(user, "registrymodifications.xcu"), "w", encoding="utf-8") as fh:
        fh.write(_PROFILE.format(items=items))
    return pathlib.Path(directory).as_uri()


def libreoffice_to_pdf(data: bytes, extension: str, kind: str, what: str, advice: str) -> bytes:
    """``data`` (a ``.doc``/``.ppt``… file) converted to PDF by LibreOffice.

    ``what`` and ``advice`` complete the message when LibreOffice is missing.
    """
    program = shutil.which("libreoffice") or shutil.which("soffice")
    if program is None:
        raise ComponentError(LIBREOFFICE_MISSING.format(what=what, advice=advice))
    with _LIBREOFFICE_LOCK, tempfile.TemporaryDirectory(prefix="pipeline-office-") as workdir:
        source = os.path.join(workdir, f"document.{extension}")
        with open(source, "wb") as fh:
            fh.write(data)
        profile = _write_profile(os.path.join(workdir, "profile"))
        command = [
            program,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            workdir,
            source,
        ]
        # Its own profile in the temporary directory (no clash with a desktop session),
        # and none of the server's settings (keys, database URL) in its environment.
        env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
        env["HOME"] = workdir
        # Its own process group, so a timeout stops LibreOffice's helper processes too.
        process = subprocess.Popen(  # noqa: S603 - fixed program and arguments, no shell
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
        )
        try:
            stdout, stderr = process.communicate(timeout=LIBREOFFICE_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise ComponentError(
                f"LibreOffice took longer than {LIBREOFFICE_TIMEOUT} s to read the {kind} file."
            ) from None
        target = os.path.join(workdir, "document.pdf")
        if process.returncode != 0 or not os.path.exists(target):
            detail = (stderr or stdout).decode("utf-8", "replace").strip()[-300:]
            raise ComponentError(f"LibreOffice couldn't read the {kind} file{': ' + detail if detail else ''}.")
        with open(target, "rb") as fh:
            return fh.read()
