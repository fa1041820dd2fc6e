"""The Redis seams' pure parts: what a Redis URL shows in logs and errors, and cache keys that hold no secret."""

from __future__ import annotations

import pytest

from mcp_gateway.cluster.redis_connection import RedisUrlError, connect, public_url
from mcp_gateway.cluster.tokens import token_key


def test_a_redis_urls_password_never_shows() -> None:
    assert public_url("rediss://user:s3cret-pass@redis.internal:6380/2") == "rediss://redis.internal:6380/2"
    with pytest.raises(RedisUrlError) as refused:
        connect("https://user:s3cret-pass@redis.internal/0")
    assert "s3cret-pass" not in str(refused.value)
    assert "redis://, rediss:// or unix://" in str(refused.value)


def test_a_token_cache_key_names_the_credential_without_its_secret() -> None:
    parts = ["https://login.example.com/token", "client", "the-client-secret-123", "read", "", "basic"]
    key = token_key(parts)
    assert "the-client-secret-123" not in key and len(key) == 64
    assert key == token_key(list(parts))
    assert key != token_key([*parts[:2], "another-secret", *parts[3:]])
