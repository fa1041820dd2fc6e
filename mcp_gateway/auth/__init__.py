"""Who may call the gateway and with which credentials the gateway calls upstreams.

Inbound: settings (the `access` section), keys (gateway keys), tokens (OAuth JWTs), middleware (authentication of
every HTTP path), principal (what a caller may see: the seam every front door asks), user_credentials (a caller's
own credential for one server). Outbound: outbound (static upstream credentials and redaction),
client_credentials (OAuth2 client-credentials tokens, cached and shared).
"""
