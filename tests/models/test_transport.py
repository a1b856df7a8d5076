"""The HTTP client under the openai client: a plain-http endpoint loads no certificates (TLS is built, verified
as always, only when a request goes to https), an https endpoint keeps the SDK's default client, proxies
set in the environment still apply, and building a client does not import trio."""

from __future__ import annotations

import asyncio
import datetime
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentcli.errors import ModelError
from agentcli.models.base import ModelCompleted, ModelRequest
from agentcli.models.client import make_client
from agentcli.models.factory import make_model
from agentcli.models.transport import http_client
from agentcli.sim.http import HttpServer, Request, Responder
from agentcli.spec.model import Provider
from tests.conftest import ROOT

from .conftest import agent, collect, sim_model, with_sim

REQUEST = ModelRequest(model="m", instructions="", items=[{"type": "message", "role": "user", "content": "hi"}])
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def certificate_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every loading of trusted certificates into an SSL context, by method name."""
    calls: list[str] = []
    for name in ("load_verify_locations", "load_default_certs", "set_default_verify_paths"):
        original = getattr(ssl.SSLContext, name)

        def spy(self: ssl.SSLContext, *args: Any, _name: str = name, _original: Any = original, **kw: Any) -> Any:
            calls.append(_name)
            return _original(self, *args, **kw)

        monkeypatch.setattr(ssl.SSLContext, name, spy)
    return calls


def _transport(client: Any) -> Any:
    return client._client._transport  # the openai client's httpx client's transport


def test_a_plain_http_endpoint_loads_no_certificates_and_still_answers(no_proxies: None,
                                                                       certificate_loads: list[str]) -> None:
    async def body(sim: Any) -> list[Any]:
        model = sim_model(sim)
        events = await collect(model, REQUEST)
        assert type(_transport(model.client)).__name__ == "PlainFirstTransport"
        assert _transport(model.client)._tls is None  # no https request yet: no TLS transport
        return events

    events = with_sim(None, body)
    assert isinstance(events[-1], ModelCompleted)
    assert certificate_loads == []


def test_an_https_endpoint_keeps_the_default_client(no_proxies: None) -> None:
    async def main() -> None:
        client = make_client(Provider(base_url="https://example.invalid/v1"), api_key="k")
        transport = _transport(client)
        assert type(transport).__name__ == "AsyncHTTPTransport"
        context = transport._pool._ssl_context
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname

    asyncio.run(main())


def test_a_proxy_in_the_environment_keeps_the_default_client(monkeypatch: pytest.MonkeyPatch) -> None:
    import openai

    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    client = http_client(openai, "http://127.0.0.1:8/v1", {})
    assert type(client._transport).__name__ == "AsyncHTTPTransport"
    assert any(t is not None for t in client._mounts.values())  # the proxy is mounted as before


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


def test_a_redirect_to_https_is_verified_as_always(no_proxies: None, tmp_path: Path) -> None:
    """A plain endpoint redirecting to an https server with an untrusted certificate: the request is refused
    at the handshake, so the https server never reads it."""
    server_tls = _self_signed(tmp_path)
    got: list[bytes] = []

    async def tls_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            got.append(await reader.read(100))
        except (ssl.SSLError, ConnectionError):
            pass
        writer.close()

    async def main() -> str:
        tls = await asyncio.start_server(tls_handler, "127.0.0.1", 0, ssl=server_tls)
        target = f"https://127.0.0.1:{tls.sockets[0].getsockname()[1]}/v1/responses"

        async def redirect(request: Request, responder: Responder) -> None:
            await responder.send(307, b"", "text/plain", {"location": target})

        plain = HttpServer(redirect, "127.0.0.1", 0)
        await plain.start()
        try:
            model = make_model(agent("responses"), base_url=f"http://127.0.0.1:{plain.port}/v1")
            with pytest.raises(ModelError) as info:
                await collect(model, REQUEST)
            assert _transport(model.client)._tls is not None  # built for the https request
            return str(info.value)
        finally:
            await plain.stop()
            tls.close()

    message = asyncio.run(main())
    assert "redirected to https://127.0.0.1" in message and "certificate not trusted" in message, message
    assert not any(got), got  # the handshake failed: no request reached the untrusted server


def test_building_a_client_does_not_import_trio() -> None:
    import importlib.util

    code = ("import sys, asyncio; from agentcli.models.client import make_client; "
            "from agentcli.spec.model import Provider\n"
            "async def main():\n"
            "    make_client(Provider(base_url='http://127.0.0.1:9/v1'))\n"
            "    make_client(Provider(base_url='https://example.invalid/v1'), api_key='k')\n"
            "asyncio.run(main())\n"
            "print('trio' in sys.modules)\n"
            "try:\n    import trio\nexcept ImportError:\n    print('unimportable')\nelse:\n    print('importable')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    loaded, afterwards = out.stdout.split()
    assert loaded == "False"  # the HTTP core did not pull it in
    installed = importlib.util.find_spec("trio") is not None
    assert afterwards == ("importable" if installed else "unimportable")  # and it is not hidden afterwards
