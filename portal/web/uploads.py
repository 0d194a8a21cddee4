"""Request bodies are capped while they stream in, and multipart bodies are checked against the
spec without being held in memory.

connexion 3's own multipart validator keeps every received message in a list (the whole body in
RAM) and spools file parts to temporary files, then replays the list to Flask, which parses the
body a second time. Two changes make uploads stream:

- `BodyLimitMiddleware` (ASGI, before validation) answers 413 from `Content-Length` before
  reading anything, and counts the bytes as they arrive, stopping at the limit, for bodies sent
  without a length (chunked) or with a false one.
- `StreamingMultipartValidator` checks the form's shape (the spec's required and allowed fields)
  with a parser that only counts file bytes (413 as soon as a file passes MAX_UPLOAD_BYTES),
  and spools the raw body to a temporary file (1 MiB in memory at most) to replay it to Flask,
  whose parser writes large files to disk.
"""

from __future__ import annotations

import tempfile
import typing as t

from connexion.datastructures import MediaTypeDict
from connexion.validators import MultiPartFormDataValidator
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers import dependencies
from kernel.errors import FieldError, TooLarge
from portal.web.validation import RequestValidationProblem, field_errors

# Room for the multipart framing (boundaries, part headers) around a file of the maximum size.
MULTIPART_OVERHEAD = 64 * 1024
SPOOL_IN_MEMORY = 1024 * 1024
REPLAY_CHUNK = 64 * 1024


def too_large(limit: int) -> TooLarge:
    return TooLarge(f"The file exceeds the maximum upload size of {limit} bytes")


class BodyLimitMiddleware:
    """413 for any request body larger than MAX_UPLOAD_BYTES plus multipart framing."""

    def __init__(self, app: ASGIApp, max_upload_bytes: int) -> None:
        self.app = app
        self.max_upload_bytes = max_upload_bytes
        self.max_body = max_upload_bytes + MULTIPART_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise too_large(self.max_upload_bytes)
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise too_large(self.max_upload_bytes)
            return message

        await self.app(scope, counting_receive, send)


class _CountingMultiPartParser(MultiPartParser):
    """Starlette's parser, except that file contents are counted and dropped, not stored."""

    def __init__(self, *args: t.Any, max_file_bytes: int, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_file_bytes = max_file_bytes

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        upload = self._current_part.file
        if upload is None:
            super().on_part_data(data, start, end)
            return
        upload.size = (upload.size or 0) + (end - start)
        if upload.size > self.max_file_bytes:
            raise too_large(self.max_file_bytes)


class StreamingMultipartValidator(MultiPartFormDataValidator):
    """The spec's multipart rules, checked in one streaming pass; every failure reported."""

    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> dict[str, t.Any]:
        parser = _CountingMultiPartParser(
            Headers(scope=scope),
            stream,
            max_file_bytes=dependencies.current().settings.max_upload_bytes,
        )
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise RequestValidationProblem(
                [FieldError("body", f"must be valid multipart/form-data ({exc.message})")]
            ) from None
        data: dict[str, t.Any] = {}
        for name in form:
            values = form.getlist(name)
            # A file stands in as "" (its schema is a binary string); repeats as a list, so
            # the schema's single-value rule rejects them.
            shown = ["" if isinstance(v, UploadFile) else v for v in values]
            data[name] = shown[0] if len(shown) == 1 else shown
        return data

    def _validate(self, body: t.Any) -> None:
        details = field_errors(self._validator.iter_errors(body))
        if self._strict_validation:
            allowed = set(self._schema.get("properties", {}))
            named = {d.field for d in details}
            details += [
                FieldError(name, "is not an allowed field")
                for name in body
                if name not in allowed and name not in named
            ]
        if details:
            raise RequestValidationProblem(details)

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        headers = Headers(scope=scope)
        if not int(headers.get("content-length") or 0) and "chunked" not in headers.get(
            "transfer-encoding", ""
        ):
            raise RequestValidationProblem([FieldError("file", "is required")])
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115

        async def stream() -> t.AsyncGenerator[bytes, None]:
            more_body = True
            while more_body:
                message = await receive()
                body = message.get("body", b"")
                spool.write(body)
                more_body = message.get("more_body", False)
                yield body
            yield b""

        try:
            self._validate(await self._parse(stream(), scope=scope))
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return _replay(spool, receive), scope


def _replay(spool: t.IO[bytes], receive: Receive) -> Receive:
    """A receive channel that sends the spooled body again, then defers to the real one."""
    done = False

    async def receive_() -> Message:
        nonlocal done
        if done:
            return await receive()
        chunk = spool.read(REPLAY_CHUNK)
        more = bool(chunk) and spool.tell() < _size(spool)
        if not more:
            done = True
            spool.close()
        return {"type": "http.request", "body": chunk, "more_body": more}

    return receive_


def _size(spool: t.IO[bytes]) -> int:
    position = spool.tell()
    end = spool.seek(0, 2)
    spool.seek(position)
    return end


def with_streaming_uploads(validator_map: dict[str, t.Any]) -> dict[str, t.Any]:
    """`validator_map` with multipart bodies checked by `StreamingMultipartValidator`."""
    bodies = MediaTypeDict(validator_map["body"])
    bodies["multipart/form-data"] = StreamingMultipartValidator
    return {**validator_map, "body": bodies}
