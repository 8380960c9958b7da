"""Answers on the wire for the fault proxy: normal, Retry-After, truncated, reset (RST)."""

from __future__ import annotations

import socket
import struct
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler

from ._plan import RETRY_AFTER_SECONDS, FaultKind

HTML_502 = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
    b"<h1>502 Bad Gateway</h1><p>The upstream server did not answer.</p></body></html>"
)
HTML_200 = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
    b'<form action="/login"><input name="user"></form></body></html>'
)


def send(
    handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], payload: bytes
) -> None:
    try:
        handler.send_response_only(status)
        handler.send_header("Date", formatdate(usegmt=True))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)
        handler.wfile.flush()
    except OSError:
        handler.close_connection = True  # the client went away (e.g. its timeout fired)


def answer_retry_after(handler: BaseHTTPRequestHandler, fault: FaultKind) -> None:
    status = 503 if fault.value.startswith("503") else 429
    now = int(time.time())
    if fault in (FaultKind.UNAVAILABLE_RETRY_DATE, FaultKind.RATE_LIMITED_RETRY_DATE):
        # An HTTP-date a second after our own Date header (both in whole seconds).
        retry_after = formatdate(now + RETRY_AFTER_SECONDS[fault], usegmt=True)
    else:
        retry_after = str(RETRY_AFTER_SECONDS[fault])
    payload = b"try again later"
    try:
        handler.send_response_only(status)
        handler.send_header("Date", formatdate(now, usegmt=True))
        handler.send_header("Retry-After", retry_after)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
        handler.wfile.flush()
    except OSError:
        handler.close_connection = True


def send_truncated(
    handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], payload: bytes
) -> None:
    """Announce the whole body, send half of it, then close the connection."""
    handler.close_connection = True
    try:
        handler.send_response_only(status)
        handler.send_header("Date", formatdate(usegmt=True))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload[: len(payload) // 2])
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def reset(handler: BaseHTTPRequestHandler) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0), no answer at all."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.rfile.close()  # a makefile() reference would defer the close
        handler.connection.close()
    except OSError:
        pass
