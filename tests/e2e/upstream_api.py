"""A real HTTP API for end-to-end tests: it answers every request with a description of what it received.

    python -m tests.e2e.upstream_api --port N [--host 127.0.0.1]

The gateway turns `upstream_api.yaml` into tools whose calls land here, so a test can assert on what actually
went over the wire (raw path, query string, headers, cookies, body) instead of trusting the gateway's own view.
A few fixed endpoints answer with errors, a long body, binary data, no content or a delay, and every request is
remembered, so a test can read what arrived even when the gateway redacts it from the tool result, and can
prove that a call never reached a path it must not reach.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import json
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]

LONG_BODY_MARKER = "LONG-BODY-START"
LONG_BODY_LENGTH = 200_000
"""Far larger than any sensible error excerpt, so a test can tell whether the gateway bounds it."""

# A complete 1x1 transparent PNG.
PNG_BYTES = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class ReceivedLog:
    """Descriptions of every request this process has served, oldest first."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def record(self, request: Request) -> dict[str, Any]:
        description = await describe_request(request)
        self.requests.append(description)
        return description

    def clear(self) -> None:
        self.requests.clear()


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1") if isinstance(raw, bytes) else str(request.scope["path"])


async def _parsed_body(request: Request, body: bytes) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    parsed: dict[str, Any] = {"json": None, "form": None}
    if content_type.startswith("application/json"):
        try:
            parsed["json"] = json.loads(body)
        except ValueError:
            parsed["json"] = None
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        parsed["form"] = [[key, await _form_value(value)] for key, value in form.multi_items()]
    return parsed


async def _form_value(value: str | UploadFile) -> Any:
    if isinstance(value, str):
        return value
    content = await value.read()
    return {"filename": value.filename, "content_type": value.content_type, "content": content.decode("latin-1")}


async def describe_request(request: Request) -> dict[str, Any]:
    """Everything the gateway sent, in plain JSON: the tests' single source of truth."""
    body = await request.body()
    return {
        "method": request.method,
        "path": request.url.path,
        "raw_path": _raw_path(request),
        "path_params": dict(request.path_params),
        "query_string": request.scope.get("query_string", b"").decode("latin-1"),
        "query": [[key, value] for key, value in request.query_params.multi_items()],
        "headers": {key.lower(): value for key, value in request.headers.items()},
        "cookies": dict(request.cookies),
        "content_type": request.headers.get("content-type"),
        "body_text": body.decode("utf-8", errors="replace"),
        **await _parsed_body(request, body),
    }


def build_app() -> Starlette:
    received = ReceivedLog()

    async def echo(request: Request) -> Response:
        return JSONResponse(await received.record(request))

    async def status(request: Request) -> Response:
        await received.record(request)
        code = int(request.path_params["code"])
        if request.query_params.get("format") == "text":
            return PlainTextResponse(f"plain failure with status {code}", status_code=code)
        return JSONResponse({"error": f"failure with status {code}", "code": code}, status_code=code)

    async def long_error(request: Request) -> Response:
        await received.record(request)
        body = LONG_BODY_MARKER + "x" * (LONG_BODY_LENGTH - len(LONG_BODY_MARKER))
        return PlainTextResponse(body, status_code=502)

    async def binary(request: Request) -> Response:
        await received.record(request)
        return Response(PNG_BYTES, media_type="image/png")

    async def no_content(request: Request) -> Response:
        await received.record(request)
        return Response(status_code=204)

    async def slow(request: Request) -> Response:
        description = await received.record(request)
        await asyncio.sleep(float(request.query_params.get("seconds", "0")))
        return JSONResponse(description)

    async def gzip_bomb(request: Request) -> Response:
        """A small gzip body that expands to `mb` megabytes of JSON whitespace: what a spec fetch must refuse."""
        size = int(float(request.query_params.get("mb", "40")) * 1024 * 1024)
        body = gzip.compress(b"{" + b" " * size + b"}", compresslevel=9)
        return Response(body, media_type="application/json", headers={"Content-Encoding": "gzip"})

    async def html_page(request: Request) -> Response:
        """A login page served with 200, as some hosts answer a spec URL that needs a session."""
        return Response("<!doctype html><title>Sign in</title>", media_type="text/html")

    async def big_json(request: Request) -> Response:
        """A JSON object of about `mb` megabytes (one long string field)."""
        size = int(float(request.query_params.get("mb", "1")) * 1024 * 1024)
        return Response(b'{"data": "' + b"x" * size + b'"}', media_type="application/json")

    async def undecodable(request: Request) -> Response:
        """JSON in UTF-16 without a byte-order mark, one byte short: no UTF-16 decoder can read it."""
        await received.record(request)
        status = int(request.query_params.get("status", "200"))
        body = '{"name": "Grüße"}'.encode("utf-16-le")[:-1]
        return Response(body, status_code=status, headers={"Content-Type": "application/json; charset=utf-16"})

    async def received_requests(request: Request) -> Response:
        if request.method == "DELETE":
            received.clear()
        return JSONResponse({"requests": received.requests})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/__healthz", healthz, methods=["GET"]),
            Route("/__received", received_requests, methods=["GET", "DELETE"]),
            Route("/status/{code:int}", status, methods=ALL_METHODS),
            Route("/long-error", long_error, methods=ALL_METHODS),
            Route("/image", binary, methods=ALL_METHODS),
            Route("/empty", no_content, methods=ALL_METHODS),
            Route("/slow", slow, methods=ALL_METHODS),
            Route("/__gzip-bomb", gzip_bomb, methods=["GET"]),
            Route("/__html", html_page, methods=["GET"]),
            Route("/big", big_json, methods=ALL_METHODS),
            Route("/undecodable", undecodable, methods=ALL_METHODS),
            # Everything else is echoed. Matching on the whole path (not per template) means a wrongly
            # encoded path parameter still gets an answer that shows exactly what arrived.
            Route("/{anything:path}", echo, methods=ALL_METHODS),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Echo HTTP API for mcp_gateway end-to-end tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(build_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
