"""Spec -> tools on messy documents: what each odd construct becomes, and what gets skipped and why."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from mcp_gateway import names
from mcp_gateway.openapi import tools as tools_module
from mcp_gateway.openapi.loader import SpecLoadError, read_spec_file
from mcp_gateway.openapi.model import BodyBinding, FieldEncoding, OpenAPITools, ParameterBinding, ToolSpec
from mcp_gateway.openapi.preview import format_preview, preview
from mcp_gateway.openapi.schemas import SchemaConverter
from mcp_gateway.openapi.swagger2 import upgrade_swagger2
from mcp_gateway.openapi.tools import build_tools

SPECS = Path(__file__).parent / "specs"
SYNTHETIC_SPECS = sorted(SPECS.glob("*.yaml"))


def load(name: str) -> OpenAPITools:
    return build_tools(read_spec_file(SPECS / name))


def by_name(tools: OpenAPITools) -> dict[str, ToolSpec]:
    return {tool.name: tool for tool in tools.tools}


def bound_argument_keys(tool: ToolSpec) -> list[str]:
    keys = [parameter.argument for parameter in tool.binding.parameters]
    body = tool.binding.body
    if body is not None:
        keys.extend([body.argument] if body.argument is not None else [key for key, _ in body.properties])
    return keys


def operation(operation_id: str | None = None, **fields: Any) -> dict[str, Any]:
    declared = {"operationId": operation_id} if operation_id is not None else {}
    return {**declared, **fields, "responses": {"200": {"description": "ok"}}}


def document(paths: dict[str, Any], **top_level: Any) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "Inline", "version": "1"}, "paths": paths, **top_level}


# --- every synthetic spec --------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SYNTHETIC_SPECS, ids=lambda path: path.name)
def test_every_argument_is_bound_exactly_once(spec: Path) -> None:
    for tool in build_tools(read_spec_file(spec)).tools:
        keys = bound_argument_keys(tool)
        assert sorted(keys) == sorted(tool.input_schema["properties"]), tool.name
        assert all(names.PROPERTY.is_valid(key) for key in keys), tool.name


@pytest.mark.parametrize("spec", SYNTHETIC_SPECS, ids=lambda path: path.name)
def test_the_document_is_never_changed(spec: Path) -> None:
    original = read_spec_file(spec)
    untouched = copy.deepcopy(original)

    build_tools(original)

    assert original == untouched


# --- broken operations -----------------------------------------------------------------------------------


def test_broken_operations_are_skipped_with_reasons_and_the_rest_loads() -> None:
    tools = load("broken-operations.yaml")

    assert [tool.name for tool in tools.tools] == ["listPets", "replacePet"]
    reasons = {(skipped.method, skipped.operation_id): skipped.reason for skipped in tools.skipped}
    assert reasons == {
        ("POST", "createPet"): "POST /pets (operationId 'createPet'): unresolvable $ref "
        "'#/components/requestBodies/Missing': no 'requestBodies' in the document",
        ("GET", "getPet"): "GET /pets/{petId} (operationId 'getPet'): invalid parameter 'petId': "
        "in: Input should be 'query', 'header', 'path' or 'cookie'",
        ("DELETE", "deletePet"): "DELETE /pets/{petId} (operationId 'deletePet'): invalid parameter #1: "
        "name: Field required",
        ("GET", "getOwner"): "GET /pets/{petId}/owner (operationId 'getOwner'): unresolvable $ref "
        "'#/components/schemas/Owner': no 'Owner' in the document",
        ("PUT", "setOwner"): "PUT /pets/{petId}/owner (operationId 'setOwner'): unresolvable $ref "
        "'shared.yaml#/components/parameters/Owner': only references within the document are supported",
        ("*", None): "* /elsewhere: unresolvable $ref '#/paths/~1nowhere': no '/nowhere' in the document",
    }
    assert tools.operation_count == 8


def test_an_undeclared_path_variable_becomes_a_required_string_argument() -> None:
    replace = by_name(load("broken-operations.yaml"))["replacePet"]

    assert replace.input_schema["properties"]["petId"] == {"type": "string"}
    assert replace.input_schema["required"] == ["petId"]
    assert replace.binding.parameters == (ParameterBinding("petId", "petId", "path", required=True),)


def test_skipped_operations_take_no_names() -> None:
    spec = document(
        {
            "/broken": {"get": operation("listPets", parameters=[{"name": "x", "in": "nowhere"}])},
            "/pets": {"get": operation("listPets")},
        }
    )

    tools = build_tools(spec)

    assert [tool.name for tool in tools.tools] == ["listPets"]
    assert [skipped.path for skipped in tools.skipped] == ["/broken"]


# --- names -----------------------------------------------------------------------------------------------


def test_sentence_and_punctuation_operation_ids_are_sanitized() -> None:
    assert [tool.name for tool in load("odd-names.yaml").tools] == [
        "Search_for_things__the_fast_way_",
        "items__id__get__",
        "updateItem",
    ]


def test_operation_ids_that_collide_after_cutting_stay_distinct_within_the_cap() -> None:
    long_a, long_b = "op" * 70 + "_alpha", "op" * 70 + "_beta"
    tools = build_tools(document({"/a": {"get": operation(long_a)}, "/b": {"get": operation(long_b)}}))

    first, second = (tool.name for tool in tools.tools)
    assert first != second
    assert all(names.MCP.is_valid(tool.name) for tool in tools.tools)
    assert [tool.source_name for tool in tools.tools] == [long_a, long_b]


def test_a_fallback_name_yields_to_an_operation_id_that_already_has_that_name() -> None:
    spec = document(
        {
            "/items/{id}": {"post": operation(parameters=[{"name": "id", "in": "path", "schema": {}}])},
            "/items": {"get": operation("post__items__id_")},
        }
    )

    tools = build_tools(spec)

    assert [(tool.source_name, tool.name) for tool in tools.tools] == [
        ("post_/items/{id}", "post__items__id__2"),
        ("post__items__id_", "post__items__id_"),
    ]
    assert tools.tools[0].operation_id is None


def test_an_operation_id_equal_to_another_operations_fallback_still_gives_two_tools() -> None:
    spec = document({"/pets": {"get": operation(), "post": operation("get_/pets")}})

    assert [tool.name for tool in build_tools(spec).tools] == ["get__pets", "get__pets_2"]


def test_duplicate_operation_ids_each_get_a_tool() -> None:
    spec = document(
        {
            "/a": {"get": operation("list")},
            "/b": {"get": operation("list")},
            "/c": {"get": operation("list_2")},
        }
    )

    assert [tool.name for tool in build_tools(spec).tools] == ["list", "list_3", "list_2"]


# --- arguments -------------------------------------------------------------------------------------------


def test_odd_parameter_names_get_valid_keys_and_keep_their_wire_names() -> None:
    search = by_name(load("odd-names.yaml"))["Search_for_things__the_fast_way_"]

    assert [(parameter.argument, parameter.name) for parameter in search.binding.parameters] == [
        ("_select_2", "$select"),
        ("filter_x_", "filter[x]"),
        ("StartTime_", "StartTime<"),
        ("_select", "_select"),
    ]


def test_one_name_in_several_locations_gets_distinguishable_keys() -> None:
    get = by_name(load("odd-names.yaml"))["items__id__get__"]

    assert [(parameter.argument, parameter.location) for parameter in get.binding.parameters] == [
        ("id", "path"),
        ("query_id", "query"),
        ("X-Request-Id", "header"),
        ("header_id", "header"),
    ]


def test_operation_parameters_override_path_level_ones_and_ignored_headers_are_dropped() -> None:
    properties = by_name(load("odd-names.yaml"))["items__id__get__"].input_schema["properties"]

    assert properties["id"] == {"type": "integer", "description": "declared on the path item"}
    assert properties["X-Request-Id"] == {
        "type": "string",
        "format": "uuid",
        "description": "overridden by the operation",
    }
    assert "Accept" not in properties


def test_a_body_field_named_like_a_query_parameter_is_prefixed() -> None:
    update = by_name(load("odd-names.yaml"))["updateItem"]

    assert update.binding.body == BodyBinding(
        media_type="application/json",
        required=True,
        properties=(("body_id", "id"), ("name", "name"), ("body", "body")),
    )
    assert update.input_schema["required"] == ["id", "body_id", "name"]


def test_content_based_parameters_use_the_content_schema() -> None:
    coordinates = by_name(load("odd-names.yaml"))["updateItem"].input_schema["properties"]["coordinates"]

    assert coordinates == {"type": "object", "properties": {"lat": {"type": "number"}, "long": {"type": "number"}}}


# --- bodies ----------------------------------------------------------------------------------------------


def test_form_bodies_are_flattened_with_nested_objects_defaults_and_encodings() -> None:
    search = by_name(load("bodies.yaml"))["searchForm"]

    assert search.binding.body == BodyBinding(
        media_type="application/x-www-form-urlencoded",
        required=True,
        properties=(("filter", "filter"), ("tags", "tags"), ("start", "start"), ("exact", "exact")),
        encoding={
            "filter": FieldEncoding(style="deepObject", explode=True),
            "tags": FieldEncoding(style="form", explode=False),
        },
    )
    properties = search.input_schema["properties"]
    assert properties["filter"]["properties"]["range"]["properties"]["from"] == {"type": "integer", "default": 0}
    assert properties["start"] == {"type": "integer", "default": 0}
    assert properties["exact"] == {"type": "boolean", "default": False}
    assert search.input_schema["required"] == ["filter"]


def test_a_body_declared_on_get_is_kept() -> None:
    reports = by_name(load("bodies.yaml"))["queryReports"]

    assert reports.binding.method == "GET"
    assert reports.binding.body == BodyBinding(media_type="application/json", properties=(("since", "since"),))


@pytest.mark.parametrize(
    ("tool", "media_type"),
    [
        ("upload", "multipart/form-data"),
        ("sendEvent", "application/vnd.api+json"),
        ("putAnything", "application/json"),
        ("addNote", "application/xml"),
    ],
)
def test_the_preferred_media_type_is_chosen(tool: str, media_type: str) -> None:
    body = by_name(load("bodies.yaml"))[tool].binding.body

    assert body is not None
    assert body.media_type == media_type


def test_a_body_that_is_not_a_plain_object_is_one_argument() -> None:
    event = by_name(load("bodies.yaml"))["sendEvent"]

    assert event.binding.body == BodyBinding(media_type="application/vnd.api+json", argument="body")
    assert event.input_schema["properties"]["body"] == {"oneOf": [{"$ref": "#/$defs/Click"}, {"$ref": "#/$defs/View"}]}
    assert sorted(event.input_schema["$defs"]) == ["Click", "View"]


def test_servers_fill_in_variable_defaults_and_keep_relative_urls() -> None:
    tools = load("bodies.yaml")

    assert tools.servers == ("https://eu.example.com/v1", "/relative")
    assert by_name(tools)["upload"].binding.servers == ("https://uploads.example.com",)
    assert by_name(tools)["sendEvent"].binding.servers == ("https://events.example.com",)
    assert by_name(tools)["addNote"].binding.servers == ()


# --- schemas ---------------------------------------------------------------------------------------------


def test_a_30_document_with_31_syntax_loads_every_operation() -> None:
    tools = load("mixed-syntax-3.0.yaml")

    assert [tool.name for tool in tools.tools] == ["getNode", "putNode"]
    assert tools.skipped == ()


def test_parameter_schemas_keep_types_bounds_enums_and_falsy_defaults() -> None:
    properties = by_name(load("mixed-syntax-3.0.yaml"))["getNode"].input_schema["properties"]

    assert properties["nodeId"] == {"type": ["string", "null"]}
    assert properties["depth"] == {"type": "integer", "minimum": 0, "exclusiveMinimum": 0, "default": 0}
    assert properties["verbose"] == {"type": "boolean", "default": False}
    assert properties["label"] == {"type": ["string", "null"], "enum": ["a", "b", None], "default": ""}
    assert properties["parent"] == {"type": "null"}
    assert properties["legacyBound"] == {"type": "number", "exclusiveMinimum": 1}
    assert properties["since"] == {"type": "string", "format": "date", "default": "2024-01-31"}


def test_circular_schemas_stay_references_into_defs_with_only_what_the_tool_reaches() -> None:
    schema = by_name(load("mixed-syntax-3.0.yaml"))["putNode"].input_schema

    assert schema["properties"]["children"] == {"type": "array", "items": {"$ref": "#/$defs/Node"}}
    assert schema["properties"]["parent"] == {"anyOf": [{"allOf": [{"$ref": "#/$defs/Node"}]}, {"type": "null"}]}
    assert sorted(schema["$defs"]) == ["Node", "Tree"]
    assert schema["$defs"]["Tree"] == {"type": "object", "properties": {"root": {"$ref": "#/$defs/Node"}}}
    assert schema["$defs"]["Node"]["properties"]["created"]["example"] == "2024-01-31"


def test_tools_share_converted_component_schemas_instead_of_copying_them() -> None:
    spec = document(
        {"/a": {"post": operation("a", requestBody={"content": {"application/json": {"schema": {"$ref": "#/c"}}}})}},
        c={"type": "array", "items": {"$ref": "#/components/schemas/Big"}},
        components={"schemas": {"Big": {"type": "object", "properties": {"x": {"type": "string"}}}}},
    )
    spec["paths"]["/b"] = copy.deepcopy(spec["paths"]["/a"])
    spec["paths"]["/b"]["post"]["operationId"] = "b"

    first, second = build_tools(spec).tools

    assert first.input_schema["$defs"]["Big"] is second.input_schema["$defs"]["Big"]


def test_a_deprecated_operation_says_so_before_its_summary_and_description() -> None:
    put = by_name(load("mixed-syntax-3.0.yaml"))["putNode"]

    assert put.description == "[Deprecated] Replace a node\n\nThe whole node is replaced."


def test_an_operation_without_summary_is_described_by_method_and_path() -> None:
    assert build_tools(document({"/pets": {"get": operation("list")}})).tools[0].description == "GET /pets"


def test_webhooks_are_neither_tools_nor_skipped() -> None:
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "Hooks", "version": "1"},
        "webhooks": {"newPet": {"post": {"requestBody": {"content": {"application/json": {"schema": {}}}}}}},
    }

    tools = build_tools(spec)

    assert (tools.tools, tools.skipped) == ((), ())


# --- Swagger 2.0 -----------------------------------------------------------------------------------------


def test_swagger2_servers_come_from_host_base_path_and_schemes() -> None:
    assert load("swagger2-forms.yaml").servers == ("https://api.example.com/v2", "http://api.example.com/v2")


def test_swagger2_body_with_consumes_any_is_sent_as_json_and_flattened() -> None:
    add = by_name(load("swagger2-forms.yaml"))["addPet"]

    assert add.binding.body == BodyBinding(
        media_type="application/json",
        required=True,
        properties=(("name", "name"), ("tag", "tag"), ("friend", "friend")),
    )
    assert add.input_schema["properties"]["tag"] == {"type": ["string", "null"]}
    assert add.input_schema["$defs"]["Pet"]["properties"]["friend"] == {"$ref": "#/$defs/Pet"}


def test_swagger2_form_data_becomes_urlencoded_or_multipart_when_a_file_is_sent() -> None:
    tools = by_name(load("swagger2-forms.yaml"))

    form, upload = tools["updatePetWithForm"].binding.body, tools["uploadImage"].binding.body
    assert form == BodyBinding(
        "application/x-www-form-urlencoded", True, properties=(("name", "name"), ("status", "status"))
    )
    assert upload == BodyBinding("multipart/form-data", False, properties=(("file", "file"), ("note", "note")))
    assert tools["uploadImage"].input_schema["properties"]["file"] == {"type": "string", "format": "binary"}


def test_swagger2_collection_formats_become_style_and_explode() -> None:
    find = by_name(load("swagger2-forms.yaml"))["findPets"]

    assert find.binding.parameters == (
        ParameterBinding("tags", "tags", "query", style="form", explode=True),
        ParameterBinding("status", "status", "query", style="form", explode=False),
        ParameterBinding("limit", "limit", "query"),
        ParameterBinding("X-Trace-Id", "X-Trace-Id", "header"),
    )
    assert find.input_schema["properties"]["limit"] == {"type": "integer", "default": 0, "minimum": 0}


def test_swagger2_upgrade_moves_definitions_and_security_under_components() -> None:
    upgraded = upgrade_swagger2(read_spec_file(SPECS / "swagger2-forms.yaml"))

    assert upgraded["openapi"] == "3.0.3"
    assert set(upgraded["components"]["schemas"]) == {"Pet"}
    assert upgraded["components"]["securitySchemes"] == {
        "key": {"type": "apiKey", "name": "api_key", "in": "header"},
        "login": {"type": "http", "scheme": "basic"},
    }
    response = upgraded["paths"]["/pets"]["get"]["responses"]["200"]
    assert response["content"]["application/json"]["schema"]["items"] == {"$ref": "#/components/schemas/Pet"}


# --- preview ---------------------------------------------------------------------------------------------


def test_preview_lists_tools_arguments_and_skipped_operations() -> None:
    tools = load("broken-operations.yaml")

    summary = preview(tools)

    assert (summary["title"], summary["servers"], summary["operations"]) == ("Broken operations", [], 8)
    assert summary["tools"][1] == {
        "name": "replacePet",
        "method": "PUT",
        "path": "/pets/{petId}",
        "operationId": "replacePet",
        "description": "PUT /pets/{petId}",
        "parameters": [{"argument": "petId", "name": "petId", "in": "path", "required": True, "type": "string"}],
        "body": {
            "mediaType": "application/json",
            "required": False,
            "arguments": [{"argument": "name", "name": "name", "required": False, "type": "string"}],
        },
    }
    assert [skipped["operationId"] for skipped in summary["skipped"]] == [
        "createPet",
        "getPet",
        "deletePet",
        "getOwner",
        "setOwner",
        None,
    ]


def test_format_preview_is_a_table_of_what_registration_produces() -> None:
    text = format_preview(load("odd-names.yaml"))

    assert "Odd names: 3 tools from 3 operations" in text
    assert "updateItem" in text
    assert "PATCH" in text
    assert "id*, query_id, coordinates, X-Request-Id, body_id*, name*, body" in text


def test_content_described_parameter_keeps_its_schema_and_media_type() -> None:
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {"/search": {"get": operation("search", parameters=[{
            "name": "filter", "in": "query",
            "content": {"application/json": {"schema": {"type": "object", "properties": {"q": {"type": "string"}}}}},
        }])}},
    }
    (tool,) = build_tools(document).tools
    assert tool.binding.parameters == (
        ParameterBinding("filter", "filter", "query", content_type="application/json"),
    )
    assert tool.input_schema["properties"]["filter"]["properties"] == {"q": {"type": "string"}}


# --- pathological documents: one operation's failure never takes the document down ---------------------


def self_containing_schema() -> dict[str, Any]:
    """What a recursive YAML anchor parses to (the loader now refuses those; other callers may not)."""
    node: dict[str, Any] = {"type": "object", "properties": {}}
    node["properties"]["child"] = node
    return node


def test_a_self_containing_schema_skips_only_the_operations_that_reach_it() -> None:
    spec = document(
        {
            "/nodes": {
                "post": operation(
                    "createNode",
                    requestBody={
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}},
                    },
                )
            },
            "/health": {"get": operation("health")},
        },
        components={"schemas": {"Node": self_containing_schema()}},
    )

    tools = build_tools(spec)

    assert [tool.name for tool in tools.tools] == ["health"]
    (skipped,) = tools.skipped
    assert skipped.operation_id == "createNode"
    assert "RecursionError" in skipped.reason


def test_an_unexpected_error_in_one_operation_skips_it_naming_the_error_type(monkeypatch: pytest.MonkeyPatch) -> None:
    convert = SchemaConverter.convert

    def trips_over_marked_schemas(self: SchemaConverter, schema: Any) -> Any:
        if isinstance(schema, dict) and schema.get("x-trip"):
            raise LookupError("converter bug")
        return convert(self, schema)

    monkeypatch.setattr(SchemaConverter, "convert", trips_over_marked_schemas)
    spec = document(
        {
            "/a": {"get": operation("tripped", parameters=[{"name": "q", "in": "query", "schema": {"x-trip": True}}])},
            "/b": {"get": operation("fine")},
        }
    )

    tools = build_tools(spec)

    assert [tool.name for tool in tools.tools] == ["fine"]
    assert [skipped.reason for skipped in tools.skipped] == [
        "GET /a (operationId 'tripped'): cannot convert (LookupError)"
    ]


def test_a_failure_shared_by_the_whole_document_is_a_load_error() -> None:
    swagger = {
        "swagger": "2.0",
        "info": {"title": "Loop", "version": "1"},
        "paths": {"/health": {"get": {"responses": {"200": {"description": "ok"}}}}},
        "definitions": {"Node": self_containing_schema()},
    }

    with pytest.raises(SpecLoadError) as raised:
        build_tools(swagger)

    assert "RecursionError" in raised.value.reason


def test_an_unexpected_document_level_error_is_a_load_error_naming_its_type(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(raw: Any) -> tuple[str, ...]:
        raise KeyError("servers")

    monkeypatch.setattr(tools_module, "server_urls", broken)

    with pytest.raises(SpecLoadError, match=r"cannot convert the document \(KeyError\)"):
        build_tools(document({"/a": {"get": operation("a")}}))


def test_a_header_parameter_whose_name_cannot_be_sent_skips_the_operation() -> None:
    spec = document({"/a": {"get": operation("a", parameters=[{"name": "X Naïve", "in": "header", "schema": {}}])}})

    tools = build_tools(spec)

    assert tools.tools == ()
    assert "header parameter 'X Naïve' is not a valid HTTP header name" in tools.skipped[0].reason


# --- OpenAPI 3.1 boolean schemas --------------------------------------------------------------------------


def boolean_schema_document(version: str = "3.1.0", **fields: Any) -> dict[str, Any]:
    return {**document({"/things": {"post": operation("createThing", **fields)}}), "openapi": version}


def only_tool(spec: dict[str, Any]) -> ToolSpec:
    tools = build_tools(spec)
    assert tools.skipped == (), tools.skipped
    (tool,) = tools.tools
    return tool


@pytest.mark.parametrize("version", ["3.1.0", "3.0.3"])
def test_a_parameter_with_schema_true_accepts_any_value(version: str) -> None:
    spec = boolean_schema_document(
        version,
        parameters=[
            {"name": "anything", "in": "query", "schema": True},
            {"name": "described", "in": "query", "schema": True, "description": "Free form"},
            {"name": "filter", "in": "query", "content": {"application/json": {"schema": True}}},
        ],
    )

    assert only_tool(spec).input_schema["properties"] == {
        "anything": {},
        "described": {"description": "Free form"},
        "filter": {},
    }


def test_boolean_schemas_inside_a_body_are_kept() -> None:
    body_schema = {"type": "object", "properties": {"meta": True, "tags": {"type": "array", "items": True}}}
    spec = boolean_schema_document(requestBody={"content": {"application/json": {"schema": body_schema}}})

    properties = only_tool(spec).input_schema["properties"]

    assert properties == {"meta": {}, "tags": {"type": "array", "items": True}}


def test_a_body_with_schema_true_is_one_argument_of_any_value() -> None:
    spec = boolean_schema_document(requestBody={"content": {"application/json": {"schema": True}}})

    tool = only_tool(spec)

    assert tool.input_schema["properties"] == {"body": {}}
    assert tool.binding.body == BodyBinding("application/json", argument="body")


def test_a_reference_to_a_boolean_component_stays_a_reference() -> None:
    spec = {
        **boolean_schema_document(
            parameters=[{"name": "q", "in": "query", "schema": {"$ref": "#/components/schemas/Any"}}]
        ),
        "components": {"schemas": {"Any": True}},
    }

    schema = only_tool(spec).input_schema

    assert schema["properties"]["q"] == {"$ref": "#/$defs/Any"}
    assert schema["$defs"] == {"Any": True}


def test_optional_values_with_schema_false_are_left_out_of_the_tool() -> None:
    body_schema = {"type": "object", "properties": {"legacy": False, "name": {"type": "string"}}}
    spec = boolean_schema_document(
        parameters=[{"name": "retired", "in": "query", "schema": False}, {"name": "q", "in": "query", "schema": {}}],
        requestBody={"content": {"application/json": {"schema": body_schema}}},
    )

    tool = only_tool(spec)

    assert list(tool.input_schema["properties"]) == ["q", "name"]
    assert bound_argument_keys(tool) == ["q", "name"]


def test_an_optional_body_with_schema_false_is_never_sent() -> None:
    spec = boolean_schema_document(requestBody={"content": {"application/json": {"schema": False}}})

    tool = only_tool(spec)

    assert (tool.binding.body, tool.input_schema["properties"]) == (None, {})


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {"parameters": [{"name": "q", "in": "query", "required": True, "schema": False}]},
            "parameter 'q' is required but its schema is false, so no value is valid",
        ),
        (
            {
                "parameters": [
                    {"name": "q", "in": "query", "required": True, "schema": {"$ref": "#/components/schemas/No"}}
                ]
            },
            "parameter 'q' is required but its schema is false, so no value is valid",
        ),
        (
            {"requestBody": {"required": True, "content": {"application/json": {"schema": False}}}},
            "requestBody is required but its schema is false, so no value is valid",
        ),
        (
            {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["a"],
                                "properties": {"a": False, "b": {}},
                            }
                        }
                    }
                }
            },
            "body property 'a' is required but its schema is false, so no value is valid",
        ),
    ],
    ids=["parameter", "referenced", "body", "body-property"],
)
def test_a_required_value_with_schema_false_skips_the_operation(fields: dict[str, Any], reason: str) -> None:
    spec = {**boolean_schema_document(**fields), "components": {"schemas": {"No": False}}}

    tools = build_tools(spec)

    assert tools.tools == ()
    assert [skipped.reason for skipped in tools.skipped] == [f"POST /things (operationId 'createThing'): {reason}"]


def test_a_json_object_that_is_not_openapi_is_refused_rather_than_read_as_an_empty_api() -> None:
    from mcp_gateway.openapi.loader import SpecLoadError

    with pytest.raises(SpecLoadError, match="neither an 'openapi' nor a 'swagger' field"):
        build_tools({"foo": 1})
