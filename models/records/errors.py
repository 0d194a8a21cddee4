"""What can go wrong with medical records and their files."""

from __future__ import annotations

from kernel.errors import Conflict, NotAllowed, NotFound, TooLarge, UnsupportedContent


class RecordNotFound(NotFound):
    default_message = "Medical record not found"


class AttachmentNotFound(NotFound):
    default_message = "Attachment not found"


class FileTooLarge(TooLarge):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The file exceeds the maximum upload size of {limit} bytes")
        self.limit = limit


class FileTypeNotAllowed(UnsupportedContent):
    """The content is not an allowed type, or not what the client declared."""


class PatientNotInCare(NotAllowed):
    default_message = (
        "You can only write records for patients in your care (a non-cancelled appointment "
        "with you)"
    )


class RecordChanged(Conflict):
    """An amendment based on another version than the record's current one."""

    def __init__(self, current: int) -> None:
        super().__init__(f"The record has changed since (it is now version {current})")
        self.current = current
