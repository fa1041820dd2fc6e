"""TLS to an upstream verifies the same way on both wires: against the system's CA store (httpx2's default
context, without SSL_CERT_* from the environment), with the host name checked. The server is a loopback TLS
listener with a certificate made here for "localhost"; the system's default verify paths are pointed at it for
the tests where it should be trusted."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import anyio.abc
import pytest
from anyio.streams.tls import TLSListener
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mcp_gateway import http
from mcp_gateway.http import httpx, new_client

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True, params=["aiohttp", "httpcore"])
def wire(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(http, "DEFAULT_WIRE", request.param)
    return str(request.param)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for "localhost" (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    public_key = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def trust(monkeypatch: pytest.MonkeyPatch, cert_file: Path) -> None:
    """Make `cert_file` the system's CA store, as far as a client's default SSL context can tell."""
    real = ssl.get_default_verify_paths()
    paths = ssl.DefaultVerifyPaths(
        str(cert_file), "/nonexistent", real.openssl_cafile_env, str(cert_file), real.openssl_capath_env, "/nonexistent"
    )
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: paths)


@asynccontextmanager
async def tls_server(certificate: tuple[Path, Path]) -> AsyncIterator[int]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)

    async def answer(stream: anyio.abc.ByteStream) -> None:
        async with stream:
            buffer = b""
            try:
                while b"\r\n\r\n" not in buffer:
                    buffer += await stream.receive()
                await stream.send(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret")
            except (anyio.EndOfStream, anyio.BrokenResourceError, ssl.SSLError, OSError):
                return  # a client that refused the certificate

    listener = TLSListener(await anyio.create_tcp_listener(local_host="127.0.0.1"), context)
    port = listener.listener.extra(anyio.abc.SocketAttribute.local_port)
    async with anyio.create_task_group() as group:
        group.start_soon(listener.serve, answer)
        yield port
        group.cancel_scope.cancel()


async def test_a_certificate_the_ca_store_trusts_is_accepted(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    trust(monkeypatch, certificate[0])
    async with tls_server(certificate) as port, new_client(timeout=10.0) as client:
        response = await client.get(f"https://localhost:{port}/")
    assert response.text == "secret"


async def test_an_unknown_certificate_is_refused(certificate: tuple[Path, Path]) -> None:
    async with tls_server(certificate) as port, new_client(timeout=10.0) as client:
        with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            await client.get(f"https://localhost:{port}/")


async def test_the_environment_does_not_add_trust(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    async with tls_server(certificate) as port, new_client(timeout=10.0) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"https://localhost:{port}/")


async def test_a_certificate_for_another_host_name_is_refused(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    trust(monkeypatch, certificate[0])
    async with tls_server(certificate) as port, new_client(timeout=10.0) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"https://127.0.0.1:{port}/")  # the certificate names localhost only
