"""The HTTP server under the app: waitress, with a channel that does not busy-poll.

A request's thread sends its own answer (waitress writes from the thread that produced the
bytes). While it does, it holds the channel's output lock, and after each `send` it must
take the interpreter lock back before it lets go. Stock waitress meanwhile reports the
channel writable to its main loop, which finds the output lock taken, polls again at once,
and does so dozens of times per request under load: each pass a full walk of every
connection, and a turn of the interpreter lock taken from the threads doing real work.
Measured on 2 CPUs with 32 connections of check-ins, the main loop spent 530 µs per request
so (100 µs without); the busy loop cost a third of the node's check-ins (docs/devices.md).

`AnswerChannel` is not writable to the main loop while a request's thread is inside
`write_soon`: that thread flushes what it wrote. Whatever it could not send (a slow
client) stays queued, and the main loop, woken as the thread leaves, sends it as before. When
the queue passes the high watermark the thread waits for the main loop to drain it: the
channel is writable to the main loop for that wait, as in stock waitress.

The channel relies on waitress 3's write path (`write_soon`, and the wait below the high
watermark in `_flush_outbufs_below_high_watermark`): pyproject.toml holds waitress below 4,
and tests/web/test_httpchannel.py checks both sides on real sockets.
"""

from __future__ import annotations

from typing import Any

from waitress import create_server
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer


class AnswerChannel(HTTPChannel):  # type: ignore[misc]
    """waitress's HTTP channel, left alone by the main loop while a thread sends on it."""

    _sending = False

    def write_soon(self, data: bytes) -> int:
        self._sending = True
        try:
            return int(super().write_soon(data))
        finally:
            self._sending = False
            if self.total_outbufs_len:
                # What the thread could not send is the main loop's again: wake it to see so
                # (it may have looked while the thread was sending).
                self.server.pull_trigger()

    def _flush_outbufs_below_high_watermark(self) -> None:
        # The thread may wait here for the main loop to send: the main loop must see the
        # channel writable meanwhile.
        sending, self._sending = self._sending, False
        try:
            super()._flush_outbufs_below_high_watermark()
        finally:
            self._sending = sending

    def writable(self) -> bool:
        return not self._sending and bool(super().writable())


def create_http_server(app: Any, **options: Any) -> BaseWSGIServer | MultiSocketServer:
    """waitress's create_server(app, **options), its connections served by AnswerChannel."""
    sockets: dict[int, Any] = {}
    server = create_server(app, map=sockets, **options)
    for dispatcher in sockets.values():
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = AnswerChannel
    return server
