"""Scripts of turns for the provider stand-ins: what the "model" answers, request by request, per model name.

A test posts a script for a model name of its own (`POST /__scripts`), so tests never share one; every request for
that model (any protocol) takes the next turn. A turn is one of:

    {"text": "..."}                                       answer with text
    {"calls": [{"tool": NAME, "arguments": {...}}, ...]}  call tools (with optional "text" before the calls)
    {"calls": [{"tool_containing": "part", ...}]}         the one offered tool whose name contains "part", the way a
                                                          model picks among names it was given
    {"calls": [{"tool": NAME, "hallucinated": true}]}     a tool the request does not offer, as models sometimes do
    {"calls": [{"tool": NAME, "raw_arguments": "{x"}]}    arguments that are not JSON (OpenAI's wire only)
    {"calls": [{"tool": NAME, "without_id": true}]}       a call without an id (OpenAI's wire, not streaming)
    {"quote_results": true}                               text quoting the tool results of the last user turn
    {"status": 429, "message": "...", "retry_after": 0}   an error in the provider's envelope
    {"delay": 5}                                          wait before answering (with any of the above)
    {"piece_delay": 0.3}                                  stream slowly (with a text answer)

A call naming a tool the request does not offer is refused like a real provider refuses a forced unknown tool,
so a script cannot pass with tools the gateway never sent. Running out of turns is a 400 naming the model.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.provider_wire import Answer, Call, new_id


class ScriptError(Exception):
    """A request the script cannot answer (exhausted, or it names a tool the request lacks): a 400."""


@dataclass(frozen=True)
class ScriptedError:
    status: int
    message: str
    retry_after: float | None


@dataclass
class _Script:
    turns: list[dict[str, Any]]
    position: int = 0


@dataclass
class ScriptStore:
    scripts: dict[str, _Script] = field(default_factory=dict)
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    aborted: dict[str, int] = field(default_factory=dict)
    """Per model, streamed answers whose client went away before the end."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self, model: str, turns: list[dict[str, Any]]) -> None:
        with self.lock:
            self.scripts[model] = _Script(list(turns))
            self.received[model] = []

    def has(self, model: str) -> bool:
        return model in self.scripts

    def record(self, model: str, entry: dict[str, Any]) -> None:
        with self.lock:
            self.received.setdefault(model, []).append(entry)

    def abort(self, model: str) -> None:
        with self.lock:
            self.aborted[model] = self.aborted.get(model, 0) + 1

    def aborted_for(self, model: str) -> int:
        with self.lock:
            return self.aborted.get(model, 0)

    def received_for(self, model: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.received.get(model, []))

    def next_turn(self, model: str) -> dict[str, Any]:
        with self.lock:
            script = self.scripts[model]
            if script.position >= len(script.turns):
                raise ScriptError(f"stand-in script for model {model!r} has no turn left ({len(script.turns)} used)")
            turn = script.turns[script.position]
            script.position += 1
            return turn


async def play(turn: dict[str, Any], offered: Sequence[str], results: Sequence[str], id_prefix: str) -> (
        Answer | ScriptedError):
    """The turn's answer to a request offering the tools `offered`, whose last user turn carried `results`."""
    if turn.get("delay"):
        await asyncio.sleep(float(turn["delay"]))
    if "status" in turn:
        return ScriptedError(int(turn["status"]), str(turn.get("message", "scripted error")), turn.get("retry_after"))
    if turn.get("quote_results"):
        return Answer("The tools answered: " + " | ".join(results), piece_delay=float(turn.get("piece_delay", 0)))
    calls = tuple(_call(spec, offered, id_prefix) for spec in turn.get("calls", []))
    return Answer(turn.get("text"), calls, float(turn.get("piece_delay", 0)))


def _call(spec: dict[str, Any], offered: Sequence[str], id_prefix: str) -> Call:
    if "tool" in spec:
        name = spec["tool"]
        if name not in offered and not spec.get("hallucinated"):
            raise ScriptError(f"the script calls {name!r}, which the request does not offer (offered: {offered})")
    else:
        part = spec["tool_containing"]
        matching = [candidate for candidate in offered if part in candidate]
        if len(matching) != 1:
            raise ScriptError(f"the script asks for the one tool containing {part!r}; the request offers {matching}")
        name = matching[0]
    call_id = "" if spec.get("without_id") else new_id(id_prefix)
    return Call(call_id, name, json.loads(json.dumps(spec.get("arguments", {}))), spec.get("raw_arguments"))
