"""Raw HTTP clients for the host-edge tests: bytes on the wire exactly as a hostile client sends
them (http.client refuses most of them), over HTTP/1.1 and h2c (HTTP/2 with prior knowledge,
driven by the `h2` package with its outbound header checks off).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Sequence

import h2.config
import h2.connection
import h2.events

Header = tuple[bytes, bytes]


@dataclass
class RawResponse:
    status: int
    headers: list[Header] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: bytes) -> bytes | None:
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def __repr__(self) -> str:
        return f"<RawResponse {self.status} {self.headers!r} {self.body[:300]!r}>"


def _read_http1(sock: socket.socket) -> RawResponse:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not lines or not lines[0].startswith(b"HTTP/1."):
        return RawResponse(status=0, body=data)
    status = int(lines[0].split(b" ")[1])
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers.append((k.strip().lower(), v.strip()))
    length = next((int(v) for k, v in headers if k == b"content-length"), None)
    body = rest
    if length is not None:
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        body = body[:length]
    return RawResponse(status, headers, body)


def http1(
    port: int,
    method: bytes,
    path: bytes,
    headers: Sequence[Header] = (),
    body: bytes | None = None,
    *,
    chunks: Sequence[bytes] | None = None,
    trailers: Sequence[Header] = (),
    timeout: float = 10.0,
) -> RawResponse:
    """One HTTP/1.1 request on a fresh connection (`Connection: close`), bytes as given. With
    `chunks` the body is sent chunked, followed by `trailers`."""
    lines = [method + b" " + path + b" HTTP/1.1", b"host: 127.0.0.1", b"connection: close"]
    lines += [k + b": " + v for k, v in headers]
    if chunks is not None:
        lines.append(b"transfer-encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c)
        payload += b"0\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in trailers) + b"\r\n"
    else:
        body = body or b""
        if body or method in (b"POST", b"PUT", b"PATCH"):
            lines.append(b"content-length: %d" % len(body))
        payload = body
    raw = b"\r\n".join(lines) + b"\r\n\r\n" + payload
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        try:
            return _read_http1(sock)
        except (ConnectionResetError, socket.timeout):
            return RawResponse(status=0)


def h2c(
    port: int,
    method: bytes,
    path: bytes,
    headers: Sequence[Header] = (),
    body: bytes | None = None,
    *,
    trailers: Sequence[Header] = (),
    timeout: float = 10.0,
) -> RawResponse:
    """One HTTP/2 request over cleartext with prior knowledge: headers, the body as one DATA
    frame, and `trailers` as a final HEADERS frame when given."""
    config = h2.config.H2Configuration(
        client_side=True, header_encoding=None, validate_outbound_headers=False,
        normalize_outbound_headers=False, validate_inbound_headers=False,
    )
    conn = h2.connection.H2Connection(config=config)
    response = RawResponse(status=0)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            _h2_exchange(conn, sock, method, path, headers, body, trailers, response)
    except (ConnectionResetError, BrokenPipeError):
        pass  # the peer's codec refused the request (status stays 0)
    return response


def _h2_exchange(conn, sock, method, path, headers, body, trailers, response: RawResponse) -> None:
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    stream = conn.get_next_available_stream_id()
    request = [(b":method", method), (b":path", path), (b":scheme", b"http"), (b":authority", b"127.0.0.1")]
    ends_here = not body and not trailers
    conn.send_headers(stream, request + list(headers), end_stream=ends_here)
    if body:
        conn.send_data(stream, body, end_stream=not trailers)
    if trailers:
        conn.send_headers(stream, list(trailers), end_stream=True)
    sock.sendall(conn.data_to_send())
    done = False
    while not done:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream:
                for k, v in event.headers:
                    if k == b":status":
                        response.status = int(v)
                    else:
                        response.headers.append((k, v))
            elif isinstance(event, h2.events.DataReceived) and event.stream_id == stream:
                response.body += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, stream)
            elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)) and event.stream_id == stream:
                done = True
            elif isinstance(event, h2.events.ConnectionTerminated):
                done = True
        sock.sendall(conn.data_to_send())
