from mcp_gateway.auth.principal import UNRESTRICTED, Principal, bind_principal, principal_of


def test_unrestricted_without_authentication() -> None:
    assert principal_of({"type": "http"}) is UNRESTRICTED
    assert UNRESTRICTED.sees_tool("github", "repos_get") and UNRESTRICTED.admin


def test_bound_principal_is_found_in_scope() -> None:
    scope: dict[str, object] = {"type": "http"}
    reader = Principal("reader", servers=("github",), tools=("repos_*", "gateway/list_servers"))
    bind_principal(scope, reader)
    assert principal_of(scope) is reader


def test_tool_patterns_plain_and_server_scoped() -> None:
    reader = Principal("reader", servers=("github", "gateway"), tools=("repos_*", "gateway/list_servers"))
    assert reader.sees_tool("github", "repos_get")
    assert not reader.sees_tool("github", "issues_create")
    assert reader.sees_tool("gateway", "list_servers")
    assert not reader.sees_tool("gateway", "health")
    assert not reader.sees_server("petstore") and not reader.sees_tool("petstore", "repos_get")
