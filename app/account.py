"""Signing in and out, the saved session, and the settings file.

The settings file (``settings.json`` in the config folder) contains the server,
the user id and the device id, never the access token: that lives in the OS
keyring (``TokenStore``) or, for a session-only sign-in, in memory.

The device id is kept per (homeserver, user) across sign-ins, because the
server deduplicates sent events per device: a client that logs in again with
the same device id can resend from its outbox without creating duplicates.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import paths
from app.credentials import KeyringUnavailable, MemoryTokenStore, TokenStore
from app.logging_setup import redact_url
from app.matrix import (
    InvalidCredentials,
    MatrixClient,
    MatrixError,
    RequestFailed,
    ServerNotFound,
    discover_homeserver,
)
from app.policy import Policy, normalise_server, system_policy
from app.sso import (
    SSO_TIMEOUT,
    BrowserCallback,
    LoginFlows,
    LoopbackCallback,
    OpenUrl,
    PasswordLoginDisabled,
    SsoNotOffered,
    open_in_browser,
    parse_login_flows,
    sso_redirect_url,
)

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"


class ServerNotAllowed(ServerNotFound):
    """The policy sets the server, and another server was given."""


def settings_path() -> Path:
    return paths.config_dir() / SETTINGS_FILE


def account_key(homeserver_url: str, user_id: str) -> str:
    """Return the keyring entry name of an account's access token."""
    return f"{user_id} on {homeserver_url}"


@dataclass(frozen=True)
class Session:
    """A signed-in account; the access token is kept out of ``repr``."""

    homeserver_url: str
    user_id: str
    device_id: str
    access_token: str = field(repr=False)
    session_only: bool = False

    @property
    def account_key(self) -> str:
        return account_key(self.homeserver_url, self.user_id)


@dataclass
class Settings:
    """The contents of the settings file.

    ``device_ids`` maps homeserver URL to user id to device id. ``extra``
    keeps keys that other parts of Commonplace wrote, so that saving here never
    drops them.
    """

    homeserver_url: str | None = None
    user_id: str | None = None
    device_id: str | None = None
    session_only: bool = False
    last_server: str = ""
    device_ids: dict[str, dict[str, str]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read the settings file; a missing file gives defaults.

        A file that is not valid JSON is renamed to ``settings.json.bad`` and
        defaults are returned, so one damaged file cannot stop the program.
        """
        path = path or settings_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning(
                "Settings file %s is unreadable (%s); using defaults", path, exc
            )
            _move_aside(path)
            return cls()
        if not isinstance(data, dict):
            log.warning(
                "Settings file %s contains no JSON object; using defaults", path
            )
            _move_aside(path)
            return cls()
        return cls._from_dict(data, path)

    @classmethod
    def _from_dict(cls, data: dict[str, Any], path: Path) -> Settings:
        settings = cls()
        expected = {
            "homeserver_url": (str, type(None)),
            "user_id": (str, type(None)),
            "device_id": (str, type(None)),
            "session_only": bool,
            "last_server": str,
        }
        for name, kinds in expected.items():
            if name not in data:
                continue
            if isinstance(data[name], kinds):
                setattr(settings, name, data[name])
            else:
                log.warning("Ignoring %s in %s: wrong type", name, path)
        settings.device_ids = _valid_device_ids(data.get("device_ids"))
        known = set(expected) | {"device_ids"}
        settings.extra = {key: value for key, value in data.items() if key not in known}
        return settings

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.extra)
        data.update(
            homeserver_url=self.homeserver_url,
            user_id=self.user_id,
            device_id=self.device_id,
            session_only=self.session_only,
            last_server=self.last_server,
            device_ids=self.device_ids,
        )
        return data

    def save(self, path: Path | None = None) -> None:
        """Write the settings atomically: a temporary file, then os.replace."""
        path = path or settings_path()
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def remembered_device_id(self, homeserver_url: str, user: str) -> str | None:
        """Return the device id of an earlier sign-in by ``user`` on this server.

        ``user`` is a full user id or a localpart; localparts compare without
        case, as Synapse maps user names to lower case at login.
        """
        devices = self.device_ids.get(homeserver_url, {})
        wanted = user.lower()
        for user_id, device_id in devices.items():
            if user_id.lower() == wanted or _localpart(user_id).lower() == wanted:
                return device_id
        return None

    def remember_device(self, homeserver_url: str, user_id: str, device_id: str):
        self.device_ids.setdefault(homeserver_url, {})[user_id] = device_id


class AccountManager:
    """Signs in and out, and restores the saved session, without any Qt.

    ``transport`` is passed to every MatrixClient made here, for tests.
    ``policy`` defaults to this computer's system-wide policy; its fixed
    server, proxy and certificate bundle apply to every request made here.
    """

    def __init__(
        self,
        *,
        token_store: TokenStore | None = None,
        settings_file: Path | None = None,
        transport=None,
        policy: Policy | None = None,
    ):
        self.token_store = token_store or TokenStore()
        self.memory_store = MemoryTokenStore()
        self._settings_file = settings_file
        self._transport = transport
        self.policy = policy if policy is not None else system_policy()
        self._network = self.policy.network_options()
        self.settings = Settings.load(settings_file)
        # Why load_session found no usable session, for the user; "" if none.
        self.signed_out_reason = ""

    async def sign_in(
        self,
        server_or_url: str,
        user: str,
        password: str,
        *,
        session_only: bool = False,
    ) -> Session:
        """Find the server, log in, store the token and save the settings.

        ``user`` is a localpart or a full ``@user:server`` id; with a full id
        the server may be left empty. When the policy fixes the server, an
        empty ``server_or_url`` means that server and any other raises
        ServerNotFound. Raises a MatrixError (InvalidCredentials,
        ServerNotFound, ...) or KeyringUnavailable. The keyring is checked
        before logging in, and a token that cannot be stored is logged out
        again, so a failed sign-in leaves no live session behind.
        """
        user = user.strip()
        if not user or not password:
            raise InvalidCredentials("Enter your user name and password.")
        server_or_url = await self._allowed_server(server_or_url.strip())
        server = server_or_url or _server_name(user)
        if not server:
            raise ServerNotFound("Enter the address of your organisation's server.")
        store = self.memory_store if session_only else self.token_store
        store.check()

        homeserver_url = await discover_homeserver(
            server, transport=self._transport, network=self._network
        )
        device_id = self.settings.remembered_device_id(homeserver_url, user)
        async with MatrixClient(
            homeserver_url, transport=self._transport, network=self._network
        ) as client:
            try:
                result = await client.login_password(
                    user, password, device_id=device_id
                )
            except RequestFailed as error:
                if error.status == 400:
                    await _raise_if_password_disabled(client, error)
                raise
            session = await self._keep_session(client, result, store, session_only)

        self._save_signed_in(session, typed_server=server_or_url.strip() or server)
        return session

    async def _allowed_server(self, typed: str) -> str:
        """Return the server to sign in to, which the policy may fix.

        A typed server is compared with the fixed one after normalising, and a
        typed URL also with the base URL that the fixed server name leads to.
        Raises ServerNotAllowed before any request to the typed server.
        """
        fixed = self.policy.homeserver
        if not fixed:
            return typed
        if not typed or normalise_server(typed) == normalise_server(fixed):
            return fixed
        if "://" in typed and "://" not in fixed:
            # Only the fixed server is asked, so nothing is sent to another host.
            base_url = await discover_homeserver(
                fixed, transport=self._transport, network=self._network
            )
            if normalise_server(base_url) == normalise_server(typed):
                return fixed
        # NOTE: a typed server name is not discovered, so "example.org" is
        # rejected when the policy gives the base URL it leads to.
        raise ServerNotAllowed(
            f"Your organisation has set the server to {fixed}, so "
            f"{redact_url(typed)} cannot be used. Sign in without giving a server."
        )

    async def login_flows(self, server_or_url: str) -> LoginFlows:
        """Find the server and return the ways of signing in that it offers."""
        server = await self._allowed_server(server_or_url.strip())
        if not server:
            raise ServerNotFound("Enter the address of your organisation's server.")
        homeserver_url = await discover_homeserver(
            server, transport=self._transport, network=self._network
        )
        async with MatrixClient(
            homeserver_url, transport=self._transport, network=self._network
        ) as client:
            return parse_login_flows(homeserver_url, await client.login_flows())

    async def sign_in_sso(
        self,
        server_or_url: str,
        open_url: OpenUrl,
        *,
        idp_id: str | None = None,
        session_only: bool = False,
        on_browser: BrowserCallback | None = None,
        timeout: float = SSO_TIMEOUT,
    ) -> Session:
        """Sign in through single sign-on in the browser, then keep the session.

        ``open_url(url)`` shows the homeserver's sign-in page and returns False
        when no browser could be opened. ``on_browser(url, opened)`` is called
        after it, so that the caller can show the address to copy. ``idp_id``
        picks an identity provider; None lets the server offer its choice.
        Waits at most ``timeout`` seconds for the browser, and raises
        SsoNotOffered, SsoTimedOut, InvalidCredentials for a rejected login
        token, any other MatrixError, or KeyringUnavailable (checked before the
        browser opens). Cancelling stops the loopback server.
        """
        server = await self._allowed_server(server_or_url.strip())
        if not server:
            raise ServerNotFound("Enter the address of your organisation's server.")
        store = self.memory_store if session_only else self.token_store

        homeserver_url = await discover_homeserver(
            server, transport=self._transport, network=self._network
        )
        async with MatrixClient(
            homeserver_url, transport=self._transport, network=self._network
        ) as client:
            flows = parse_login_flows(homeserver_url, await client.login_flows())
            _check_sso_offered(flows, client.host, idp_id)
            store.check()
            async with LoopbackCallback() as callback:
                url = sso_redirect_url(homeserver_url, callback.redirect_url, idp_id)
                opened = open_in_browser(open_url, url)
                if on_browser is not None:
                    on_browser(url, opened)
                token = await callback.wait_for_token(timeout)
                signed_in = False
                try:
                    result = await client.login_token(
                        token, device_id=self._device_for_sso(homeserver_url)
                    )
                    session = await self._keep_session(
                        client, result, store, session_only
                    )
                    signed_in = True
                finally:
                    callback.respond(signed_in)

        self._save_signed_in(session, typed_server=server_or_url.strip() or server)
        return session

    def _device_for_sso(self, homeserver_url: str) -> str | None:
        """Return the device id to reuse when the user is not known before login.

        That is the saved account's device on this server, or the only one
        remembered for it. If the browser signs in another user, the server
        creates a device of that id for them, which does no harm.
        """
        settings = self.settings
        if settings.homeserver_url == homeserver_url and settings.user_id:
            return settings.remembered_device_id(homeserver_url, settings.user_id)
        devices = settings.device_ids.get(homeserver_url, {})
        if len(devices) == 1:
            return next(iter(devices.values()))
        return None

    async def _keep_session(
        self, client: MatrixClient, result, store, session_only: bool
    ) -> Session:
        """Store the new token; log out again if it cannot be stored."""
        session = Session(
            homeserver_url=result.homeserver_url,
            user_id=result.user_id,
            device_id=result.device_id,
            access_token=result.access_token,
            session_only=session_only,
        )
        try:
            store.save(session.account_key, session.access_token)
        except KeyringUnavailable:
            client.access_token = session.access_token
            await _log_out_quietly(client, session)
            raise
        log.info(
            "Signed in as %s on %s (device %s%s)",
            session.user_id,
            session.homeserver_url,
            session.device_id,
            ", this session only" if session_only else "",
        )
        return session

    def load_session(self) -> Session | None:
        """Return the saved session, or None when no account is signed in.

        A session on a server other than the one the policy sets counts as
        signed out. ``signed_out_reason`` then contains the message for the
        user, and the settings, token and cache are kept as they are. KeyringUnavailable and
        KeyringLocked propagate, and the saved session is kept, so that the
        UI can offer to retry once the keyring works.
        """
        self.settings = Settings.load(self._settings_file)
        self.signed_out_reason = ""
        settings = self.settings
        if not (settings.homeserver_url and settings.user_id and settings.device_id):
            return None
        if not self.policy.allows_server(settings.homeserver_url, settings.user_id):
            log.warning(
                "Saved session of %s on %s not used: the policy sets the server %s",
                settings.user_id,
                settings.homeserver_url,
                self.policy.homeserver,
            )
            self.signed_out_reason = (
                f"Your organisation now requires the server {self.policy.homeserver}; "
                "sign in again."
            )
            return None
        store = self.memory_store if settings.session_only else self.token_store
        key = account_key(settings.homeserver_url, settings.user_id)
        token = store.load(key)
        if token is None:
            log.info("No stored token for %s; sign-in needed", settings.user_id)
            return None
        return Session(
            homeserver_url=settings.homeserver_url,
            user_id=settings.user_id,
            device_id=settings.device_id,
            access_token=token,
            session_only=settings.session_only,
        )

    async def sign_out(self, session: Session) -> None:
        """Log out on the server if it responds, then forget the token and user.

        The server logout is best effort: signing out works offline too. The
        server address and the device id map stay in the settings. Wiping the
        cache is the caller's job. KeyringUnavailable propagates after the
        settings are cleared if the token could not be deleted.
        """
        async with self.client_for(session) as client:
            await _log_out_quietly(client, session)

        self.memory_store.delete(session.account_key)
        if session.session_only and self._saves_other_account(session):
            log.info("Signed out session-only %s; saved account kept", session.user_id)
            return
        try:
            if not session.session_only:
                self.token_store.delete(session.account_key)
        finally:
            self.settings.user_id = None
            self.settings.device_id = None
            self.settings.session_only = False
            self.settings.save(self._settings_file)
            log.info("Signed out %s from %s", session.user_id, session.homeserver_url)

    def _saves_other_account(self, session: Session) -> bool:
        """Return True when the settings describe a keyring account to keep."""
        settings = self.settings
        return bool(settings.user_id) and not settings.session_only

    def client_for(self, session: Session) -> MatrixClient:
        """Return a new client for ``session``; the caller closes it."""
        return MatrixClient(
            session.homeserver_url,
            session.access_token,
            transport=self._transport,
            network=self._network,
        )

    def _save_signed_in(self, session: Session, *, typed_server: str) -> None:
        settings = self.settings
        settings.last_server = typed_server
        settings.remember_device(
            session.homeserver_url, session.user_id, session.device_id
        )
        if session.session_only and settings.user_id and not settings.session_only:
            # A session-only sign-in (say, while the keyring is locked) must not
            # replace the saved account, or the next start could not restore it.
            settings.save(self._settings_file)
            return
        settings.homeserver_url = session.homeserver_url
        settings.user_id = session.user_id
        settings.device_id = session.device_id
        settings.session_only = session.session_only
        settings.last_server = typed_server
        settings.remember_device(
            session.homeserver_url, session.user_id, session.device_id
        )
        settings.save(self._settings_file)


async def _log_out_quietly(client: MatrixClient, session: Session) -> None:
    try:
        await client.logout(max_attempts=2)
    except MatrixError as error:
        log.warning(
            "Server logout of %s (device %s) failed: %s %s",
            session.user_id,
            session.device_id,
            type(error).__name__,
            error.details or error.message,
        )


async def _raise_if_password_disabled(
    client: MatrixClient, error: RequestFailed
) -> None:
    """Raise PasswordLoginDisabled when the server offers no password login.

    Synapse 1.163 rejects a password login with 400 M_UNKNOWN when
    ``password_config.enabled`` is false, so the login flows tell the cause.
    """
    try:
        flows = parse_login_flows(client.homeserver_url, await client.login_flows())
    except MatrixError:
        return
    if flows.sso and not flows.password:
        raise PasswordLoginDisabled(
            f"{client.host} does not accept passwords: your organisation signs "
            "you in through its single sign-on page in the browser.",
            errcode=error.errcode,
            status=error.status,
            details=error.details,
        ) from error


def _check_sso_offered(flows: LoginFlows, host: str, idp_id: str | None) -> None:
    if not flows.sso:
        raise SsoNotOffered(
            f"{host} does not offer single sign-on. Sign in with your user name "
            "and password."
        )
    if idp_id and flows.identity_providers and flows.provider(idp_id) is None:
        known = ", ".join(provider.id for provider in flows.identity_providers)
        raise SsoNotOffered(
            f"{host} has no identity provider {idp_id!r}. Choose one of: {known}."
        )


def _localpart(user_id: str) -> str:
    return user_id.removeprefix("@").split(":", 1)[0]


def _server_name(user: str) -> str:
    """Return the server part of a full user id, or "" for a localpart."""
    if user.startswith("@") and ":" in user:
        return user.split(":", 1)[1]
    return ""


def _valid_device_ids(value: Any) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict):
        return {}
    result: dict[str, dict[str, str]] = {}
    for server, users in value.items():
        if isinstance(server, str) and isinstance(users, dict):
            result[server] = {
                user_id: device_id
                for user_id, device_id in users.items()
                if isinstance(user_id, str) and isinstance(device_id, str)
            }
    return result


def _move_aside(path: Path) -> None:
    try:
        os.replace(path, path.with_name(path.name + ".bad"))
    except OSError as exc:
        log.warning("Could not move %s aside: %s", path, exc)
