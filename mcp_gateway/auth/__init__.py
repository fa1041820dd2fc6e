"""Inbound access: who is calling the gateway, and what they may see."""
