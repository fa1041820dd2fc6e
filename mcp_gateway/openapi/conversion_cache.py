"""Converted specs kept on disk, so a start-up with an unchanged spec neither parses nor converts it.

An entry is keyed by the spec's exact text and a fingerprint of everything that shapes the conversion: the
converter's own source files and the versions of the libraries it leans on (YAML parsing, validation). Any
change to either is a miss, so an entry can never describe tools the current code would not build. Tool
filters and call options (base URL, auth, headers) are applied after conversion and are not part of it.

One file per spec location (an absolute path or a URL, hashed), replaced when the spec changes, so the cache
does not grow with every edit. A file is a header line (format, key, payload digest) and the JSON payload;
it is written to a temporary file and renamed into place, so a reader never sees half of one. Anything wrong
with an entry (unreadable, truncated, another key, a digest that does not match, a payload of the wrong shape)
makes it a miss, and the fresh conversion replaces it. A directory that cannot be written costs only the
saving: the conversion is used as it is.

The payload keeps the sharing the converter builds: each `$defs` entry is stored once and each distinct
`$defs` object once, and loading restores one shared object for each, so a cached spec takes no more memory
than a converted one (tool input schemas are read-only, as schemas.py says).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from mcp_gateway.openapi.loader import SpecSource, SpecText
from mcp_gateway.openapi.model import (
    BodyBinding,
    FieldEncoding,
    HttpBinding,
    Location,
    OpenAPITools,
    ParameterBinding,
    SkippedOperation,
    ToolKeep,
    ToolSpec,
)

__all__ = [
    "CACHE_DIR_VARIABLE",
    "ConversionCache",
    "content_key",
    "convert",
    "decode_entry",
    "default_cache_dir",
    "encode_entry",
]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

CACHE_DIR_VARIABLE = "MCP_GATEWAY_CACHE_DIR"
_FORMAT = 1
_DEFS = "$defs"
_LOCATIONS: frozenset[str] = frozenset({"path", "query", "header", "cookie"})
_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_CONVERTER_SOURCES = ("openapi", "names.py", "schema_keywords.py")
"""What spec -> tools is made of, relative to the package: any edit to these is a new fingerprint."""
_CONVERTER_LIBRARIES = ("pyyaml", "openapi-pydantic", "pydantic", "pydantic-core")


class _CorruptEntry(Exception):
    """A cache entry that cannot be trusted; it is treated as a miss."""


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
            return _decode_entry(raw, key, keep)
        except _CorruptEntry as error:
            logger.info("conversion cache: ignoring %s (%s); converting the spec", path, error)
            return None

    def store(self, spec: SpecText, tools: OpenAPITools) -> None:
        """Keep a whole conversion of `spec` (one that withholds tools has nothing to say about them: not kept)."""
        entry = encode_entry(spec, tools)
        if entry is not None:
            self.store_entry(spec.location, entry)

    def store_entry(self, location: str, entry: bytes) -> None:
        """Keep an entry `encode_entry` made (in another process, say) for the spec read from `location`."""
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


def encode_entry(spec: SpecText, tools: OpenAPITools) -> bytes | None:
    """The cache entry of a whole conversion of `spec`, or None when it cannot be kept: it withholds tools, or
    they do not have the shape this format keeps."""
    if tools.withheld:
        return None
    payload = _encode_payload(tools)
    if payload is None:
        return None
    header = json.dumps(
        {"format": _FORMAT, "key": content_key(spec), "digest": hashlib.sha256(payload).hexdigest()}
    ).encode()
    return header + b"\n" + payload


def decode_entry(entry: bytes, keep: ToolKeep | None = None) -> OpenAPITools | None:
    """The tools of an entry `encode_entry` made, whatever spec it is for; None when it is damaged."""
    try:
        return _decode_entry(entry, None, keep)
    except _CorruptEntry as error:
        logger.warning("conversion: an unusable entry (%s)", error)
        return None


# --- encoding -------------------------------------------------------------------------------------------------


def _encode_payload(tools: OpenAPITools) -> bytes | None:
    """The payload, or None when the tools do not have the shape this format keeps (then nothing is cached)."""
    schemas: dict[str, Any] = {}
    defsets: list[list[str]] = []
    defset_index: dict[int, int] = {}
    encoded_tools = []
    for tool in tools.tools:
        input_schema = dict(tool.input_schema)
        definitions = input_schema.pop(_DEFS, None)
        defs_at: int | None = None
        if definitions is not None:
            if not isinstance(definitions, dict):
                return None
            defs_at = defset_index.get(id(definitions))
            if defs_at is None:
                for key, schema in definitions.items():
                    known = schemas.setdefault(key, schema)
                    if known is not schema and known != schema:
                        return None  # one key, two meanings: this format could not restore both
                defs_at = defset_index[id(definitions)] = len(defsets)
                defsets.append(list(definitions))
        encoded_tools.append({
            "name": tool.name,
            "source_name": tool.source_name,
            "operation_id": tool.operation_id,
            "description": tool.description,
            "input_schema": input_schema,
            "defs": defs_at,
            "binding": _encode_binding(tool.binding),
        })
    payload = {
        "title": tools.title,
        "servers": list(tools.servers),
        "skipped": [[skip.method, skip.path, skip.operation_id, skip.reason] for skip in tools.skipped],
        "schemas": schemas,
        "defsets": defsets,
        "tools": encoded_tools,
    }
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
            "utf-8", "surrogatepass"
        )
    except (TypeError, ValueError):
        return None  # a value JSON cannot carry exactly (a YAML-born non-finite number, say): convert each time


def _encode_binding(binding: HttpBinding) -> dict[str, Any]:
    body = binding.body
    return {
        "method": binding.method,
        "path": binding.path,
        "servers": list(binding.servers),
        "parameters": [
            [p.argument, p.name, p.location, p.required, p.style, p.explode, p.allow_reserved, p.content_type]
            for p in binding.parameters
        ],
        "body": None if body is None else {
            "media_type": body.media_type,
            "required": body.required,
            "argument": body.argument,
            "properties": [list(pair) for pair in body.properties],
            "encoding": {
                name: [field.content_type, field.style, field.explode] for name, field in body.encoding.items()
            },
        },
    }


# --- decoding -------------------------------------------------------------------------------------------------


def _decode_entry(raw: bytes, key: str | None, keep: ToolKeep | None) -> OpenAPITools:
    """`key`: the one the entry must have (None: any)."""
    header_line, separator, payload = raw.partition(b"\n")
    if not separator:
        raise _CorruptEntry("no header")
    try:
        header = json.loads(header_line)
    except ValueError as error:
        raise _CorruptEntry("unreadable header") from error
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        raise _CorruptEntry("another format")
    if key is not None and header.get("key") != key:
        raise _CorruptEntry("another spec or converter version")
    if header.get("digest") != hashlib.sha256(payload).hexdigest():
        raise _CorruptEntry("the payload does not match its digest")
    try:
        return _decode_payload(json.loads(payload), keep)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError) as error:
        raise _CorruptEntry(f"malformed payload ({type(error).__name__})") from error


def _decode_payload(payload: dict[str, Any], keep: ToolKeep | None) -> OpenAPITools:
    schemas = _typed(payload["schemas"], dict)
    keys_of = _typed(payload["defsets"], list)
    defsets: dict[int, dict[str, Any]] = {}

    def defset(index: int) -> dict[str, Any]:
        # Built once, when a held tool first needs it; the schema objects are shared between the dicts.
        found = defsets.get(index)
        if found is None:
            # Sorted keys, as the converter builds them.
            found = defsets[index] = {key: schemas[_typed(key, str)] for key in _typed(keys_of[index], list)}
        return found

    tools = []
    withheld = []
    for item in _typed(payload["tools"], list):
        name = _typed(item["name"], str)
        if keep is not None and not keep(name):
            withheld.append(name)
            continue
        input_schema = dict(_typed(item["input_schema"], dict))
        defs_at = _optional(item["defs"], int)
        if defs_at is not None:
            input_schema[_DEFS] = defset(defs_at)
        tools.append(ToolSpec(
            name=name,
            source_name=_typed(item["source_name"], str),
            description=_typed(item["description"], str),
            input_schema=input_schema,
            binding=_decode_binding(_typed(item["binding"], dict)),
            operation_id=_optional(item["operation_id"], str),
        ))
    return OpenAPITools(
        title=_typed(payload["title"], str),
        servers=tuple(_typed(url, str) for url in _typed(payload["servers"], list)),
        tools=tuple(tools),
        skipped=tuple(
            SkippedOperation(_typed(method, str), _typed(path, str), _optional(operation_id, str), _typed(reason, str))
            for method, path, operation_id, reason in _typed(payload["skipped"], list)
        ),
        withheld=tuple(withheld),
    )


def _decode_binding(raw: dict[str, Any]) -> HttpBinding:
    parameters = []
    for argument, name, location, required, style, explode, allow_reserved, content_type in _typed(
        raw["parameters"], list
    ):
        parameters.append(ParameterBinding(
            argument=_typed(argument, str),
            name=_typed(name, str),
            location=_location(location),
            required=_typed(required, bool),
            style=_optional(style, str),
            explode=_optional(explode, bool),
            allow_reserved=_typed(allow_reserved, bool),
            content_type=_optional(content_type, str),
        ))
    body = _optional(raw["body"], dict)
    return HttpBinding(
        method=_typed(raw["method"], str),
        path=_typed(raw["path"], str),
        parameters=tuple(parameters),
        body=None if body is None else BodyBinding(
            media_type=_typed(body["media_type"], str),
            required=_typed(body["required"], bool),
            argument=_optional(body["argument"], str),
            properties=tuple((_typed(key, str), _typed(name, str)) for key, name in _typed(body["properties"], list)),
            encoding={
                _typed(name, str): FieldEncoding(_optional(content_type, str), _optional(style, str),
                                                 _optional(explode, bool))
                for name, (content_type, style, explode) in _typed(body["encoding"], dict).items()
            },
        ),
        servers=tuple(_typed(url, str) for url in _typed(raw["servers"], list)),
    )


def _typed(value: Any, kind: type[_T]) -> _T:
    # bool is an int to isinstance; an index or count that reads `true` is corruption, not 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _optional(value: Any, kind: type[_T]) -> _T | None:
    return None if value is None else _typed(value, kind)


def _location(value: Any) -> Location:
    if value not in _LOCATIONS:
        raise ValueError(f"not a parameter location: {value!r}")
    location: Location = value
    return location
