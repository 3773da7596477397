"""Throw-away certificate authorities (trustme) for the TLS tests: nothing leaves 127.0.0.1.

The sender verifies certificates with `ssl.create_default_context()`, which reads the
`SSL_CERT_FILE` environment variable when the context is made; a test points it at
`Authority.bundle` to make its authority trusted, or at another authority's bundle to make a
server certificate untrusted.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class Authority:
    """A test CA, its PEM bundle on disk, and a server context with a cert for 127.0.0.1."""

    ca: trustme.CA
    bundle: Path

    def server_context(self) -> ssl.SSLContext:
        """What the test SMTP server presents: a certificate for 127.0.0.1 signed by this CA."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context


def make_authority(folder: Path, name: str = "ca") -> Authority:
    """A fresh CA whose certificate is written to `folder/<name>.pem`."""
    ca = trustme.CA()
    bundle = folder / f"{name}.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return Authority(ca, bundle)
