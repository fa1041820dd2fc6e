"""mcp_gateway: OpenAPI specs and MCP servers as one registry of tools, over MCP and for LLM providers."""

__version__ = "0.1.0"
