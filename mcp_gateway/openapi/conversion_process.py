"""A spec converted in a child process, so the memory converting takes never stays with the gateway.

Converting GitHub's 13 MB spec parses it into millions of small objects and builds 1,223 tools; freed, most of
that memory is not given back to the system by a long-lived process (objects that stay alive pin the pages
around them), which left the gateway ~35 MB larger after a cold start than after a start from the conversion
cache. Here a child Python process reads, parses and converts the spec and writes the conversion cache's entry to
its standard output; the gateway decodes that entry as it would a cached one (holding only the tools its filter
admits) and keeps it in the cache. The child costs its interpreter's start, the converter's imports and encoding
its answer: a cold start of the bundled config has all its servers started ~0.4 s later, while the first
`initialize` is answered no later (the conversion no longer competes for this process's GIL). Small specs go to a
child too: converting one in this process would import the converter here (~6 MB that stay).

Whatever goes wrong with the child (it cannot start, dies, or answers with something unusable) costs only the
saving: the spec is converted in this process, as `convert` does. A spec that cannot be converted is reported by
the child and raised here as the same SpecLoadError.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

from mcp_gateway.openapi.conversion_cache import ConversionCache, content_key, convert
from mcp_gateway.openapi.conversion_entry import EntryError, decode_entry, encode_entry
from mcp_gateway.openapi.loader import SpecFile, SpecLoadError, SpecSource, SpecText
from mcp_gateway.openapi.model import OpenAPITools, ToolKeep

__all__ = ["convert_in_child"]

logger = logging.getLogger(__name__)

_CANNOT_LOAD = 3
"""The child's exit status for a spec that cannot be converted; its standard output names source and reason."""
_NOT_ENCODABLE = 4
"""The child's exit status for a conversion the cache's format cannot carry: convert it here."""
_CHILD_NICENESS = 10
"""How much lower than the gateway's the child's CPU priority is (`nice`)."""
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
"""Where this `mcp_gateway` package was imported from: the child must run the same code."""
_CHILDREN = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
"""At most one converting child per core: a config with many large specs converts them a few at a time rather
than holding every child's memory at once (a limit on this process's children, not state a replica shares)."""


def convert_in_child(spec: SpecSource, cache: ConversionCache | None, keep: ToolKeep | None = None) -> OpenAPITools:
    """What `convert(spec, cache, keep)` returns, with a miss converted by a child process.

    Raises SpecLoadError as `convert` does. Blocking: run it in a worker thread.
    """
    if cache is not None:
        cached = cache.load(spec, keep)
        if cached is not None:
            return cached
    entry = _child_entry(spec)
    if entry is not None:
        try:
            # Any key: the child's is that of the text it read and converted.
            tools = decode_entry(entry, None, keep)
        except EntryError as error:
            logger.warning("converting %s in this process: the converter process answered an unusable entry (%s)",
                           spec.source, error)
        else:
            if cache is not None:
                cache.store_entry(spec.location, entry)
            return tools
    return convert(spec, cache, keep)


def _child_entry(spec: SpecSource) -> bytes | None:
    """The entry the child wrote, or None when it could not make one; raises the child's SpecLoadError."""
    if not sys.executable:
        return None  # an embedded interpreter: no Python to start
    # Not the location: a spec URL's query or userinfo may carry a credential, and a command line is public. The
    # source is what errors may name (without those).
    command = [sys.executable, "-m", __name__, "--source", spec.source]
    if isinstance(spec, SpecFile):
        command += ["--file", str(spec.path)]
        text = b""
    else:
        text = spec.text.encode("utf-8", "surrogatepass")
    # This package first, and not the working directory (which may hold another checkout).
    environment = {**os.environ, "PYTHONSAFEPATH": "1", "PYTHONPATH": os.pathsep.join(
        filter(None, (str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH")))
    )}
    try:
        # A session of its own: a Ctrl-C meant for the gateway lets the conversion finish instead of failing it.
        with _CHILDREN, subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, env=environment, start_new_session=True) as child:
            _yield_to_the_gateway(child.pid)
            try:
                output, _ = child.communicate(text)
            except BaseException:
                child.kill()  # as subprocess.run does: no child left converting for nobody
                raise
    except OSError as error:
        logger.warning("converting %s in this process: cannot start a converter process (%s)",
                       spec.source, type(error).__name__)
        return None
    if child.returncode == 0:
        return output
    if child.returncode == _CANNOT_LOAD:
        try:
            reported = json.loads(output)
            failure = SpecLoadError(str(reported["source"]), str(reported["reason"]))
        except (ValueError, KeyError, TypeError):
            failure = None
        if failure is not None:
            raise failure
    if child.returncode != _NOT_ENCODABLE:
        logger.warning("converting %s in this process: the converter process ended with status %d",
                       spec.source, child.returncode)
    return None


def _yield_to_the_gateway(pid: int) -> None:
    """Lower the child's CPU priority: where cores are busy, the gateway's answers (the first `initialize`
    among them, while a cold start converts) go first, and the conversion takes what is left. On an idle core it
    runs as fast as before."""
    with contextlib.suppress(OSError):  # gone already, or a platform without priorities
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0) + _CHILD_NICENESS)


def _child_main() -> int:
    # A short-lived process that frees nothing worth collecting: the collector would only slow the conversion.
    gc.disable()
    parser = argparse.ArgumentParser(description="convert one OpenAPI spec; write its conversion cache entry")
    parser.add_argument("--source", required=True)
    parser.add_argument("--file", help="the spec's file (else its UTF-8 text on standard input)")
    args = parser.parse_args()
    if args.file is not None:
        spec: SpecSource = SpecFile(Path(args.file), args.source, args.source)
    else:
        spec = SpecText(sys.stdin.buffer.read().decode("utf-8", "surrogatepass"), args.source, args.source)
    from mcp_gateway.openapi.tools import build_tools

    try:
        text = spec.read()
        entry = encode_entry(build_tools(text.parse()), content_key(text))
    except SpecLoadError as error:
        sys.stdout.write(json.dumps({"source": error.source, "reason": error.reason}))
        return _CANNOT_LOAD
    if entry is None:
        return _NOT_ENCODABLE
    sys.stdout.buffer.write(entry)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child_main())
