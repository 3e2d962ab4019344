"""The HTTP server's channel (satellite.web.httpchannel) on real sockets and a real waitress."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from waitress import wasyncore
from waitress.channel import HTTPChannel

from satellite.web.httpchannel import AnswerChannel, create_http_server

CHUNK = b"x" * 65536


def _chunks(count: int) -> Any:
    def app(_environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(CHUNK) * count))])
        return (CHUNK for _ in range(count))

    return app


@contextmanager
def _server(app: Any, send_buffer: int | None = None, poll_timeout: float = 0.05,
            **options: Any) -> Iterator[tuple[int, threading.Thread]]:
    """The app served on a free loopback port by a main loop in a thread of its own
    (connections with a send buffer of `send_buffer` bytes, if given; the loop waits at most
    `poll_timeout` seconds for an event before it looks at its connections again)."""
    server: Any = create_http_server(app, host="127.0.0.1", port=0, threads=2, **options)
    if send_buffer:
        server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            wasyncore.loop(timeout=poll_timeout, map=server._map, count=1)

    thread = threading.Thread(target=loop, name="main-loop", daemon=True)
    thread.start()
    try:
        yield int(server.effective_port), thread
    finally:
        # The trigger is closed only once the loop has stopped: waking a loop that already
        # closed it would write to a closed descriptor.
        stop.set()
        server.pull_trigger()
        thread.join(10)
        server.task_dispatcher.shutdown(timeout=5)
        wasyncore.close_all(server._map)


def _request(sock: socket.socket, port: int, receive_buffer: int | None) -> None:
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")


def _get(port: int, receive_buffer: int | None = None, pause: float = 0.0) -> bytes:
    """The body of GET / read off a raw socket (after `pause` seconds of not reading)."""
    with socket.socket() as sock:
        _request(sock, port, receive_buffer)
        time.sleep(pause)
        received = bytearray()
        while data := sock.recv(1 << 16):
            received += data
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return body


def test_the_main_loop_leaves_a_channel_alone_while_its_request_thread_sends(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, bool]] = []

    def send(self: AnswerChannel, data: bytes, do_close: bool = True) -> int:
        seen.append((threading.current_thread().name, self.writable()))
        return int(HTTPChannel.send(self, data, do_close=do_close))

    monkeypatch.setattr(AnswerChannel, "send", send)
    with _server(_chunks(3)) as (port, _loop):
        assert _get(port) == CHUNK * 3
    from_request_threads = [writable for thread, writable in seen if thread != "main-loop"]
    # The request's thread sent its answer itself, and the main loop was not polling the
    # socket for writing meanwhile (stock waitress reports it writable: a busy loop).
    assert from_request_threads
    assert not any(from_request_threads)


def test_a_large_answer_to_a_slow_reader_arrives_whole() -> None:
    # Past the high watermark the request's thread waits for the main loop to drain its
    # queue: the channel must be writable to the main loop then, or both wait forever.
    with _server(_chunks(40), send_buffer=4096,
                 outbuf_high_watermark=len(CHUNK)) as (port, _loop):
        assert _get(port, receive_buffer=4096, pause=0.5) == CHUNK * 40


def test_what_a_thread_could_not_send_goes_out_while_the_app_works_on() -> None:
    # The request's thread sends what the client can take and leaves the rest queued; the
    # main loop must then send it, though the channel was not writable to it while the thread
    # was sending (with a minute between its looks, it must be woken to look again).
    delivered = threading.Event()
    first = CHUNK * 16

    def app(_environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Length", str(len(first) + len(CHUNK)))])
        yield first
        delivered.wait(30)  # the app works on until the client has the first part
        yield CHUNK

    with _server(app, send_buffer=4096, poll_timeout=60) as (port, _loop), \
            socket.socket() as sock:
        _request(sock, port, receive_buffer=4096)
        time.sleep(0.3)  # the thread's send stops short: the client is not reading yet
        received = bytearray()
        while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < len(first):
            data = sock.recv(1 << 16)
            assert data, "the connection closed early"
            received += data
        delivered.set()
        while data := sock.recv(1 << 16):
            received += data
    assert received.partition(b"\r\n\r\n")[2] == first + CHUNK


def test_every_listening_socket_serves_with_the_channel() -> None:
    server: Any = create_http_server(_chunks(1), listen="127.0.0.1:0 127.0.0.1:0", threads=1)
    try:
        listeners = [d for d in server.map.values() if hasattr(d, "channel_class")]
        assert len(listeners) == 2
        assert all(d.channel_class is AnswerChannel for d in listeners)
    finally:
        server.close()
