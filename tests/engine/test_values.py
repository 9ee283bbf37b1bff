"""File values, data URIs, MIME sniffing, to_json and attributes."""

from __future__ import annotations

import base64

from pipelines.engine.values import ATTRIBUTES, File, sniff_mime_type, to_json

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_data_uri_round_trip_keeps_mime_filename_and_bytes() -> None:
    """A File made from a data URI renders back to an equivalent data URI."""
    uri = "data:image/png;filename=a%20b.png;base64," + base64.b64encode(PNG).decode()
    file = File.from_data_uri(uri)
    assert file.read() == PNG
    assert file.mime_type == "image/png"
    assert file.filename == "a b.png"
    assert file.size == len(PNG)
    assert File.from_data_uri(file.data_uri()) == file


def test_raw_base64_sniffs_the_mime_type() -> None:
    """Raw base64 payloads get their MIME type from magic bytes."""
    assert File.from_base64(base64.b64encode(PNG).decode()).mime_type == "image/png"
    assert File.from_base64(base64.b64encode(b"%PDF-1.7 ...").decode()).mime_type == "application/pdf"
    assert File.from_base64(base64.b64encode(b"hello world").decode()).mime_type == "text/plain"


def test_sniffing_known_formats() -> None:
    """Common upload formats are recognised; binary junk is octet-stream."""
    assert sniff_mime_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_mime_type(b"GIF89a") == "image/gif"
    assert sniff_mime_type(b"RIFF\x00\x00\x00\x00WEBPVP8") == "image/webp"
    assert sniff_mime_type(b"PK\x03\x04....word/document.xml").endswith("wordprocessingml.document")
    assert sniff_mime_type(b"PK\x03\x04....") == "application/zip"
    assert sniff_mime_type(b"\x00\x01\x02\xff") == "application/octet-stream"


def test_file_on_disk_reads_lazily(tmp_path) -> None:
    """A File backed by a path reports size and content without loading at construction."""
    path = tmp_path / "x.bin"
    path.write_bytes(PNG)
    file = File(path=path, filename="x.png")
    assert file.mime_type == "image/png"
    assert file.size == len(PNG)
    assert file.read() == PNG
    assert file.base64() == base64.b64encode(PNG).decode()


def test_to_json_renders_files_and_does_not_copy_plain_values() -> None:
    """to_json turns nested Files into data URIs and returns file-free values as-is."""
    plain = {"a": [1, {"b": "c"}]}
    assert to_json(plain) is plain
    file = File(b"hi", mime_type="text/plain")
    out = to_json({"a": [file, 1], "b": (file,)})
    assert out == {"a": ["data:text/plain;base64,aGk=", 1], "b": ["data:text/plain;base64,aGk="]}


def test_attributes_table() -> None:
    """File and length attributes are in the per-attribute function table."""
    file = File(b"hello", mime_type="text/plain", filename="h.txt")
    assert ATTRIBUTES["filename"](file) == "h.txt"
    assert ATTRIBUTES["content-type"](file) == "text/plain"
    assert ATTRIBUTES["file-size"](file) == 5
    assert ATTRIBUTES["base64"](file) == "aGVsbG8="
    assert ATTRIBUTES["data-uri"](file).startswith("data:text/plain;filename=h.txt;base64,")
    assert ATTRIBUTES["length"]([1, 2, 3]) == 3
    assert ATTRIBUTES["length"]("abcd") == 4
