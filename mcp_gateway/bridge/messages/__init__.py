"""An OpenAI Chat Completions conversation in each provider's wire shape, and provider responses back.

One module per wire protocol. Each has `convert_messages(messages, name_map)`, returning a small result
whose `request_fields()` are the body fields to send, and `assistant_message(response, name_map)`, turning
the provider's non-streaming response into an OpenAI assistant message with the caller's tool names.
Historical tool calls are forward-mapped to provider-safe names; the caller's messages are never mutated.
"""

from mcp_gateway.bridge.messages.anthropic import AnthropicMessages
from mcp_gateway.bridge.messages.bedrock import BedrockMessages
from mcp_gateway.bridge.messages.cohere import CohereMessages
from mcp_gateway.bridge.messages.common import EMPTY_RESULT_TEXT, MessageConversionError
from mcp_gateway.bridge.messages.gemini import GeminiContents
from mcp_gateway.bridge.messages.mistral import MistralMessages, ToolCallIds
from mcp_gateway.bridge.messages.openai import OpenAIMessages
from mcp_gateway.bridge.messages.responses import ResponsesInput

__all__ = [
    "EMPTY_RESULT_TEXT",
    "AnthropicMessages",
    "BedrockMessages",
    "CohereMessages",
    "GeminiContents",
    "MessageConversionError",
    "MistralMessages",
    "OpenAIMessages",
    "ResponsesInput",
    "ToolCallIds",
]
