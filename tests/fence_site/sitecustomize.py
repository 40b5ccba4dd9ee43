"""The test suite's network fence, loaded into every Python process the suite starts.

The root ``conftest.py`` puts this folder on ``PYTHONPATH`` for the whole run, so
the pytest process and every Python subprocess (the ``cnnlab`` command, MPI ranks,
servers) import it at start-up.  It lets sockets reach loopback (127.0.0.0/8, ::1,
``localhost``) and Unix sockets, and refuses everything else, including name
lookups, with ``NetworkBlocked``.  Each refusal is also appended to the file named
by ``$CNNLAB_TEST_FENCE_LOG``, where the suite finds it even when the code that
tried caught the error: the test that made the attempt then fails.
"""

import ipaddress
import os
import socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class NetworkBlocked(RuntimeError):
    """A test tried to reach a host other than this machine's loopback."""


def _is_loopback(host):
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard / loopback
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = host.split("%", 1)[0].strip("[]")
    if host.lower() in _LOCAL_NAMES or host == "":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name other than localhost: resolving it would already use the network
    return address.is_loopback or address.is_unspecified


def _refuse(what, host):
    message = f"the test suite's network fence refused {what} {host!r}: tests may use loopback only"
    log = os.environ.get("CNNLAB_TEST_FENCE_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"pid {os.getpid()}: {message}\n")
    raise NetworkBlocked(message)


def _host_of(family, address):
    if family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and address:
        return address[0]
    return None  # Unix sockets and other local families


def install():
    """Patch the socket module (idempotent)."""
    if getattr(socket, "_cnnlab_fenced", False):
        return
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        host = _host_of(self.family, address)
        if not _is_loopback(host):
            _refuse("a connection to", host)
        return real_connect(self, address)

    def connect_ex(self, address):
        host = _host_of(self.family, address)
        if not _is_loopback(host):
            _refuse("a connection to", host)
        return real_connect_ex(self, address)

    def sendto(self, data, *args):
        address = args[-1]
        host = _host_of(self.family, address)
        if not _is_loopback(host):
            _refuse("a datagram to", host)
        return real_sendto(self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_loopback(host):
            _refuse("looking up", host)
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.sendto = sendto
    socket.getaddrinfo = getaddrinfo
    socket.NetworkBlocked = NetworkBlocked
    socket._cnnlab_fenced = True


if os.environ.get("CNNLAB_TEST_FENCE_LOG"):
    install()
