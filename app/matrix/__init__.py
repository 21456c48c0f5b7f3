"""Access to a Matrix homeserver: the client, discovery and the error classes.

Import from here; the submodules are implementation. Importing this package
imports httpx, so a GUI start-up that must stay fast imports
``app.matrix.errors`` alone until the window is shown.
"""

from app.matrix.client import LoginResult, MatrixClient
from app.matrix.discovery import ServerFeatures, detect_features, discover_homeserver
from app.matrix.errors import (
    AuthExpired,
    ConnectionFailed,
    Forbidden,
    InsecureConnection,
    InvalidCredentials,
    MatrixError,
    NotFound,
    NotMatrixServer,
    ProxyFailure,
    RateLimited,
    RequestFailed,
    ServerNotFound,
    ServerUnavailable,
    TlsFailure,
    TooLarge,
)
from app.matrix.http import NetworkOptions, RetryCallback, create_ssl_context
from app.matrix.urls import is_loopback, parse_mxc

__all__ = [
    "AuthExpired",
    "ConnectionFailed",
    "Forbidden",
    "InsecureConnection",
    "InvalidCredentials",
    "LoginResult",
    "MatrixClient",
    "MatrixError",
    "NetworkOptions",
    "NotFound",
    "NotMatrixServer",
    "ProxyFailure",
    "RateLimited",
    "RequestFailed",
    "RetryCallback",
    "ServerFeatures",
    "ServerNotFound",
    "ServerUnavailable",
    "TlsFailure",
    "TooLarge",
    "create_ssl_context",
    "detect_features",
    "discover_homeserver",
    "is_loopback",
    "parse_mxc",
]
