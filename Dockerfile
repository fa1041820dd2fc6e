# mcp-gateway container image.
# Build: docker build -t mcp-gateway .   Run: see compose.yaml and README ("Run in production").
# Two stages: the first builds the wheel and installs it into a virtualenv; the final image gets only that
# virtualenv on a slim Python, runs as an unprivileged user and has no compiler, no build backend, no cache.

FROM python:3.12-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/mcp-gateway
COPY pyproject.toml README.md ./
COPY mcp_gateway ./mcp_gateway
RUN /opt/mcp-gateway/bin/pip install --no-cache-dir . \
    && /opt/mcp-gateway/bin/pip uninstall --yes pip

FROM python:3.12-slim-bookworm
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin gateway
COPY --from=build /opt/mcp-gateway /opt/mcp-gateway
ENV PATH=/opt/mcp-gateway/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MCP_GATEWAY_LOG_FORMAT=json
WORKDIR /etc/mcp-gateway
USER 10001:10001
EXPOSE 8765
# Liveness only: /health stays 200 while a SIGTERM drain finishes the calls in flight (/ready turns 503).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8765/health', timeout=2)"]
# Exec form: the gateway is PID 1 and receives SIGTERM itself, which starts its drain.
ENTRYPOINT ["mcp-gateway"]
CMD ["serve", "--config", "/etc/mcp-gateway/servers.json", "--host", "0.0.0.0", "--port", "8765"]
