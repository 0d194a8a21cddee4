"""Upload type rules: content decides, declared type and extension must agree; file names."""

from __future__ import annotations

import pytest

from models.records.rules import (
    DICOM,
    JPEG,
    PDF,
    PNG,
    TEXT,
    FileTypeRefused,
    check_upload_type,
    display_file_name,
    sniff,
)

PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG_HEAD = b"\xff\xd8\xff\xdb\x00\x43\x00"
DICOM_HEAD = bytes(128) + b"DICM\x02\x00"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PDF_HEAD, PDF),
        (PNG_HEAD, PNG),
        (JPEG_HEAD, JPEG),
        (DICOM_HEAD, DICOM),
        (b"plain words\nand tabs\t\r\n", TEXT),
        ("naïve café ✓".encode(), TEXT),
        (b"GIF89a\x01\x00", None),
        (b"PK\x03\x04", None),
        (b"\x00\x01\x02\x03", None),
        (b"text with a NUL\x00", None),
        (bytes(128) + b"DICX", None),
        (b"\xff\xfe not utf-8", None),
    ],
)
def test_sniff(head, expected):
    assert sniff(head, complete=True) == expected


def test_a_character_cut_at_the_end_of_the_sniffed_head_is_still_text():
    head = "é".encode() * 10
    assert sniff(head[:-1], complete=False) == TEXT
    assert sniff(head[:-1], complete=True) is None


@pytest.mark.parametrize(
    ("declared", "name"),
    [
        ("application/pdf", "report.pdf"),
        ("Application/PDF; name=x", "report.PDF"),
        (None, "report"),
        ("application/octet-stream", "report.bin"),
        ("application/x-pdf", "report.pdf"),
    ],
)
def test_agreeing_declarations_are_accepted(declared, name):
    assert check_upload_type(PDF_HEAD, True, declared, name) == PDF


def test_jpg_alias_is_accepted():
    assert check_upload_type(JPEG_HEAD, True, "image/jpg", "photo.jpg") == JPEG


@pytest.mark.parametrize(
    ("head", "declared", "name"),
    [
        (PDF_HEAD, "image/png", "x.pdf"),  # declared type disagrees
        (PNG_HEAD, None, "x.pdf"),  # extension disagrees
        (b"GIF89a", "image/gif", "x.gif"),  # not allowed at all
        (b"MZ\x90\x00\x03", "text/plain", "x.txt"),  # binary posing as text
        (b"just text", "application/pdf", "x.pdf"),
    ],
)
def test_refused(head, declared, name):
    with pytest.raises(FileTypeRefused):
        check_upload_type(head, True, declared, name)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\scan.png", "scan.png"),
        ("bad\r\nname\x00.pdf", "badname.pdf"),
        ("", "attachment"),
        (None, "attachment"),
        ("..", "attachment"),
        ("résumé.pdf", "résumé.pdf"),
    ],
)
def test_display_file_name(given, kept):
    assert display_file_name(given) == kept


def test_long_names_keep_their_extension():
    name = display_file_name("a" * 400 + ".pdf")
    assert len(name) == 255 and name.endswith(".pdf")
