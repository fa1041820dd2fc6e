import gc
import sys

# No cyclic garbage collection while start-up builds its long-lived objects (the SDK's models, the app, the
# registry): it would only walk them again and again. mcp_gateway.cli resumes it (`collector_resumed`).
gc.disable()

from mcp_gateway.cli import main  # noqa: E402

sys.exit(main())
