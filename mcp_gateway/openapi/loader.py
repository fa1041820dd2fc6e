"""Read an OpenAPI document (JSON or YAML, from a file or an http(s) URL) into plain Python data.

Only parsing lives here; turning the document into tools is `mcp_gateway.openapi.tools.build_tools`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

# anyio and the HTTP client are imported by the functions that read: a converting child process (which only
# parses) never needs them, and they take ~0.25 s of its start.
if TYPE_CHECKING:
    from mcp_gateway.http import httpx

__all__ = [
    "MAX_SPEC_BYTES",
    "SpecFile",
    "SpecLoadError",
    "SpecSource",
    "SpecText",
    "parse_spec_text",
    "read_spec",
    "read_spec_file",
    "read_spec_source",
    "read_spec_text",
]

MAX_SPEC_BYTES = 32 * 1024 * 1024
"""Decoded size a spec may have, from a file, a URL or a preview request. The largest public specs are about
20 MB; a compressed body that expands far beyond that is refused while it is read, not after."""

_NOT_SPEC_MEDIA_TYPES = ("text/html", "application/xhtml+xml", "image/", "audio/", "video/")
"""Media types no JSON or YAML document is served as: typically a login or error page answered with 200."""


class SpecLoadError(Exception):
    """A spec could not be read or parsed; names the source and the reason."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"cannot load OpenAPI spec {source}: {reason}")
        self.source = source
        self.reason = reason


def parse_spec_text(text: str, source: str = "<spec>") -> dict[str, Any]:
    """Parse JSON or YAML text into a document; the top level must be an object."""
    stripped = text.lstrip("\ufeff \t\r\n")
    document: Any
    if stripped.startswith("{"):
        # JSON is YAML, but the JSON parser is an order of magnitude faster on large specs.
        try:
            document = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise SpecLoadError(source, f"invalid JSON: {error}") from error
        except RecursionError as error:
            raise SpecLoadError(source, "invalid JSON: nested too deeply") from error
    else:
        # PyYAML only now (~11 ms to import): a start whose specs are JSON or cached never needs it.
        from mcp_gateway.openapi.yaml_spec import UnsupportedAlias, YAMLError, load_yaml_spec

        try:
            document = load_yaml_spec(text)
        except UnsupportedAlias as error:
            raise SpecLoadError(source, str(error)) from error
        except YAMLError as error:
            raise SpecLoadError(source, f"invalid YAML: {error}") from error
    if document is None:
        raise SpecLoadError(source, "the document is empty")
    if not isinstance(document, dict):
        raise SpecLoadError(source, f"top level must be an object, not {type(document).__name__}")
    return document


@dataclass(frozen=True)
class SpecText:
    """A spec as read, before parsing: its text, and its source as errors and logs may name it."""

    text: str
    source: str
    location: str
    """Where it was read from (an absolute path, or the URL): what tells one configured spec from another."""

    def parse(self) -> dict[str, Any]:
        return parse_spec_text(self.text, self.source)

    def read(self) -> SpecText:
        return self

    def utf8_chunks(self) -> Iterator[bytes | memoryview]:
        """The text as UTF-8, what a content digest is taken over (the same bytes as the file it came from)."""
        yield self.text.encode("utf-8", "surrogatepass")


_CHUNK_BYTES = 64 * 1024
"""Small enough to come from the heap and be reused, not mapped and unmapped (which makes the allocator map only
larger blocks afterwards and keep the rest)."""


@dataclass(frozen=True)
class SpecFile:
    """A spec file not read yet. A start-up whose conversion is cached only digests it, a chunk at a time, so the
    process never holds the whole text: GitHub's 13 MB decode to a 52 MB string, and a long-lived process does
    not get all of such memory back once it is freed."""

    path: Path
    source: str
    location: str

    def read(self) -> SpecText:
        return SpecText(_read_file_text(self.path), self.source, self.location)

    def utf8_chunks(self) -> Iterator[bytes | memoryview]:
        """The file's bytes (not checked to be UTF-8: a digest that matches was taken over text that was), read
        into one small buffer: each chunk is only valid until the next is read."""
        buffer = bytearray(_CHUNK_BYTES)
        view = memoryview(buffer)
        size = 0
        try:
            with self.path.open("rb", buffering=0) as file:
                while read := file.readinto(buffer):
                    size += read
                    if size > MAX_SPEC_BYTES:
                        raise SpecLoadError(self.source, f"larger than {MAX_SPEC_BYTES} bytes")
                    yield view[:read]
        except OSError as error:
            raise SpecLoadError(self.source, str(error)) from error


SpecSource = SpecText | SpecFile
"""A spec as read for conversion: its text (from a URL), or the file to read it from when needed."""


def read_spec_file(path: str | Path) -> dict[str, Any]:
    return parse_spec_text(_read_file_text(path), str(path))


def _read_file_text(path: str | Path) -> str:
    source = str(path)
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAX_SPEC_BYTES + 1)
    except OSError as error:
        raise SpecLoadError(source, str(error)) from error
    if len(data) > MAX_SPEC_BYTES:
        raise SpecLoadError(source, f"larger than {MAX_SPEC_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecLoadError(source, str(error)) from error


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _public_url(url: str) -> str:
    """The URL as it may appear in errors and logs: no userinfo, no query (either can carry a credential)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


async def _fetch_text(url: str, client: httpx.AsyncClient) -> str:
    from mcp_gateway.http import httpx

    shown = _public_url(url)
    try:
        async with client.stream("GET", url) as response:
            if not response.is_success:
                raise SpecLoadError(shown, f"HTTP {response.status_code}")
            media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media_type.startswith(_NOT_SPEC_MEDIA_TYPES):
                raise SpecLoadError(shown, f"served as {media_type}, not JSON or YAML")
            chunks: list[bytes] = []
            size = 0
            # Counted after decompression, so a small gzip body cannot expand into gigabytes.
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_SPEC_BYTES:
                    raise SpecLoadError(shown, f"larger than {MAX_SPEC_BYTES} bytes (decoded)")
                chunks.append(chunk)
            encoding = response.charset_encoding or "utf-8"
    except httpx.TimeoutException as error:
        raise SpecLoadError(shown, f"no answer in time ({type(error).__name__})") from error
    except httpx.HTTPError as error:
        # Transport errors can repeat the full URL; say what kind of failure it was instead.
        raise SpecLoadError(shown, f"cannot fetch: {type(error).__name__}") from error
    try:
        return b"".join(chunks).decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise SpecLoadError(shown, f"not {encoding} text") from error


async def read_spec(
    source: str, *, base_dir: Path | None = None, client: httpx.AsyncClient | None = None
) -> dict[str, Any]:
    """Read a spec from an http(s) URL or a file path (relative paths resolve against `base_dir`)."""
    spec = await read_spec_text(source, base_dir=base_dir, client=client)
    import anyio.to_thread

    return await anyio.to_thread.run_sync(spec.parse)


async def read_spec_text(
    source: str, *, base_dir: Path | None = None, client: httpx.AsyncClient | None = None
) -> SpecText:
    """Read a spec's text without parsing it, as `read_spec` does."""
    import anyio.to_thread

    spec = await read_spec_source(source, base_dir=base_dir, client=client)
    return spec if isinstance(spec, SpecText) else await anyio.to_thread.run_sync(spec.read)


async def read_spec_source(
    source: str, *, base_dir: Path | None = None, client: httpx.AsyncClient | None = None
) -> SpecSource:
    """A spec to convert: a URL's text, fetched now, or a file, found now and read only when it is converted
    (a cached conversion needs no text, only a digest). Raises SpecLoadError when the file is missing or too
    large, as reading it would."""
    if _is_url(source):
        if client is not None:
            text = await _fetch_text(source, client)
        else:
            from mcp_gateway.http import new_client

            async with new_client() as temporary_client:
                text = await _fetch_text(source, temporary_client)
        # The URL's userinfo and query may carry credentials; parse errors name the source without them.
        return SpecText(text, _public_url(source), source)
    path = Path(source)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    try:
        size = os.stat(path).st_size
    except OSError as error:
        raise SpecLoadError(str(path), str(error)) from error
    if size > MAX_SPEC_BYTES:
        raise SpecLoadError(str(path), f"larger than {MAX_SPEC_BYTES} bytes")
    return SpecFile(path, str(path), str(path.resolve()))
