"""Real HTTP and HTTPS servers on 127.0.0.1 for the avatar tests, with a self-signed certificate.

`LoopbackImageServer` answers a few fixed routes (an image, a page, a fake image, redirects, a
huge streamed body, a gzip body) and logs every request it receives with its Host header, so a
test can prove that a refused URL was never fetched. The certificate is made with
`cryptography` for `127.0.0.1` and `localhost`; `client_context()` trusts it.
"""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HUGE_BYTES = 64 * 1024 * 1024
CHUNK = 64 * 1024


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1 and localhost; returns their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)  # clock-ok: a certificate valid now
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = folder / "cert.pem"
    key_path = folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    """What the server saw: one (host header, path) per request, and bytes of the huge body."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    huge_bytes_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        received = self.server.received
        with received.lock:
            received.requests.append((self.headers.get("Host", ""), self.path))
        route = getattr(self, "route_" + self.path.strip("/").replace("-", "_").replace(".", "_"))
        route()

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route_a_png(self) -> None:
        self._send(200, PNG, {"Content-Type": "image/png"})

    def route_page_html(self) -> None:
        self._send(200, b"<html></html>", {"Content-Type": "text/html"})

    def route_fake_png(self) -> None:
        self._send(200, b"<svg onload=alert(1)>", {"Content-Type": "image/png"})

    def route_declared_big_png(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(HUGE_BYTES))
        self.end_headers()
        self.wfile.write(PNG)  # then stops: the client must not wait for the rest

    def route_gzip_png(self) -> None:
        self._send(
            200, gzip.compress(PNG), {"Content-Type": "image/png", "Content-Encoding": "gzip"}
        )

    def route_huge_png(self) -> None:
        """A body far over the cap with no length given, sent until the client hangs up."""
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = PNG + b"\x00" * (CHUNK - len(PNG))
        try:
            for _ in range(HUGE_BYTES // CHUNK):
                self.wfile.write(chunk)
                with self.server.received.lock:
                    self.server.received.huge_bytes_sent += len(chunk)
        except OSError:
            return  # the client hung up, as it should

    def route_redirect_same(self) -> None:
        self._send(302, b"", {"Location": "/a.png"})

    def route_redirect_other_host(self) -> None:
        # Another host name for this very server: a fetch of it would show in the log.
        self._send(
            302, b"", {"Location": f"{self.server.scheme}://localhost:{self.server.port}/a.png"}
        )

    def route_redirect_http(self) -> None:
        self._send(302, b"", {"Location": f"http://127.0.0.1:{self.server.port}/a.png"})

    def route_redirect_loop(self) -> None:
        self._send(302, b"", {"Location": "/redirect-loop"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    received: Received
    scheme: str
    port: int


class LoopbackImageServer:
    """One server on 127.0.0.1 (https when given a certificate), in a thread."""

    def __init__(self, certificate: tuple[Path, Path] | None = None) -> None:
        self.received = Received()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.received = self.received
        self._server.port = self._server.server_address[1]
        self._server.scheme = "https" if certificate else "http"
        if certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        """The server's URL without a path."""
        return f"{self._server.scheme}://127.0.0.1:{self._server.port}"

    @property
    def port(self) -> int:
        return self._server.port

    def paths(self) -> list[str]:
        """The paths requested so far."""
        with self.received.lock:
            return [path for _host, path in self.received.requests]

    def hosts(self) -> list[str]:
        """The Host headers of the requests so far."""
        with self.received.lock:
            return [host for host, _path in self.received.requests]

    def start(self) -> LoopbackImageServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def client_context(cert_path: Path) -> ssl.SSLContext:
    """A TLS client context that trusts the test certificate alone."""
    return ssl.create_default_context(cafile=str(cert_path))
