"""Log file set-up and the removal of secrets from log records."""

import logging

import pytest

from app import paths
from app.logging_setup import (
    LOG_FILE,
    RedactingFilter,
    configure_logging,
    redact,
    redact_url,
)

TOKEN = "syt_YWxpY2U_AbCdEfGhIjKlMnOpQrSt_1a2b3c"


@pytest.fixture
def configured():
    """Configure logging for one test, then remove its handlers again."""
    levels = {name: logging.getLogger(name).level for name in ("", "httpx", "httpcore")}
    configure_logging(logging.DEBUG, log_file=True, console=False)
    yield paths.log_dir() / LOG_FILE
    configure_logging(logging.DEBUG, log_file=False, console=False)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def read_log(path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"token {TOKEN} used", TOKEN),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("headers={'authorization': 'Bearer opaque123'}", "opaque123"),
        ("GET /sync?access_token=opaque456&since=s1", "opaque456"),
        ('{"type": "m.login.password", "password": "hunter2"}', "hunter2"),
        ("{'password': 'hunter5', 'user': 'a'}", "hunter5"),
        ('{"access_token": "opaque789", "device_id": "D"}', "opaque789"),
        ('{"refresh_token":"opaque000"}', "opaque000"),
        ("password=hunter3 user=alice", "hunter3"),
        ('{"new_password": "hunter4"}', "hunter4"),
        ("GET /callback?loginToken=opaque111&state=s", "opaque111"),
        ('{"type": "m.login.token", "token": "opaque222"}', "opaque222"),
    ],
)
def test_redact_removes_secrets(text, secret):
    redacted = redact(text)

    assert secret not in redacted
    assert "[redacted]" in redacted


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            'proxy to "http://alice:s3cret-pw@127.0.0.1:31x28", but',
            'proxy to "http://alice:[redacted]@127.0.0.1:31x28", but',
        ),
        (
            "socks5://alice:s3cret-pw@127.0.0.1:1080",
            "socks5://alice:[redacted]@127.0.0.1:1080",
        ),
        (
            "'https://admin:hunter2@127.0.0.1:18443' is not valid",
            "'https://admin:[redacted]@127.0.0.1:18443' is not valid",
        ),
        ("alice:s3cret-pw@127.0.0.1:3128", "alice:[redacted]@127.0.0.1:3128"),
        # A typo can leave "/" or "#" in the password; it is hidden all the same.
        ("http://alice:pa/ss#w@proxy:3128", "http://alice:[redacted]@proxy:3128"),
    ],
)
def test_redact_hides_url_password(text, shown):
    assert redact(text) == shown
    assert redact_url(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "http://alice@proxy.example.org:3128",
        "https://matrix.example.org:8448/_matrix/client/versions",
        "members @ann:example.org,@bob:example.org",
    ],
)
def test_redact_url_keeps_urls_without_password(text):
    assert redact_url(text) == text


def test_log_file_hides_url_password(configured):
    logging.getLogger("app.test").warning(
        "Proxy %s failed", "http://alice:s3cret-pw@127.0.0.1:3128"
    )

    text = read_log(configured)
    assert "s3cret-pw" not in text
    assert "http://alice:[redacted]@127.0.0.1:3128" in text


def test_redact_keeps_ordinary_text():
    text = "GET /_matrix/client/v3/sync -> 200 in 12 ms (since=s72_1, user @a:b)"

    assert redact(text) == text


def test_log_file_contains_no_token_from_arguments(configured):
    log = logging.getLogger("app.test")

    log.info("Signed in with %s", TOKEN)
    log.warning("Login body %r", {"password": "hunter2", "user": "alice"})
    log.debug("Header %s", {"Authorization": f"Bearer {TOKEN}"})

    text = read_log(configured)
    assert TOKEN not in text
    assert "hunter2" not in text
    assert text.count("[redacted]") == 3
    assert "user': 'alice'" in text


def test_log_file_redacts_tracebacks(configured):
    log = logging.getLogger("app.test")

    try:
        raise RuntimeError(f"request failed for access_token={TOKEN}")
    except RuntimeError:
        log.exception("Request failed")

    text = read_log(configured)
    assert "RuntimeError" in text
    assert TOKEN not in text


def test_log_file_redacts_other_libraries(configured):
    logging.getLogger("some.library").warning(
        "url=%s", f"https://x/?access_token={TOKEN}"
    )

    assert TOKEN not in read_log(configured)


def test_configure_twice_keeps_one_file_handler(configured):
    configure_logging(logging.DEBUG, log_file=True, console=False)
    logging.getLogger("app.test").info("once")

    assert read_log(configured).count("once") == 1


def test_configure_quiets_url_logging_libraries(configured):
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


def test_filter_survives_bad_format_arguments():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "%d items", ("many",), None
    )

    assert RedactingFilter().filter(record)
    assert "many" in record.getMessage()
