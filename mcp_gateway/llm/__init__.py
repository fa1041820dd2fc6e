"""The LLM front door's engine: provider clients, model configuration, MCP tool expansion and the tool loop."""
