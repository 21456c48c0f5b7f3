"""Access tokens in the operating system's keyring, never on disk in plain text.

``TokenStore`` keeps one token per account in the keyring: the Secret Service
(GNOME Keyring, KWallet 6) on Linux, the Keychain on macOS, the Credential
Locker on Windows. Any other backend is rejected, in particular the plain-text
and "encrypted file" stores of keyrings.alt that keyring picks on its own when
that package is installed. ``MemoryTokenStore`` keeps a token for the running
process only, for a user who signs in without a usable keyring.

Every keyring failure becomes ``KeyringUnavailable`` (or ``KeyringLocked``),
whose ``message`` gives the user the next step.
"""

from __future__ import annotations

import logging

import keyring
import keyring.backend
import keyring.errors
from keyring.backends import chainer, fail

log = logging.getLogger(__name__)

SERVICE_NAME = "Commonplace"

# Backends whose secrets the operating system encrypts and guards. A backend
# counts as one of these when any class in its MRO comes from these modules.
_TRUSTED_BACKEND_MODULES = (
    "keyring.backends.SecretService",
    "keyring.backends.libsecret",
    "keyring.backends.kwallet",
    "keyring.backends.macOS",
    "keyring.backends.Windows",
)

# Errors that mean "the keyring cannot be used now". keyring wraps most of
# them, but SecretStorage and jeepney errors can escape from D-Bus calls.
_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    keyring.errors.KeyringError,
    RuntimeError,
    OSError,
)
_LOCKED_ERRORS: tuple[type[BaseException], ...] = (keyring.errors.KeyringLocked,)
try:
    import jeepney.wrappers
    import secretstorage.exceptions
except ImportError:  # SecretStorage is only installed on Linux.
    pass
else:
    _UNAVAILABLE_ERRORS += (
        secretstorage.exceptions.SecretStorageException,
        jeepney.wrappers.DBusErrorResponse,
    )
    _LOCKED_ERRORS += (
        secretstorage.exceptions.LockedException,
        secretstorage.exceptions.PromptDismissedException,
    )


class KeyringUnavailable(Exception):
    """The keyring cannot be used: ``reason`` is the cause, ``message`` the next step."""

    def __init__(self, reason: str, message: str | None = None):
        self.reason = reason
        self.message = message or (
            f"No keyring is available: {reason}. Retry, or sign in for this "
            "session only."
        )
        super().__init__(self.message)


class KeyringLocked(KeyringUnavailable):
    """The keyring exists but stayed locked (the unlock prompt was dismissed)."""

    def __init__(self, reason: str = "it was not unlocked when asked"):
        super().__init__(
            reason,
            f"The keyring is locked: {reason}. Unlock it and retry, or sign in "
            "for this session only.",
        )


class TokenStore:
    """Access tokens in the OS keyring, one per account key.

    ``backend`` fixes the keyring backend, for tests; by default keyring's own
    choice is used, and checked on every call.
    """

    def __init__(
        self,
        service: str = SERVICE_NAME,
        *,
        backend: keyring.backend.KeyringBackend | None = None,
    ):
        self.service = service
        self._fixed_backend = backend

    def save(self, account_key: str, token: str) -> None:
        backend = self._backend()
        self._call("save the token", backend.set_password, account_key, token)

    def load(self, account_key: str) -> str | None:
        """Return the token saved for ``account_key``, or None if there is none."""
        backend = self._backend()
        token = self._call("read the token", backend.get_password, account_key)
        return token or None

    def delete(self, account_key: str) -> None:
        """Delete the token of ``account_key``; deleting a missing token is no error."""
        backend = self._backend()

        def delete_if_present(service: str, key: str) -> None:
            try:
                backend.delete_password(service, key)
            except keyring.errors.PasswordDeleteError:
                # Every OS backend raises this when the entry does not exist.
                log.debug("No token to delete for %s", key)

        self._call("delete the token", delete_if_present, account_key)

    def check(self) -> None:
        """Raise KeyringUnavailable or KeyringLocked unless the keyring works now.

        Reading a missing entry makes the Secret Service unlock its collection,
        so a locked keyring shows up here rather than after a login.
        """
        self.load(f"{self.service} keyring check")

    def backend_name(self) -> str:
        """Return the backend's class path, for diagnostics; never raises."""
        try:
            backend = self._fixed_backend or keyring.get_keyring()
        except (*_UNAVAILABLE_ERRORS, ImportError) as exc:
            return f"none ({exc})"
        return _class_path(backend)

    def _backend(self) -> keyring.backend.KeyringBackend:
        backend = self._fixed_backend or _detect_backend()
        reject_insecure_backend(backend)
        return backend

    def _call(self, action: str, method, account_key: str, *args):
        try:
            return method(self.service, account_key, *args)
        except _LOCKED_ERRORS as exc:
            log.warning(
                "Could not %s for %s: keyring locked (%s)", action, account_key, exc
            )
            raise KeyringLocked() from exc
        except _UNAVAILABLE_ERRORS as exc:
            log.warning(
                "Could not %s for %s: %s", action, account_key, _reason(exc, "")
            )
            raise KeyringUnavailable(
                _reason(exc, "the keyring service failed")
            ) from exc


class MemoryTokenStore:
    """Tokens for this process only, for signing in without a keyring."""

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}

    def save(self, account_key: str, token: str) -> None:
        self._tokens[account_key] = token

    def load(self, account_key: str) -> str | None:
        return self._tokens.get(account_key)

    def delete(self, account_key: str) -> None:
        self._tokens.pop(account_key, None)

    def check(self) -> None:
        """Return at once: memory is always available."""


def reject_insecure_backend(backend: keyring.backend.KeyringBackend) -> None:
    """Raise KeyringUnavailable unless ``backend`` is an OS-protected keyring.

    A chainer is accepted only if every backend it chains is accepted. The
    failing and null backends are rejected, and so is every third-party
    backend, keyrings.alt's PlaintextKeyring among them.
    """
    if isinstance(backend, fail.Keyring):
        raise KeyringUnavailable(
            "no Secret Service (GNOME Keyring or KWallet) or system keychain is running"
        )
    if isinstance(backend, chainer.ChainerBackend):
        chained = list(backend.backends)
        if not chained:
            raise KeyringUnavailable("no keyring service is running")
        for member in chained:
            reject_insecure_backend(member)
        return
    if not _is_trusted(backend):
        raise KeyringUnavailable(
            f"the keyring backend {_class_path(backend)} does not keep secrets "
            "in the system's protected store, so Commonplace does not use it"
        )


def _detect_backend() -> keyring.backend.KeyringBackend:
    # NOTE: keyring picks its backend once per process, so a keyring daemon
    # started after that is only used after Commonplace restarts.
    try:
        return keyring.get_keyring()
    except _UNAVAILABLE_ERRORS as exc:
        reason = _reason(exc, "the keyring could not be loaded")
        raise KeyringUnavailable(reason) from exc
    except ImportError as exc:
        # A keyring configuration that names a missing backend module.
        reason = f"the configured keyring backend is missing ({exc})"
        raise KeyringUnavailable(reason) from exc


def _is_trusted(backend: keyring.backend.KeyringBackend) -> bool:
    return any(
        cls.__module__ == module or cls.__module__.startswith(module + ".")
        for cls in type(backend).__mro__
        for module in _TRUSTED_BACKEND_MODULES
    )


def _class_path(backend: object) -> str:
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def _reason(exc: BaseException, fallback: str) -> str:
    text = str(exc).strip().rstrip(".!")
    return text[:300] if text else fallback
