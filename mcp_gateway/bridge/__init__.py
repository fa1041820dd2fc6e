"""Registry tools as LLM provider tool schemas, and provider tool calls mapped back."""
