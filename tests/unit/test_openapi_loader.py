"""Reading specs: JSON or YAML, from a file or a URL, with OpenAPI's strings kept strings."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import anyio
import pytest

from mcp_gateway.http import httpx
from mcp_gateway.openapi import loader
from mcp_gateway.openapi.loader import (
    SpecFile,
    SpecLoadError,
    parse_spec_text,
    read_spec,
    read_spec_file,
    read_spec_source,
)

SPECS = Path(__file__).parent / "specs"

YAML_WITH_NUMBERS_AND_DATES = """
openapi: 3.0.3
info:
  title: Dates
  version: 2024-01-31
paths:
  /events:
    get:
      parameters:
        - name: since
          in: query
          schema:
            type: string
            default: 2024-01-31T10:00:00Z
      responses:
        200:
          description: ok
        404:
          description: missing
x-flags:
  on: yes
"""


def test_json_text_is_parsed() -> None:
    assert parse_spec_text('{"openapi": "3.1.0", "paths": {}}') == {"openapi": "3.1.0", "paths": {}}


def test_a_byte_order_mark_before_json_is_ignored() -> None:
    assert parse_spec_text('\ufeff{"openapi": "3.0.3"}') == {"openapi": "3.0.3"}


def test_yaml_response_codes_and_dates_stay_strings() -> None:
    document = parse_spec_text(YAML_WITH_NUMBERS_AND_DATES)

    operation = document["paths"]["/events"]["get"]
    assert list(operation["responses"]) == ["200", "404"]
    assert document["info"]["version"] == "2024-01-31"
    assert operation["parameters"][0]["schema"]["default"] == "2024-01-31T10:00:00Z"


def test_yaml_keys_keep_the_text_written_in_the_file() -> None:
    # YAML 1.1 reads a bare `on` as true; a key is a name, so it stays "on". Values are still typed.
    assert parse_spec_text(YAML_WITH_NUMBERS_AND_DATES)["x-flags"] == {"on": True}


def test_unparseable_yaml_names_the_source_and_reason() -> None:
    with pytest.raises(SpecLoadError) as raised:
        parse_spec_text("openapi: [3.0\npaths: {", source="broken.yaml")

    assert "broken.yaml" in str(raised.value)
    assert raised.value.reason.startswith("invalid YAML")


def test_unparseable_json_is_reported_as_json() -> None:
    with pytest.raises(SpecLoadError, match="invalid JSON"):
        parse_spec_text('{"openapi": "3.0.0",', source="broken.json")


@pytest.mark.parametrize("text", ["- just\n- a list\n", "42"])
def test_top_level_must_be_an_object(text: str) -> None:
    with pytest.raises(SpecLoadError, match="top level must be an object"):
        parse_spec_text(text, source="odd.yaml")


@pytest.mark.parametrize("text", ["", "  \n", "# only a comment\n"])
def test_an_empty_document_says_so(text: str) -> None:
    with pytest.raises(SpecLoadError, match=r"odd\.yaml: the document is empty"):
        parse_spec_text(text, source="odd.yaml")


def test_read_spec_file_parses_yaml_files() -> None:
    document = read_spec_file(SPECS / "bodies.yaml")

    assert document["info"]["title"] == "Bodies"


def test_a_missing_file_is_a_load_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"

    with pytest.raises(SpecLoadError) as raised:
        read_spec_file(missing)

    assert str(missing) in str(raised.value)


@pytest.mark.anyio
async def test_read_spec_resolves_relative_paths_against_base_dir() -> None:
    document = await read_spec("odd-names.yaml", base_dir=SPECS)

    assert document["info"]["title"] == "Odd names"


def _serving(status: int, body: str) -> httpx.AsyncClient:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text=body)

    return httpx.AsyncClient(transport=httpx.MockTransport(respond))


@pytest.mark.anyio
async def test_read_spec_fetches_urls_with_the_given_client() -> None:
    async with _serving(200, "openapi: 3.1.0\npaths: {}\n") as client:
        document = await read_spec("https://api.example.com/openapi.yaml", client=client)

    assert document == {"openapi": "3.1.0", "paths": {}}


@pytest.mark.anyio
async def test_http_errors_become_load_errors_naming_the_url() -> None:
    async with _serving(404, "not here") as client:
        with pytest.raises(SpecLoadError) as raised:
            await read_spec("https://api.example.com/missing.json", client=client)

    assert "https://api.example.com/missing.json" in str(raised.value)
    assert raised.value.reason == "HTTP 404"


@pytest.mark.anyio
async def test_load_errors_never_show_credentials_carried_in_the_spec_url() -> None:
    async with _serving(401, "denied") as client:
        with pytest.raises(SpecLoadError) as raised:
            await read_spec("https://user:pa55@api.example.com:8443/spec.json?api_key=k3y", client=client)

    message = str(raised.value)
    assert "https://api.example.com:8443/spec.json" in message
    assert "pa55" not in message and "k3y" not in message and "user" not in message


@pytest.mark.anyio
async def test_a_spec_url_that_does_not_answer_says_so() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(hang)) as client:
        with pytest.raises(SpecLoadError) as raised:
            await read_spec("http://127.0.0.1:9/openapi.json", client=client)

    assert raised.value.reason == "no answer in time (ReadTimeout)"


@pytest.mark.anyio
async def test_a_spec_url_whose_body_does_not_parse_is_named_without_its_credentials() -> None:
    async with _serving(200, "<html><body>Sign in</body></html>\n<p>: broken") as client:
        with pytest.raises(SpecLoadError) as raised:
            await read_spec("https://user:pw@api.test/spec.yaml?access_token=SECRET123", client=client)

    message = str(raised.value)
    assert raised.value.source == "https://api.test/spec.yaml"
    assert "SECRET123" not in message and "pw" not in message and "user" not in message


@pytest.mark.anyio
async def test_a_spec_url_whose_body_is_not_an_object_is_named_without_its_credentials() -> None:
    async with _serving(200, "<html>maintenance</html>") as client:
        with pytest.raises(SpecLoadError, match="top level must be an object") as raised:
            await read_spec("https://user:pw@api.test/spec.yaml?access_token=SECRET123", client=client)

    assert raised.value.source == "https://api.test/spec.yaml"
    assert "SECRET123" not in str(raised.value)


# --- YAML anchors and aliases ------------------------------------------------------------------------------

SPEC_HEAD = """
openapi: 3.1.0
info: {title: Anchors, version: "1"}
paths: {}
components:
  schemas:
"""


def alias_bomb(levels: int) -> str:
    """Each level is an object whose ten properties all alias the level below: 10**levels nodes in ~1 KB."""
    lines = ["    L0: &L0 {type: string}"]
    for level in range(1, levels + 1):
        properties = ", ".join(f"p{index}: *L{level - 1}" for index in range(10))
        lines.append(f"    L{level}: &L{level} {{type: object, properties: {{{properties}}}}}")
    return SPEC_HEAD + "\n".join(lines) + "\n"


def test_shared_anchors_are_still_read_as_plain_copies() -> None:
    text = SPEC_HEAD + "    Id: &id {type: string, format: uuid}\n    Ref: {properties: {a: *id, b: *id}}\n"

    schemas = parse_spec_text(text)["components"]["schemas"]

    assert schemas["Ref"]["properties"] == {"a": schemas["Id"], "b": schemas["Id"]}


def test_merge_keys_still_work() -> None:
    text = SPEC_HEAD + "    Base: &base {type: object}\n    Named: {<<: *base, title: Named}\n"

    assert parse_spec_text(text)["components"]["schemas"]["Named"] == {"type": "object", "title": "Named"}


@pytest.mark.parametrize(
    "schemas",
    [
        "    Node: &node\n      type: object\n      properties:\n        child: *node\n",
        "    List: &list\n      type: array\n      items: [*list]\n",
        "    Merged: &merged {<<: *merged}\n",
    ],
    ids=["mapping", "sequence", "merge-key"],
)
def test_an_anchor_used_inside_itself_is_refused(schemas: str) -> None:
    with pytest.raises(SpecLoadError) as raised:
        parse_spec_text(SPEC_HEAD + schemas, source="recursive.yaml")

    assert raised.value.source == "recursive.yaml"
    assert raised.value.reason.startswith("YAML anchor/alias not supported: recursive")
    assert "line 7" in raised.value.reason  # where the anchor is


def test_aliases_that_expand_past_the_node_budget_are_refused() -> None:
    text = alias_bomb(7)
    assert len(text) < 2000

    with pytest.raises(SpecLoadError) as raised:
        parse_spec_text(text)

    assert raised.value.reason.startswith("YAML anchor/alias not supported: aliases expand the document by more than")


def test_a_bomb_too_deep_to_count_exactly_is_refused_too() -> None:
    with pytest.raises(SpecLoadError, match="aliases expand the document"):
        parse_spec_text(alias_bomb(200))


def test_modest_alias_use_is_within_the_budget() -> None:
    parse_spec_text(alias_bomb(3))  # a thousand-fold repeat of one schema is fine


def test_json_nested_too_deeply_is_a_load_error() -> None:
    with pytest.raises(SpecLoadError, match="nested too deeply"):
        parse_spec_text('{"a":' * 100_000 + "1" + "}" * 100_000, source="deep.json")


BUNDLED_SPECS = sorted(path for path in (Path(__file__).parents[2] / "specs").iterdir() if path.suffix != ".md")


@pytest.mark.parametrize("spec", BUNDLED_SPECS, ids=lambda path: path.name)
def test_every_bundled_spec_still_loads(spec: Path) -> None:
    assert isinstance(read_spec_file(spec).get("paths"), dict)


def test_a_spec_file_digests_as_its_text_does(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_bytes('{"openapi": "3.0.0", "info": {"title": "caf\u00e9 \U0001f600"}}'.encode() * 5000)
    as_file = SpecFile(path, str(path), str(path))
    as_text = as_file.read()
    assert b"".join(bytes(chunk) for chunk in as_file.utf8_chunks()) == path.read_bytes()
    assert b"".join(bytes(chunk) for chunk in as_text.utf8_chunks()) == path.read_bytes()


def test_a_spec_file_too_large_or_gone_is_a_load_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "spec.json"
    path.write_bytes(b" " * 200_000)
    monkeypatch.setattr(loader, "MAX_SPEC_BYTES", 100_000)
    with pytest.raises(SpecLoadError, match="larger than 100000 bytes"):
        anyio.run(partial(read_spec_source, str(path)))
    spec = SpecFile(path, str(path), str(path))
    with pytest.raises(SpecLoadError, match="larger than 100000 bytes"):
        list(spec.utf8_chunks())
    path.unlink()
    with pytest.raises(SpecLoadError, match="No such file"):
        list(spec.utf8_chunks())
    with pytest.raises(SpecLoadError, match="No such file"):
        anyio.run(partial(read_spec_source, str(path)))
