"""The generated demo files are well-formed PDF and PNG."""

from __future__ import annotations

import re
import struct
import zlib

from portal.ops.demo.sample_files import pdf_document, png_image


def test_pdf_has_a_correct_cross_reference_table() -> None:
    pdf = pdf_document("Annual Blood Work", ["Patient: Emily (Carter)", "Glucose 92 mg/dL"])
    assert pdf.startswith(b"%PDF-1.4")
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF", pdf).group(1))  # type: ignore[union-attr]
    assert pdf[startxref:].startswith(b"xref\n0 6\n")
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", pdf)]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    assert b"\\(Carter\\)" in pdf  # parentheses escaped inside the text string


def test_png_chunks_and_pixels_are_valid() -> None:
    png = png_image(8, 4, seed=3)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    position, chunks = 8, {}
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        data = png[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        chunks[kind] = data
        position += 12 + length
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    assert (width, height) == (8, 4)
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + width * 3)
