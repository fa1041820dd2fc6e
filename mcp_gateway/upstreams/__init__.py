"""Where tools come from: OpenAPI specs and upstream MCP servers."""
