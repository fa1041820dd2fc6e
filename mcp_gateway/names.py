"""The one naming module: every tool name the gateway hands out is allocated here.

Registration, preview, server prefixing and the provider bridge all call `allocate_names` with the rule
of their target, so two callers can never disagree about what a tool is called.

Allocation is two-pass. Names that already satisfy the rule are reserved first, in input order, so a
valid name is never pushed aside by a sanitized one. The rest are sanitized (invalid characters become
`_`, over-long names are cut and given a short stable hash) and, on collision, suffixed `_2`, `_3`, ...
within the length cap. A name that appears twice in the input is allocated once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "ANTHROPIC",
    "BEDROCK",
    "COHERE",
    "GEMINI",
    "GEMINI_PROPERTY",
    "MCP",
    "MISTRAL",
    "OPENAI",
    "PROPERTY",
    "NameMap",
    "NameRule",
    "allocate_each",
    "allocate_names",
    "sanitize",
]

_HASH_LENGTH = 8


@dataclass(frozen=True)
class NameRule:
    """What a target accepts as a name: a character class, an optional first-character class, a length cap."""

    label: str
    max_length: int
    allowed: str
    """Body of a regex character class, e.g. ``a-zA-Z0-9_-``."""
    first: str | None = None
    """Body of a character class the first character must match, when the target restricts it."""
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _invalid: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        head = f"[{self.first}]" if self.first else f"[{self.allowed}]"
        tail_max = self.max_length - 1
        compiled = re.compile(rf"^{head}[{self.allowed}]{{0,{tail_max}}}\Z")
        object.__setattr__(self, "pattern", compiled)
        object.__setattr__(self, "_invalid", re.compile(f"[^{self.allowed}]"))

    def is_valid(self, name: str) -> bool:
        return self.pattern.match(name) is not None


# MCP spec (2025-11-25, "Tool names"): 1-128 characters of A-Z a-z 0-9 _ - (we leave out "." for the
# strictest clients, e.g. Claude Desktop and Cursor, which reject it).
MCP = NameRule("mcp", 128, "a-zA-Z0-9_-")
# OpenAI function calling: "a-z, A-Z, 0-9, or contain underscores and dashes, with a maximum length of 64".
OPENAI = NameRule("openai", 64, "a-zA-Z0-9_-")
# Anthropic Messages API tool name: ^[a-zA-Z0-9_-]{1,128}$ (tools[].name in the API reference).
ANTHROPIC = NameRule("anthropic", 128, "a-zA-Z0-9_-")
# Gemini FunctionDeclaration.name: must start with a letter or underscore; a-z, A-Z, 0-9, underscores,
# dots, colons and dashes; maximum length 64.
GEMINI = NameRule("gemini", 64, "a-zA-Z0-9_.:-", first="a-zA-Z_")
# Bedrock Converse ToolSpecification.name: pattern [a-zA-Z0-9_-]+, length 1-64.
BEDROCK = NameRule("bedrock", 64, "a-zA-Z0-9_-")
# Mistral follows OpenAI's function name rule: ^[a-zA-Z0-9_-]{1,64}$.
MISTRAL = NameRule("mistral", 64, "a-zA-Z0-9_-")
# Cohere v2 tool names: ^[A-Za-z_][A-Za-z0-9_]*$. Cohere documents no maximum; 64 keeps names portable.
COHERE = NameRule("cohere", 64, "A-Za-z0-9_", first="A-Za-z_")
# Property keys of tool input schemas: Anthropic and OpenAI accept ^[a-zA-Z0-9_.-]{1,64}$.
PROPERTY = NameRule("property", 64, "a-zA-Z0-9_.-")
# Gemini parameter names (FunctionDeclaration.parameters in the Vertex AI / Gemini API reference): a letter or
# underscore first, then only letters, digits and underscores; at most 64 characters. Stricter than PROPERTY.
GEMINI_PROPERTY = NameRule("gemini-property", 64, "a-zA-Z0-9_", first="a-zA-Z_")


def _short_hash(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:_HASH_LENGTH]


def sanitize(name: str, rule: NameRule) -> str:
    """Map any string to a name the rule accepts. Deterministic; does not consider other names."""
    if rule.is_valid(name):
        return name
    cleaned = rule._invalid.sub("_", name)
    if not cleaned:
        cleaned = "_"
    if rule.first and re.match(f"[{rule.first}]", cleaned) is None:
        cleaned = "_" + cleaned
    if len(cleaned) > rule.max_length:
        # Cutting alone would make two long names that share a prefix equal; the hash of the whole
        # original keeps them apart without depending on which other names exist.
        keep = rule.max_length - _HASH_LENGTH - 1
        cleaned = f"{cleaned[:keep]}_{_short_hash(name)}"
    return cleaned


def _with_suffix(base: str, number: int, rule: NameRule) -> str:
    suffix = f"_{number}"
    return base[: rule.max_length - len(suffix)] + suffix


def allocate_names(
    originals: Iterable[str], rule: NameRule, reserved: Iterable[str] = ()
) -> dict[str, str]:
    """Allocate one unique, valid name per distinct original, in input order.

    `reserved` names are treated as taken (e.g. names another source already owns). The result maps each
    distinct original to its allocated name; insertion order follows the first appearance in `originals`.
    """
    unique = list(dict.fromkeys(originals))
    taken: set[str] = set(reserved)
    allocated: dict[str, str] = {}
    for original in unique:
        if rule.is_valid(original) and original not in taken:
            allocated[original] = original
            taken.add(original)
    for original in unique:
        if original in allocated:
            continue
        base = sanitize(original, rule)
        candidate = base
        number = 2
        while candidate in taken:
            candidate = _with_suffix(base, number, rule)
            number += 1
        allocated[original] = candidate
        taken.add(candidate)
    return {original: allocated[original] for original in unique}


def allocate_each(originals: Sequence[str], rule: NameRule) -> list[str]:
    """One unique name per input position, for things that must stay distinct even when their names repeat
    (two operations sharing an operationId; two servers' tools that join to the same `server-tool` string).

    The first occurrence of each original gets what `allocate_names` gives it; every repeat is then allocated
    against all names already handed out, so it gets the next free suffix.
    """
    allocated = allocate_names(originals, rule)
    taken = set(allocated.values())
    seen: set[str] = set()
    result: list[str] = []
    for original in originals:
        if original not in seen:
            seen.add(original)
            result.append(allocated[original])
            continue
        repeat = allocate_names([original], rule, reserved=taken)[original]
        taken.add(repeat)
        result.append(repeat)
    return result


@dataclass(frozen=True)
class NameMap:
    """Forward (original -> target) and reverse (target -> original) names for one set of tools."""

    forward: Mapping[str, str]
    reverse: Mapping[str, str]

    @classmethod
    def build(cls, originals: Iterable[str], rule: NameRule, reserved: Iterable[str] = ()) -> NameMap:
        forward = allocate_names(originals, rule, reserved)
        return cls(forward=forward, reverse={target: original for original, target in forward.items()})

    def to_target(self, original: str) -> str:
        return self.forward.get(original, original)

    def to_original(self, target: str) -> str:
        return self.reverse.get(target, target)

    @property
    def rewritten(self) -> dict[str, str]:
        """Only the entries whose name changed: target -> original."""
        return {target: original for target, original in self.reverse.items() if target != original}
