"""Record rules: what a record may be, what an amendment may change, which files may be attached
(decided by their content, magic bytes) and the file-name rules.

Pure functions over plain values: the upload use case feeds them the first bytes of the stream
and the client's declared type and name.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

RECORD_TYPES = ("lab_result", "visit_note", "prescription", "imaging", "referral")
# What an amendment may correct.
AMENDABLE = ("type", "title", "date", "description")

PDF, PNG, JPEG, TEXT, DICOM = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/plain",
    "application/dicom",
)
ALLOWED_TYPES = (PDF, PNG, JPEG, TEXT, DICOM)
SNIFF_BYTES = 4096  # enough for every signature below and a fair look at text

# Declared types that mean "unknown": the content decides alone.
UNDECLARED = {"", "application/octet-stream", "binary/octet-stream"}
ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "application/x-pdf": PDF}
EXTENSIONS = {
    ".pdf": PDF,
    ".png": PNG,
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".txt": TEXT,
    ".text": TEXT,
    ".dcm": DICOM,
    ".dicom": DICOM,
}
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class FileTypeRefused(Exception):
    """The content is not an allowed type, or does not match what the client declared."""


def sniff(head: bytes, complete: bool) -> str | None:
    """The allowed type whose signature `head` carries, or None.

    `complete` says that `head` is the whole file, so a multi-byte character cut at the end
    of a longer file is not held against plain text.
    """
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if len(head) >= 132 and head[128:132] == b"DICM":
        return DICOM
    return TEXT if _looks_like_text(head, complete) else None


def _looks_like_text(head: bytes, complete: bool) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Only an incomplete character at the very end of a longer file is acceptable.
        if complete or exc.start < len(head) - 3 or exc.reason != "unexpected end of data":
            return False
        text = head[: exc.start].decode("utf-8")
    return not _TEXT_CONTROLS.search(text)


def normalize_declared(content_type: str | None) -> str:
    """'Image/PNG; charset=x' -> 'image/png'; aliases to their canonical name."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    return ALIASES.get(base, base)


def check_upload_type(head: bytes, complete: bool, declared: str | None, file_name: str) -> str:
    """The stored type of an upload, or FileTypeRefused.

    The content must be one of the allowed types; a declared content type, and a known file
    extension, must agree with it.
    """
    detected = sniff(head, complete)
    if detected is None:
        raise FileTypeRefused("File type not allowed: use PDF, PNG, JPEG, plain text or DICOM")
    declared_type = normalize_declared(declared)
    if declared_type not in UNDECLARED and declared_type != detected:
        raise FileTypeRefused(
            f"The file's content is {detected}, but it was declared as {declared_type}"
        )
    extension = _extension(file_name)
    if extension in EXTENSIONS and EXTENSIONS[extension] != detected:
        raise FileTypeRefused(f"The file's content is {detected}, but its name ends in {extension}")
    return detected


def _extension(file_name: str) -> str:
    dot = file_name.rfind(".")
    return file_name[dot:].lower() if dot > 0 else ""


def display_file_name(client_name: str | None, fallback: str = "attachment") -> str:
    """The client's file name, kept only as metadata: last path component, no control
    characters, at most 255 characters (extension kept)."""
    name = re.split(r"[\\/]", client_name or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not name:
        return fallback
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) < 20 else name[:255]
    return name


def amended_fields(current: dict[str, object], proposed: dict[str, object]) -> dict[str, object]:
    """The amendable fields `proposed` gives a value different from `current`'s."""
    return {
        name: value
        for name, value in proposed.items()
        if name in AMENDABLE and current.get(name) != value
    }


def record_date_refusal(day: date, today: date) -> str | None:
    """A record describes something that happened: its date cannot be in the future."""
    return "must not be in the future" if day > today else None
