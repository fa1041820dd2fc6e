"""A request the loop cannot serve, with the HTTP status and the words the caller gets."""

from __future__ import annotations


class RequestError(Exception):
    """400 for what the caller sent, 503 for a requested server that cannot serve it. `param` names the field."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
