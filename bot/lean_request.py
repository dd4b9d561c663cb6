"""A lean HTTP/1.1 client for the Bot API: PTB's ``BaseRequest`` over asyncio streams and h11.

PTB's default ``HTTPXRequest`` goes through httpx, httpcore and anyio for every call: about a
millisecond of CPU per request, as much as the rest of a send. At paid-broadcast rates (hundreds
of messages a second across a few processes) that was the largest cost of a replica. This class
keeps a pool of keep-alive connections and speaks HTTP/1.1 with h11 directly.

What PTB expects of a request class is kept: ``do_request`` returns the status and the body and
``BaseRequest`` turns them into results and errors (so a 429's ``RetryAfter``, a ``ChatMigrated``
and every other error are parsed by PTB's own code); a timeout raises ``TimedOut``, a refused or
dropped connection ``NetworkError``, and a connection is never reused after either. Requests
with files (uploads) go through a normal ``HTTPXRequest``. Bodies are form-encoded as
``HTTPXRequest`` sends them. A connection the server closed while it was idle in the pool is
noticed before reuse and dropped, so no request is sent twice by this class.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import h11
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

_CHUNK: Final = 65536
_POOL_TIMEOUT_MESSAGE: Final = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* sent "
    "to Telegram. Consider adjusting the connection pool size or the pool timeout."
)


@dataclass(frozen=True, slots=True)
class _Origin:
    scheme: str
    host: str
    port: int


@dataclass(slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    http: h11.Connection

    def reusable(self) -> bool:
        """Idle, open, and the server has not closed it meanwhile."""
        return (
            self.http.our_state is h11.IDLE
            and not self.writer.is_closing()
            and not self.reader.at_eof()
        )

    def close(self) -> None:
        self.writer.close()


def _seconds(value: object, default: float | None) -> float | None:
    """A timeout argument: PTB's DEFAULT_NONE means this request's default."""
    if value is BaseRequest.DEFAULT_NONE:
        return default
    return value  # type: ignore[return-value]


class LeanRequest(BaseRequest):
    """A ``telegram.request.BaseRequest`` for ``ApplicationBuilder.request``; see the module.

    At most ``connection_pool_size`` requests are under way at once; a request that waits
    longer than ``pool_timeout`` for a connection raises ``TimedOut`` without being sent.
    """

    __slots__ = (
        "_connect_timeout",
        "_idle",
        "_pool_timeout",
        "_read_timeout",
        "_slots",
        "_ssl",
        "_uploads",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._slots = asyncio.Semaphore(connection_pool_size)
        self._idle: dict[_Origin, deque[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None
        self._uploads = HTTPXRequest(
            connection_pool_size=min(8, connection_pool_size),
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            media_write_timeout=media_write_timeout,
        )

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        await self._uploads.initialize()

    async def shutdown(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        await self._uploads.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,  # PTB's ODVInput[float]
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is not None and request_data.contains_files:
            return await self._uploads.do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout,  # type: ignore[arg-type]
                pool_timeout,  # type: ignore[arg-type]
            )  # fmt: skip
        body = request_data.url_encoded_parameters().encode() if request_data else b""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NetworkError(f"LeanRequest cannot request {parts.scheme or 'this'} URLs")
        origin = _Origin(
            parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        )
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            async with asyncio.timeout(_seconds(pool_timeout, self._pool_timeout)):
                await self._slots.acquire()
        except TimeoutError:
            raise TimedOut(_POOL_TIMEOUT_MESSAGE) from None
        try:
            return await self._exchange(
                origin,
                self._request(origin, method, target, body),
                body,
                _seconds(connect_timeout, self._connect_timeout),
                _seconds(write_timeout, self._write_timeout),
                _seconds(read_timeout, self._read_timeout),
            )
        finally:
            self._slots.release()

    def _request(self, origin: _Origin, method: str, target: str, body: bytes) -> h11.Request:
        default_port = 443 if origin.scheme == "https" else 80
        host = origin.host if origin.port == default_port else f"{origin.host}:{origin.port}"
        headers = [("Host", host), ("User-Agent", self.USER_AGENT), ("Accept", "*/*")]
        if method != "GET" or body:
            headers += [
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Content-Length", str(len(body))),
            ]
        return h11.Request(method=method, target=target.encode(), headers=headers)

    async def _exchange(
        self,
        origin: _Origin,
        request: h11.Request,
        body: bytes,
        connect_timeout: float | None,
        write_timeout: float | None,
        read_timeout: float | None,
    ) -> tuple[int, bytes]:
        connection = await self._connection(origin, connect_timeout)
        done = False
        try:
            try:
                async with asyncio.timeout(write_timeout):
                    data = connection.http.send(request) or b""
                    if body:
                        data += connection.http.send(h11.Data(data=body)) or b""
                    data += connection.http.send(h11.EndOfMessage()) or b""
                    connection.writer.write(data)
                    await connection.writer.drain()
            except TimeoutError:
                raise TimedOut("Timed out while sending the request") from None
            try:
                async with asyncio.timeout(read_timeout):
                    status, payload = await _read_response(connection)
            except TimeoutError:
                raise TimedOut("Timed out waiting for the response") from None
            done = True
        except (OSError, h11.ProtocolError, asyncio.IncompleteReadError) as exc:
            raise NetworkError(f"LeanRequest: {type(exc).__name__}: {exc}") from exc
        finally:
            self._give_back(origin, connection, reuse=done)
        return status, payload

    async def _connection(self, origin: _Origin, connect_timeout: float | None) -> _Connection:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.reusable():
                return connection
            connection.close()
        context = self._ssl_context() if origin.scheme == "https" else None
        try:
            async with asyncio.timeout(connect_timeout):
                reader, writer = await asyncio.open_connection(
                    origin.host, origin.port, ssl=context, limit=_CHUNK
                )
        except TimeoutError:
            raise TimedOut("Timed out while connecting") from None
        except OSError as exc:
            raise NetworkError(f"LeanRequest: cannot connect: {exc}") from exc
        return _Connection(reader, writer, h11.Connection(h11.CLIENT))

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    def _give_back(self, origin: _Origin, connection: _Connection, *, reuse: bool) -> None:
        http = connection.http
        if reuse and http.our_state is h11.DONE and http.their_state is h11.DONE:
            with contextlib.suppress(h11.ProtocolError):
                http.start_next_cycle()
        if reuse and connection.reusable():
            self._idle.setdefault(origin, deque()).append(connection)
        else:
            connection.close()  # after a timeout or an error its state is unknown


async def _read_response(connection: _Connection) -> tuple[int, bytes]:
    """Read one whole response: its status and body."""
    http = connection.http
    status = 0
    body = bytearray()
    while True:
        event = http.next_event()
        if event is h11.NEED_DATA:
            # b"" is the end of the stream: h11 ends a body without a length there, or says
            # the server hung up (ConnectionClosed, or a ProtocolError mid-response).
            http.receive_data(await connection.reader.read(_CHUNK))
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.InformationalResponse):
            continue
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return status, bytes(body)
        elif isinstance(event, h11.ConnectionClosed):
            raise NetworkError("LeanRequest: the server closed the connection mid-response")
        else:  # h11.PAUSED: cannot happen before the response ended
            raise NetworkError("LeanRequest: unexpected HTTP state")
