"""Request bodies are capped while they stream in, and multipart bodies are checked against the
spec without being held in memory.

connexion 3's own multipart validator keeps every received message in a list (the whole body in
RAM) and spools file parts to temporary files, then replays the list to Flask, which parses the
body a second time. Two changes make uploads stream:

- `portal.web.input_limits.BodyLimitMiddleware` (ASGI, before validation) answers 413 from
  `Content-Length` before reading anything, and counts the bytes as they arrive, stopping at the
  limit, for bodies sent without a length (chunked) or with a false one.
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
from python_multipart.multipart import parse_options_header
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.types import Message, Receive, Scope

from handlers import dependencies
from kernel.errors import FieldError
from portal.web.input_limits import too_large
from portal.web.validation import RequestValidationProblem, field_errors

SPOOL_IN_MEMORY = 1024 * 1024
REPLAY_CHUNK = 64 * 1024


class _CountingMultiPartParser(MultiPartParser):
    """Starlette's parser, except that file contents are counted and dropped, not stored, and
    that part names and file names must be UTF-8 (Starlette would read other bytes as Latin-1,
    Flask's parser, which reads the body again for the handler, would drop the part)."""

    def __init__(self, *args: t.Any, max_file_bytes: int, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_file_bytes = max_file_bytes

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._current_part.content_disposition)
        for option in (b"name", b"filename"):
            try:
                options.get(option, b"").decode("utf-8")
            except UnicodeDecodeError:
                field = options[b"name"].decode("utf-8", "replace") if option != b"name" else "body"
                raise RequestValidationProblem(
                    [FieldError(field, f"must have a UTF-8 {option.decode()}")]
                ) from None
        super().on_headers_finished()

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
            data[name] = values[0] if len(values) == 1 else values
        return data

    def _file_fields(self) -> set[str]:
        """The form's fields the spec declares as files (`format: binary`)."""
        properties: dict[str, t.Any] = self._schema.get("properties", {})
        return {name for name, schema in properties.items() if schema.get("format") == "binary"}

    def _validate(self, body: t.Any) -> None:
        files = self._file_fields()
        # A file field sent as a plain part (no filename) is no file: Flask would not pass it on.
        details = [
            FieldError(name, "must be a file (a part with a filename)")
            for name, value in body.items()
            if name in files and not isinstance(value, UploadFile | list)
        ]
        # A file stands in as "" (its schema is a binary string); repeats as a list, so the
        # schema's single-value rule rejects them.
        body = {name: _shown(value) for name, value in body.items()}
        named = {d.field for d in details}
        details += [
            d for d in field_errors(self._validator.iter_errors(body)) if d.field not in named
        ]
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
        declared = headers.get("content-length", "")
        if not (declared.isdigit() and int(declared)) and "chunked" not in headers.get(
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
        size = _size(spool)
        spool.seek(0)
        return _replay(spool, receive), _with_length(scope, size)


def _shown(value: t.Any) -> t.Any:
    if isinstance(value, list):
        return [_shown(v) for v in value]
    return "" if isinstance(value, UploadFile) else value


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


def _with_length(scope: Scope, length: int) -> Scope:
    """The scope with the spooled body's length, transfer coding gone: Flask reads a body only up
    to its Content-Length, so a chunked upload would otherwise reach the handler empty."""
    headers = [
        (name, value)
        for name, value in scope["headers"]
        if name.lower() not in (b"content-length", b"transfer-encoding")
    ]
    return {**scope, "headers": [*headers, (b"content-length", str(length).encode())]}


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
