"""Converted specs kept on disk, so a start-up with an unchanged spec neither parses nor converts it.

An entry is keyed by the spec's exact text and a fingerprint of everything that shapes the conversion: the
converter's own source files and the versions of the libraries it leans on (YAML parsing, validation). Any
change to either is a miss, so an entry can never describe tools the current code would not build. Tool
filters and call options (base URL, auth, headers) are applied after conversion and are not part of it.

One file per spec location (an absolute path or a URL, hashed), replaced when the spec changes, so the cache
does not grow with every edit. A file is one entry (conversion_entry.py: a header line with format, key and
digest, then the tools); it is written to a temporary file and renamed into place, so a reader never sees half of
one. Anything wrong with an entry (unreadable, truncated, another key, a digest that does not match, a payload of
the wrong shape) makes it a miss, and the fresh conversion replaces it. A directory that cannot be written costs
only the saving: the conversion is used as it is.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from pathlib import Path

from mcp_gateway.openapi.conversion_entry import EntryError, decode_entry, encode_entry
from mcp_gateway.openapi.loader import SpecSource, SpecText
from mcp_gateway.openapi.model import OpenAPITools, ToolKeep

__all__ = [
    "CACHE_DIR_VARIABLE",
    "ConversionCache",
    "content_key",
    "convert",
    "default_cache_dir",
]

logger = logging.getLogger(__name__)

CACHE_DIR_VARIABLE = "MCP_GATEWAY_CACHE_DIR"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_CONVERTER_SOURCES = ("openapi", "names.py", "schema_keywords.py")
"""What spec -> tools is made of, relative to the package: any edit to these is a new fingerprint."""
_CONVERTER_LIBRARIES = ("pyyaml", "openapi-pydantic", "pydantic", "pydantic-core")


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`$MCP_GATEWAY_CACHE_DIR`, else `$XDG_CACHE_HOME/mcp-gateway`, else `~/.cache/mcp-gateway`."""
    environ = os.environ if environ is None else environ
    explicit = environ.get(CACHE_DIR_VARIABLE)
    if explicit:
        return Path(explicit)
    xdg = environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "mcp-gateway"


@cache
def converter_fingerprint() -> str:
    """A digest of the converter's source and the versions of the libraries that shape its output."""
    digest = hashlib.sha256()
    for relative in _CONVERTER_SOURCES:
        root = _PACKAGE_DIR / relative
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for file in files:
            digest.update(str(file.relative_to(_PACKAGE_DIR)).encode())
            digest.update(file.read_bytes())
    for library in _CONVERTER_LIBRARIES:
        try:
            version = metadata.version(library)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{library}={version};".encode())
    return digest.hexdigest()


class ConversionCache:
    """Converted specs under `directory`/openapi; every failure to read or write is a miss, never an error."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory / "openapi"

    def load(self, spec: SpecSource, keep: ToolKeep | None = None) -> OpenAPITools | None:
        """The stored conversion of `spec`, holding the tools `keep` admits (all for None), or None on a miss.
        Raises SpecLoadError when a spec file cannot be read for its digest."""
        path = self._entry_path(spec.location)
        if not path.exists():
            return None
        key = content_key(spec)
        try:
            raw = path.read_bytes()
        except OSError as error:
            logger.warning("conversion cache: cannot read %s (%s); converting the spec", path, error)
            return None
        try:
            return decode_entry(raw, key, keep)
        except EntryError as error:
            logger.info("conversion cache: ignoring %s (%s); converting the spec", path, error)
            return None

    def store(self, spec: SpecText, tools: OpenAPITools) -> None:
        """Keep a whole conversion of `spec` (one that withholds tools has nothing to say about them: not kept)."""
        entry = encode_entry(tools, content_key(spec))
        if entry is not None:
            self.store_entry(spec.location, entry)

    def store_entry(self, location: str, entry: bytes) -> None:
        """Keep an entry (conversion_entry.py) made elsewhere, in another process say, for the spec read from
        `location`."""
        path = self._entry_path(location)
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self._directory, prefix=".entry-", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(entry)
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            logger.warning("conversion cache: cannot write %s (%s); the next start converts again", path, error)

    def _entry_path(self, location: str) -> Path:
        return self._directory / (hashlib.sha256(location.encode()).hexdigest()[:32] + ".json")


def convert(spec: SpecSource, cache: ConversionCache | None, keep: ToolKeep | None = None) -> OpenAPITools:
    """The spec's tools, holding those `keep` admits (all for None): from the cache when it holds this exact
    conversion, else converted (every operation, so the names are the same whatever `keep` is) and stored whole.

    Raises SpecLoadError as `build_tools` does. Blocking: run it in a worker thread.
    """
    if cache is not None:
        cached = cache.load(spec, keep)
        if cached is not None:
            return cached
    # Read once: the entry is stored under the digest of the text converted, even if the file changes meanwhile.
    text = spec.read()
    # Imported here: the converter and its validation models cost a noticeable part of start-up, and a
    # start-up served from the cache never needs them.
    from mcp_gateway.openapi.tools import build_tools

    tools = build_tools(text.parse())
    if cache is not None:
        cache.store(text, tools)
    return tools.keeping(keep)


def content_key(spec: SpecSource) -> str:
    """What an entry is valid for: this converter and exactly this spec text."""
    digest = hashlib.sha256(converter_fingerprint().encode())
    digest.update(b"\0")
    for chunk in spec.utf8_chunks():
        digest.update(chunk)
    return digest.hexdigest()
