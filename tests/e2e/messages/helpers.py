"""What the /v1/messages tests share: connector entries, asking through the SDK, reading answers."""

from __future__ import annotations

from typing import Any

import anthropic

from tests.e2e.chat.helpers import Json

MCP_BETA = "mcp-client-2025-04-04"
TOOLSET_BETA = "mcp-client-2025-11-20"
HELLO: Json = [{"role": "user", "content": "Hello."}]


def connector(url: str, name: str, allowed: list[str] | None = None, **extra: Any) -> Json:
    """An `mcp_servers` entry of the first connector form."""
    server: Json = {"type": "url", "url": url, "name": name, **extra}
    if allowed is not None:
        server["tool_configuration"] = {"enabled": True, "allowed_tools": allowed}
    return server


async def ask(client: anthropic.AsyncAnthropic, *, stream: bool, **request: Any) -> Json:
    """The answer as a plain dict, through the beta client's create, or its stream helper's final message (the
    SDK's accumulator raises on an event sequence it cannot follow)."""
    request.setdefault("max_tokens", 1024)
    if not stream:
        message = await client.beta.messages.create(**request)
        return message.to_dict()
    async with client.beta.messages.stream(**request) as events:
        kinds = [event.type async for event in events]
        final = await events.get_final_message()
    answer = final.to_dict()
    answer["_event_types"] = kinds
    return answer


def blocks_of(answer: Json, kind: str) -> list[Json]:
    return [block for block in answer["content"] if block["type"] == kind]
