import os
from collections.abc import Iterator

import pytest

from mcp_gateway.openapi.conversion_cache import CACHE_DIR_VARIABLE


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True, scope="session")
def _conversion_cache_of_this_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Gateways started by the tests keep converted specs in a directory of this run, never the user's cache;
    within the run, a spec converted once is served from it (as for a user restarting the gateway)."""
    previous = os.environ.get(CACHE_DIR_VARIABLE)
    os.environ[CACHE_DIR_VARIABLE] = str(tmp_path_factory.mktemp("conversion-cache"))
    yield
    if previous is None:
        os.environ.pop(CACHE_DIR_VARIABLE, None)
    else:
        os.environ[CACHE_DIR_VARIABLE] = previous
