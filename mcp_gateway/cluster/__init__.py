"""State that replicas share, behind small seams: each has an in-process default (one gateway, no Redis) and a
Redis implementation that `--redis-url` switches on.

- tokens.py (redis_tokens.py): OAuth2 client-credentials access tokens, so one fetch serves every replica;
- changes.py: list-changed events, so a change one replica sees reaches the clients of every replica.
"""
