"""Stored responses through the official openai SDK: GET and DELETE, bound to the key that created them (another
key gets 404 and cannot continue them), `store: false`, a gateway restart between a response and its follow-up,
approvals the caller moves past; and requests the gateway refuses with a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest

from tests.e2e.chat.helpers import marker, mcp_tool
from tests.e2e.gateway_process import Gateway, McpUpstream, UpstreamAPI, running_gateway
from tests.e2e.provider_standin import ProviderStandIn
from tests.e2e.responses.conftest import ALICE_KEY, BOB_KEY, responses_config, sdk
from tests.e2e.responses.helpers import results_sent

pytestmark = pytest.mark.anyio


async def test_a_response_is_only_its_creators(gateway: Gateway, client: openai.AsyncOpenAI,
                                               stand_in: ProviderStandIn) -> None:
    model = stand_in.script([{"text": "Hello."}, {"text": "Again."}])
    response = await client.responses.create(model=f"openai/{model}", input="Hi.")
    async with sdk(gateway, BOB_KEY) as bob:
        with pytest.raises(openai.NotFoundError):
            await bob.responses.retrieve(response.id)
        with pytest.raises(openai.NotFoundError):
            await bob.responses.delete(response.id)
        with pytest.raises(openai.BadRequestError) as refused:
            await bob.responses.create(model=f"openai/{model}", input="And?", previous_response_id=response.id)
        assert refused.value.code == "previous_response_not_found"
    assert len(stand_in.received(model)) == 1  # bob's follow-up never reached the model
    assert (await client.responses.retrieve(response.id)).output_text == "Hello."
    await client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        await client.responses.delete(response.id)


async def test_store_false_keeps_nothing(client: openai.AsyncOpenAI, stand_in: ProviderStandIn) -> None:
    model = stand_in.script([{"text": "Not kept."}])
    response = await client.responses.create(model=f"anthropic/{model}", input="Hi.", store=False)
    assert response.output_text == "Not kept." and response.store is False
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(response.id)


async def test_a_follow_up_continues_the_whole_conversation(client: openai.AsyncOpenAI,
                                                            stand_in: ProviderStandIn) -> None:
    model = stand_in.script([{"calls": [{"tool": "add", "arguments": {"a": 3, "b": 4}}]}, {"text": "Seven."},
                             {"text": "You asked me to add."}])
    first = await client.responses.create(model=f"local/{model}", input="Add 3 and 4.", instructions="Be terse.",
                                          tools=[mcp_tool("/mcp/tools", ["add"])])
    second = await client.responses.create(model=f"local/{model}", input="What did I ask?",
                                           previous_response_id=first.id, instructions="Be kind.",
                                           tools=[mcp_tool("/mcp/tools", ["add"]), mcp_tool("/mcp/echo", ["getItem"])])
    assert second.output_text == "You asked me to add." and second.previous_response_id == first.id
    # Each server label's tools are listed once in a conversation: only the new one here.
    assert [entry.type for entry in second.output] == ["mcp_list_tools", "message"]
    assert second.output[0].server_label == "echo"
    messages = stand_in.received(model)[2]["body"]["messages"]
    # The instructions are this request's only; the conversation is the whole earlier one.
    assert [message["role"] for message in messages] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert messages[0]["content"] == "Be kind." and "7" in messages[3]["content"]


async def test_an_approval_request_the_caller_moves_past_is_declined(client: openai.AsyncOpenAI,
                                                                    stand_in: ProviderStandIn) -> None:
    model = stand_in.script([{"calls": [{"tool": "add", "arguments": {"a": 1, "b": 1}}]}, {"text": "Fine."}])
    tools = [mcp_tool("/mcp/tools", ["add"], approval="always")]
    first = await client.responses.create(model=f"openai/{model}", input="Add.", tools=tools)
    assert first.output[-1].type == "mcp_approval_request"
    with pytest.raises(openai.BadRequestError) as unknown:
        await client.responses.create(model=f"openai/{model}", previous_response_id=first.id, tools=tools,
                                      input=[{"type": "mcp_approval_response", "approval_request_id": "nope",
                                              "approve": True}])
    assert "nope" in unknown.value.message
    second = await client.responses.create(model=f"openai/{model}", previous_response_id=first.id, tools=tools,
                                           input="Never mind.")
    assert second.output_text == "Fine."
    sent = stand_in.received(model)[1]["body"]["input"]
    declined = [item for item in sent if item.get("type") == "function_call_output"]
    assert len(declined) == 1 and "denied" in declined[0]["output"]
    assert sent[-1] == {"role": "user", "content": "Never mind."}


async def test_an_mcp_tools_authorization_header_is_the_callers_credential(
    client: openai.AsyncOpenAI, stand_in: ProviderStandIn, upstream_api: UpstreamAPI,
) -> None:
    token, request_id = marker(), marker()
    model = stand_in.script([{"calls": [{"tool": "whoAmI", "arguments": {"X-Request-Id": request_id}}]},
                             {"text": "Done."}])
    tools = [{**mcp_tool("/mcp/me", ["whoAmI"]), "headers": {"Authorization": f"Bearer {token}"}}]
    response = await client.responses.create(model=f"gemini/{model}", input="Who am I?", tools=tools)
    assert response.output[1].type == "mcp_call" and response.output[1].error is None
    received = [entry for entry in upstream_api.received_requests()
                if entry["headers"].get("x-request-id") == request_id]
    assert [entry["headers"].get("authorization") for entry in received] == [f"Bearer {token}"]
    assert token not in json.dumps(stand_in.received(model))  # the model never sees it
    # Nor is it repeated in the response, or kept with it.
    assert token not in response.model_dump_json()
    assert token not in (await client.responses.retrieve(response.id)).model_dump_json()
    with pytest.raises(openai.BadRequestError) as refused:
        await client.responses.create(model=f"gemini/{model}", input="x",
                                      tools=[{**tools[0], "headers": {"X-Api-Key": "k"}}])
    assert "X-Api-Key" in refused.value.message


@pytest.mark.parametrize(("request_fields", "fragment"), [
    ({"model": "openai/x", "input": [{"type": "reasoning", "summary": []}]}, "'reasoning' are not supported"),
    ({"model": "openai/x", "input": 7}, "input must be a string or an array"),
    ({"model": "anthropic/x", "input": "hi", "truncation": "auto"}, "truncation: not supported"),
    ({"model": "openai/x", "input": "hi", "previous_response_id": "resp_missing"}, "resp_missing"),
    ({"model": "openai/x", "input": "hi", "tools": [{"type": "mcp", "server_label": "x",
                                                      "server_url": "https://example.com/mcp"}]}, "not this gateway"),
    ({"model": "nobody/x", "input": "hi"}, "unknown provider"),
    ({"model": "openai/x", "input": "hi", "background": True}, "background responses are not supported"),
])
async def test_bad_requests_get_a_clear_error(client: openai.AsyncOpenAI, request_fields: dict[str, object],
                                              fragment: str) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await client.responses.create(**request_fields)
    assert fragment in refused.value.message


async def test_a_stored_response_survives_a_gateway_restart(
    upstream_api: UpstreamAPI, mcp_http_upstream: McpUpstream, stand_in: ProviderStandIn, tmp_path: Path,
    e2e_log_dir: Path,
) -> None:
    config = responses_config(tmp_path, upstream_api, mcp_http_upstream, stand_in)
    env = {"ALICE_KEY": ALICE_KEY, "BOB_KEY": BOB_KEY}
    arguments = ["--retry-interval", "0", "--responses-db", str(tmp_path / "kept" / "responses.sqlite3")]
    model = stand_in.script([{"calls": [{"tool": "add", "arguments": {"a": 20, "b": 22}}]},
                             {"calls": [{"tool": "echo", "arguments": {"text": "after restart"}}]},
                             {"quote_results": True}])
    tools = [mcp_tool("/mcp/tools", ["add", "echo"], approval={"never": {"tool_names": ["echo"]}})]
    with running_gateway(config, e2e_log_dir, env=env, extra_args=arguments) as before:
        async with sdk(before) as alice:
            first = await alice.responses.create(model=f"openai/{model}", input="Add.", tools=tools)
    request = first.output[-1]
    assert request.type == "mcp_approval_request"
    with running_gateway(config, e2e_log_dir, env=env, extra_args=arguments) as after:
        async with sdk(after) as alice:
            assert [entry.id for entry in (await alice.responses.retrieve(first.id)).output] == [
                entry.id for entry in first.output]
            second = await alice.responses.create(
                model=f"openai/{model}", previous_response_id=first.id, tools=tools,
                input=[{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}],
            )
    assert [entry.type for entry in second.output] == ["mcp_call", "mcp_call", "message"]
    assert "42" in (second.output[0].output or "") and "after restart" in second.output_text
    assert any("42" in text for text in results_sent("openai", stand_in.received(model)[1]["body"]))


async def test_a_failing_store_still_answers_and_says_what_failed(
    upstream_api: UpstreamAPI, mcp_http_upstream: McpUpstream, stand_in: ProviderStandIn, tmp_path: Path,
    e2e_log_dir: Path,
) -> None:
    config = responses_config(tmp_path, upstream_api, mcp_http_upstream, stand_in)
    unusable = ["--retry-interval", "0", "--responses-db", str(tmp_path)]  # a directory: no database opens there
    model = stand_in.script([{"text": "Answered anyway."}])
    with running_gateway(config, e2e_log_dir, env={"ALICE_KEY": ALICE_KEY, "BOB_KEY": BOB_KEY},
                         extra_args=unusable) as gateway:
        async with sdk(gateway) as alice:
            response = await alice.responses.create(model=f"openai/{model}", input="Hi.")
            assert response.output_text == "Answered anyway."
            with pytest.raises(openai.InternalServerError) as unavailable:
                await alice.responses.retrieve(response.id)
    assert unavailable.value.status_code == 503 and unavailable.value.code == "store_unavailable"
    assert "could not be stored" in gateway.log()
