"""A Responses API request's `input`, `tools` and `tool_choice` in the loop's terms (the OpenAI Chat shape).

Input items become chat messages: message items (roles user, system, developer, assistant; content a string or
`input_text` / `output_text` / `input_image` / `input_file` parts), `function_call` items (consecutive ones join one
assistant message) and `function_call_output` items (tool messages). `mcp_approval_response` items are the
caller's decisions on MCP calls returned awaiting approval. Output items of an earlier response passed back as
input (`mcp_call`, `mcp_approval_request`, `mcp_list_tools`) are understood too, so a caller that keeps its own
history instead of using `previous_response_id` loses nothing. Function tools arrive flat (`{"type": "function",
"name", "parameters"}`) and become the Chat shape the tool set reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp_gateway.llm.errors import RequestError
from mcp_gateway.llm.toolset import McpTool

_MESSAGE_ROLES = frozenset({"user", "system", "developer", "assistant"})


@dataclass
class ReadInput:
    messages: list[dict[str, Any]] = field(default_factory=list)
    approvals: dict[str, bool] = field(default_factory=dict)
    """MCP call id (the approval request's id) -> approve."""
    approval_requests: set[str] = field(default_factory=set)
    """The ids of `mcp_approval_request` items given as input (a caller keeping its own history)."""
    _calls_at: int | None = None
    """The index of the assistant message that consecutive call items join."""

    def add_call(self, call_id: str, name: str, arguments: str) -> None:
        call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        last = self.messages[-1] if self.messages else None
        if last is not None and last["role"] == "assistant" and (
                self._calls_at == len(self.messages) - 1 or "tool_calls" not in last):
            # The calls of one model turn (and the text before them) are one assistant message.
            last.setdefault("tool_calls", []).append(call)
            self._calls_at = len(self.messages) - 1
            return
        self.messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        self._calls_at = len(self.messages) - 1


def read_input(value: object) -> ReadInput:
    if isinstance(value, str):
        return ReadInput([{"role": "user", "content": value}])
    if not isinstance(value, list):
        raise RequestError(400, "input must be a string or an array of input items", param="input")
    read = ReadInput()
    for index, item in enumerate(value):
        where = f"input[{index}]"
        if not isinstance(item, Mapping):
            raise RequestError(400, f"{where} must be an object", param=where)
        _read_item(item, where, read)
    return read


def _read_item(item: Mapping[str, Any], where: str, read: ReadInput) -> None:
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        if role not in _MESSAGE_ROLES:
            raise RequestError(400, f"{where}.role must be one of {sorted(_MESSAGE_ROLES)}", param=f"{where}.role")
        read.messages.append({"role": role, "content": _content(item.get("content"), where)})
    elif kind == "function_call":
        read.add_call(_string(item, "call_id", where), _string(item, "name", where),
                  _arguments(item.get("arguments"), where))
    elif kind == "function_call_output":
        output = item.get("output")
        content = output if isinstance(output, str) else _content(output, f"{where}.output")
        read.messages.append({"role": "tool", "tool_call_id": _string(item, "call_id", where), "content": content})
    elif kind == "mcp_approval_response":
        approve = item.get("approve")
        if not isinstance(approve, bool):
            raise RequestError(400, f"{where}.approve must be true or false", param=f"{where}.approve")
        read.approvals[_string(item, "approval_request_id", where)] = approve
    elif kind == "mcp_approval_request":
        request_id = _string(item, "id", where)
        read.add_call(request_id, _string(item, "name", where), _arguments(item.get("arguments"), where))
        read.approval_requests.add(request_id)
    elif kind == "mcp_call":
        call_id = item.get("approval_request_id") or _string(item, "id", where)
        read.add_call(str(call_id), _string(item, "name", where), _arguments(item.get("arguments"), where))
        text = _error_text(item.get("error")) or (item["output"] if isinstance(item.get("output"), str) else "")
        read.messages.append({"role": "tool", "tool_call_id": str(call_id), "content": text})
    elif kind == "mcp_list_tools":
        return  # what was offered then; the request's tools say what is offered now
    else:
        raise RequestError(400, f"{where}: input items of type {kind!r} are not supported by this gateway",
                           param=f"{where}.type")


def _error_text(error: object) -> str:
    """An mcp_call's error as text: a string, or OpenAI's error objects (a message, or the tool's content)."""
    if isinstance(error, str):
        return error
    if not isinstance(error, Mapping):
        return ""
    if isinstance(error.get("message"), str):
        return str(error["message"])
    content = error.get("content")
    parts = content if isinstance(content, list) else []
    return "".join(str(part.get("text", "")) for part in parts if isinstance(part, Mapping))


def _string(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise RequestError(400, f"{where}.{key} is required", param=f"{where}.{key}")
    return value


def _arguments(value: object, where: str) -> str:
    if value is None:
        return "{}"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _content(value: object, where: str) -> str | list[dict[str, Any]]:
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise RequestError(400, f"{where}.content must be a string or an array of content parts",
                           param=f"{where}.content")
    return [_part(part, f"{where}.content[{index}]") for index, part in enumerate(value)]


def _part(part: object, where: str) -> dict[str, Any]:
    if not isinstance(part, Mapping):
        raise RequestError(400, f"{where} must be an object", param=where)
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        text = part.get("text")
        if not isinstance(text, str):
            raise RequestError(400, f"{where}.text must be a string", param=f"{where}.text")
        return {"type": "text", "text": text}
    if kind == "refusal":
        return {"type": "text", "text": str(part.get("refusal") or "")}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str):
            raise RequestError(400, f"{where}: only images given by image_url (a URL or data URL) are supported",
                               param=f"{where}.image_url")
        return {"type": "image_url", "image_url": {"url": url, "detail": part.get("detail") or "auto"}}
    if kind == "input_file":
        file = {key: part[key] for key in ("file_id", "file_data", "filename") if key in part}
        return {"type": "file", "file": file}
    raise RequestError(400, f"{where}: content parts of type {kind!r} are not supported", param=f"{where}.type")


def chat_tools(value: object) -> object:
    """The request's tools with function tools in the Chat shape; the rest (mcp, hosted) as they are."""
    if not isinstance(value, list):
        return value
    converted: list[object] = []
    for entry in value:
        if isinstance(entry, Mapping) and entry.get("type") == "function" and "function" not in entry:
            function = {key: entry[key] for key in ("name", "description", "parameters", "strict") if key in entry}
            converted.append({"type": "function", "function": function})
        else:
            converted.append(entry)
    return converted


def chat_tool_choice(value: object, mcp_tools: Mapping[str, McpTool] | None = None) -> str | Mapping[str, Any] | None:
    """`tool_choice` in the Chat shape: the modes as they are; `{"type": "function", "name"}` and `{"type": "mcp",
    "server_label", "name"}` name one tool (an MCP tool by the name its endpoint lists, or by its own server's
    name under that label)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping) and value.get("type") == "mcp" and isinstance(value.get("name"), str):
        name = value["name"]
        for offered, tool in (mcp_tools or {}).items():
            if tool.label == value.get("server_label") and name in (offered, tool.registered.server_name):
                name = offered
                break
        return {"type": "function", "function": {"name": name}}
    if isinstance(value, Mapping) and value.get("type") == "function" and isinstance(value.get("name"), str):
        return {"type": "function", "function": {"name": value["name"]}}
    if isinstance(value, Mapping) and value.get("type") == "mcp":
        return "required"
    if isinstance(value, Mapping) and value.get("type") == "allowed_tools":
        raise RequestError(400, "tool_choice of type 'allowed_tools' is not supported; narrow the tools instead",
                           param="tool_choice")
    if isinstance(value, Mapping):
        return value
    raise RequestError(400, "tool_choice must be a string or an object", param="tool_choice")
