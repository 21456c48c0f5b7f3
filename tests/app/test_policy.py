"""The policy reader: JSON on Linux, an injected registry and a plist path."""

import json
import os
import plistlib
import threading
from pathlib import Path
from xml.etree import ElementTree

import pytest
import trustme

from app.policy import (
    MAX_POLICY_FILE_BYTES,
    MAX_RETENTION_DAYS,
    POLICY_KEYS,
    REG_DWORD,
    REG_SZ,
    REGISTRY_KEY,
    Policy,
    normalise_server,
    policy_from_values,
    read_policy,
)

PACKAGING = Path(__file__).resolve().parents[2] / "packaging" / "policy"
ADMX_NAMESPACE = {
    "p": "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"
}


@pytest.fixture
def ca_bundle(tmp_path):
    path = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def read_json(tmp_path, values) -> Policy:
    path = tmp_path / "policy.json"
    text = values if isinstance(values, str) else json.dumps(values)
    path.write_text(text, encoding="utf-8")
    return read_policy(platform="linux", json_path=path)


# -- JSON on Linux -------------------------------------------------------------


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "policy.json"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"retention_days": 30}')

    policy = read_policy(platform="linux", json_path=path)

    assert policy.problems == ()
    assert policy.retention_days == 30


def test_oversized_file_is_rejected(tmp_path):
    path = tmp_path / "policy.json"
    padding = " " * MAX_POLICY_FILE_BYTES
    path.write_text('{"retention_days": 30}' + padding, encoding="utf-8")

    policy = read_policy(platform="linux", json_path=path)

    assert policy.retention_days is None
    assert len(policy.problems) == 1
    assert "larger than 1024 KiB" in policy.problems[0]


def test_fifo_does_not_block(tmp_path):
    path = tmp_path / "policy.json"
    os.mkfifo(path)

    # A blocking open of a FIFO without a writer never returns, so the
    # reader runs in a thread that the test waits for with a time limit.
    results = []
    reader = threading.Thread(
        target=lambda: results.append(read_policy(platform="linux", json_path=path)),
        daemon=True,
    )
    reader.start()
    reader.join(5)
    if reader.is_alive():
        # Opening the writing end releases the blocked reader.
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    assert results, "reading a FIFO blocked for 5 seconds"
    policy = results[0]
    assert policy.locked == frozenset()
    assert "not a regular file" in policy.problems[0]


def test_permission_denied_is_a_problem(tmp_path, monkeypatch):
    # Root reads a file of any mode, so os.open is made to fail as it does
    # for a user who may not read the file.
    path = tmp_path / "policy.json"
    path.write_text('{"retention_days": 30}', encoding="utf-8")
    real_open = os.open

    def denied(name, *args, **kwargs):
        if Path(name) == path:
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)

    policy = read_policy(platform="linux", json_path=path)

    assert policy.retention_days is None
    assert policy.source == str(path)
    problem = policy.problems[0]
    assert "permission denied" in problem
    assert "readable by every user" in problem
    assert "Errno" not in problem


@pytest.mark.parametrize(
    "proxy",
    [
        "http://alice:s3cret-pw@127.0.0.1:31x28",
        "socks5://alice:s3cret-pw@127.0.0.1:1080",
        "alice:s3cret-pw@127.0.0.1:3128",
        "http://alice:s3cret-pw@:3128",
    ],
)
def test_rejected_proxy_hides_password(tmp_path, proxy):
    policy = read_json(tmp_path, {"proxy": proxy})

    assert policy.proxy is None
    problem = policy.problems[0]
    assert "s3cret-pw" not in problem
    assert "alice:[redacted]@" in problem


def test_rejected_proxy_port_says_why(tmp_path):
    policy = read_json(tmp_path, {"proxy": "http://127.0.0.1:31x28"})

    problem = policy.problems[0]
    assert "the port '31x28' is not a number from 1 to 65535" in problem


@pytest.mark.parametrize(
    ("homeserver", "reason"),
    [
        ("http://127.0.0.1:99999", "not a number from 1 to 65535"),
        ("http://127.0.0.1:notaport", "not a number from 1 to 65535"),
        ("ftp://127.0.0.1:18100", "ftp://"),
        ("http://matrix.example.org", "use https://"),
        ("not a url at all !!", "neither a URL nor a server name"),
        ("example.org:0", "not a number from 1 to 65535"),
        ("https://matrix.example.org/?x=1", "after ? or #"),
        ("https://" + "a" * 2100 + ".org", "longer than 2048 characters"),
        ("https://admin:hunter2@127.0.0.1:18443", "remove the user name"),
    ],
)
def test_invalid_homeserver_is_rejected(tmp_path, homeserver, reason):
    policy = read_json(tmp_path, {"homeserver": homeserver})

    assert policy.homeserver is None
    assert not policy.is_locked("homeserver")
    problem = policy.problems[0]
    assert "homeserver" in problem
    assert reason in problem
    assert "hunter2" not in problem


@pytest.mark.parametrize(
    "homeserver",
    [
        "https://matrix.example.org",
        "https://matrix.example.org:8448/prefix",
        "example.org",
        "example.org:8448",
        "http://127.0.0.1:8008",
        "[::1]:8008",
    ],
)
def test_valid_homeserver_is_accepted(tmp_path, homeserver):
    policy = read_json(tmp_path, {"homeserver": homeserver})

    assert policy.problems == ()
    assert policy.homeserver == homeserver


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("example.org", "https://example.org/"),
        ("HTTPS://Matrix.Example.org:443", "https://matrix.example.org"),
        ("127.0.0.1:8008", "http://127.0.0.1:8008"),
    ],
)
def test_normalise_server_equates_forms(first, second):
    assert normalise_server(first) == normalise_server(second)


def test_fixed_server_allows_only_its_sessions():
    policy = policy_from_values({"homeserver": "example.org"}, "test")

    assert policy.allows_server("https://example.org", "@ann:example.org")
    assert policy.allows_server("https://matrix.example.org", "@ann:example.org")
    assert not policy.allows_server("https://other.example", "@ann:other.example")
    assert Policy().allows_server("https://other.example", "@ann:other.example")


def test_missing_file_gives_no_policy(tmp_path):
    policy = read_policy(platform="linux", json_path=tmp_path / "absent.json")

    assert policy == Policy()
    assert not policy.problems


def test_json_sets_every_key(tmp_path, ca_bundle):
    policy = read_json(
        tmp_path,
        {
            "homeserver": " https://matrix.example.org ",
            "hide_server_field": True,
            "disable_uploads": True,
            "disable_external_links": True,
            "proxy": "http://proxy.example.org:3128",
            "ca_bundle": str(ca_bundle),
            "retention_days": 30,
            "wipe_cache_on_sign_out": True,
        },
    )

    assert policy.problems == ()
    assert policy.homeserver == "https://matrix.example.org"
    assert policy.hide_server_field is True
    assert policy.disable_uploads is True
    assert policy.disable_external_links is True
    assert policy.proxy == "http://proxy.example.org:3128"
    assert policy.ca_bundle == ca_bundle
    assert policy.retention_days == 30
    assert policy.wipe_cache_on_sign_out is True
    assert policy.locked == set(POLICY_KEYS)
    assert policy.source == str(tmp_path / "policy.json")


def test_unset_keys_are_not_locked(tmp_path):
    policy = read_json(tmp_path, {"disable_uploads": True})

    assert policy.is_locked("disable_uploads")
    assert not policy.is_locked("homeserver")
    assert not policy.is_locked("wipe_cache_on_sign_out")


def test_false_switch_is_still_locked(tmp_path):
    policy = read_json(tmp_path, {"wipe_cache_on_sign_out": False})

    assert policy.is_locked("wipe_cache_on_sign_out")
    assert policy.wipe_cache_on_sign_out is False


def test_invalid_json_names_file_and_cause(tmp_path):
    policy = read_json(tmp_path, '{"homeserver": "example.org",,}')

    assert len(policy.problems) == 1
    problem = policy.problems[0]
    assert str(tmp_path / "policy.json") in problem
    assert "not valid JSON" in problem
    assert "line 1" in problem
    assert policy.homeserver is None
    assert policy.locked == frozenset()


def test_json_array_is_rejected(tmp_path):
    policy = read_json(tmp_path, "[1, 2]")

    assert "does not contain a JSON object" in policy.problems[0]
    assert policy.locked == frozenset()


def test_undecodable_file_is_reported(tmp_path):
    path = tmp_path / "policy.json"
    path.write_bytes(b'{"homeserver": "\xff"}')

    policy = read_policy(platform="linux", json_path=path)

    assert "not UTF-8 text" in policy.problems[0]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("homeserver", 42),
        ("homeserver", "   "),
        ("disable_uploads", "yes"),
        ("disable_uploads", 1),
        ("retention_days", "thirty"),
        ("retention_days", True),
        ("retention_days", 0),
        ("retention_days", MAX_RETENTION_DAYS + 1),
        ("retention_days", 7.5),
        ("proxy", "socks5://proxy.example.org:1080"),
        ("proxy", "proxy.example.org:3128"),
        ("proxy", "http://proxy.example.org:port"),
        ("ca_bundle", "relative/ca.pem"),
        ("ca_bundle", "/nonexistent/ca.pem"),
    ],
)
def test_bad_value_is_skipped_and_reported(tmp_path, key, value):
    policy = read_json(tmp_path, {key: value, "disable_external_links": True})

    assert len(policy.problems) == 1
    problem = policy.problems[0]
    assert key in problem
    assert str(tmp_path / "policy.json") in problem
    assert "ignored" in problem
    assert not policy.is_locked(key)
    assert policy.is_locked("disable_external_links")


def test_bad_ca_bundle_says_why(tmp_path):
    bundle = tmp_path / "not-a-certificate.pem"
    bundle.write_text("hello", encoding="utf-8")

    policy = read_json(tmp_path, {"ca_bundle": str(bundle)})

    assert "no usable certificate" in policy.problems[0]
    assert policy.ca_bundle is None


def test_unknown_key_is_reported(tmp_path):
    policy = read_json(tmp_path, {"retention_dayz": 30})

    assert "unknown key 'retention_dayz'" in policy.problems[0]
    assert "retention_days" in policy.problems[0]
    assert policy.locked == frozenset()


def test_hidden_field_needs_a_server(tmp_path):
    policy = read_json(tmp_path, {"hide_server_field": True})

    assert policy.hide_server_field is False
    assert "hide_server_field" in policy.problems[0]


def test_null_means_not_set(tmp_path):
    policy = read_json(tmp_path, {"retention_days": None})

    assert policy.problems == ()
    assert not policy.is_locked("retention_days")


def test_is_locked_rejects_unknown_keys():
    with pytest.raises(KeyError):
        Policy().is_locked("homeservers")


def test_problems_are_logged(tmp_path, caplog):
    read_json(tmp_path, "not json")

    assert any("Policy problem" in record.getMessage() for record in caplog.records)


# -- The Windows registry, through an injected winreg stand-in ----------------


class FakeRegistry:
    """The part of winreg that the reader uses, over a dict of values."""

    HKEY_LOCAL_MACHINE = object()

    def __init__(self, values: dict[str, tuple[object, int]] | None):
        self.values = values
        self.opened: list[tuple[object, str]] = []
        self.closed = 0

    def OpenKey(self, root, path):
        self.opened.append((root, path))
        if self.values is None:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return "key"

    def EnumValue(self, key, index):
        items = list(self.values.items())
        if index >= len(items):
            raise OSError(259, "No more data is available")
        name, (data, value_type) = items[index]
        return name, data, value_type

    def CloseKey(self, key):
        self.closed += 1


def test_registry_values_become_policy(ca_bundle):
    registry = FakeRegistry(
        {
            "homeserver": ("example.org", REG_SZ),
            "hide_server_field": (1, REG_DWORD),
            "disable_uploads": (0, REG_DWORD),
            "proxy": ("http://proxy.example.org:8080", REG_SZ),
            "ca_bundle": (str(ca_bundle), REG_SZ),
            "retention_days": (14, REG_DWORD),
        }
    )

    policy = read_policy(platform="win32", registry=registry)

    assert registry.opened == [(FakeRegistry.HKEY_LOCAL_MACHINE, REGISTRY_KEY)]
    assert registry.closed == 1
    assert policy.problems == ()
    assert policy.homeserver == "example.org"
    assert policy.hide_server_field is True
    assert policy.disable_uploads is False
    assert policy.is_locked("disable_uploads")
    assert policy.proxy == "http://proxy.example.org:8080"
    assert policy.ca_bundle == ca_bundle
    assert policy.retention_days == 14
    assert policy.source == f"HKEY_LOCAL_MACHINE\\{REGISTRY_KEY}"


def test_missing_registry_key_gives_no_policy():
    policy = read_policy(platform="win32", registry=FakeRegistry(None))

    assert policy == Policy()


def test_registry_wrong_types_are_reported():
    registry = FakeRegistry(
        {
            "homeserver": (7, REG_DWORD),
            "disable_uploads": ("1", REG_SZ),
            "wipe_cache_on_sign_out": (2, REG_DWORD),
            "retention_days": (30, REG_DWORD),
        }
    )

    policy = read_policy(platform="win32", registry=registry)

    problems = "\n".join(policy.problems)
    assert len(policy.problems) == 3
    assert "homeserver" in problems
    assert "REG_SZ" in problems
    assert "disable_uploads" in problems
    assert "wipe_cache_on_sign_out" in problems
    assert policy.locked == {"retention_days"}


# -- macOS managed preferences, from a plist path ------------------------------


def test_plist_values_become_policy(tmp_path):
    path = tmp_path / "app.commonplace.plist"
    path.write_bytes(
        plistlib.dumps(
            {
                "homeserver": "https://matrix.example.org",
                "disable_external_links": True,
                "retention_days": 60,
                "PayloadUUID": "0A1B",
            }
        )
    )

    policy = read_policy(platform="darwin", plist_path=path)

    assert policy.problems == ()
    assert policy.homeserver == "https://matrix.example.org"
    assert policy.disable_external_links is True
    assert policy.retention_days == 60
    assert policy.locked == {"homeserver", "disable_external_links", "retention_days"}


def test_binary_plist_is_read(tmp_path):
    path = tmp_path / "app.commonplace.plist"
    path.write_bytes(plistlib.dumps({"disable_uploads": True}, fmt=plistlib.FMT_BINARY))

    policy = read_policy(platform="darwin", plist_path=path)

    assert policy.disable_uploads is True


def test_damaged_plist_is_reported(tmp_path):
    path = tmp_path / "app.commonplace.plist"
    path.write_bytes(b"<?xml version='1.0'?><plist><dict><key>x")

    policy = read_policy(platform="darwin", plist_path=path)

    assert str(path) in policy.problems[0]
    assert "not a valid property list" in policy.problems[0]
    assert policy.locked == frozenset()


def test_missing_plist_gives_no_policy(tmp_path):
    policy = read_policy(platform="darwin", plist_path=tmp_path / "absent.plist")

    assert policy == Policy()


# -- Templates for administrators ----------------------------------------------


def test_example_json_has_every_key_typed():
    values = json.loads((PACKAGING / "policy.example.json").read_text("utf-8"))

    assert set(values) == set(POLICY_KEYS)
    for key, value in values.items():
        assert type(value) is POLICY_KEYS[key].kind, key


def test_admx_writes_every_key():
    root = ElementTree.parse(PACKAGING / "commonplace.admx").getroot()
    policies = root.findall("p:policies/p:policy", ADMX_NAMESPACE)
    value_names = set()
    for policy in policies:
        assert policy.get("key") == REGISTRY_KEY, policy.get("name")
        assert policy.get("class") == "Machine", policy.get("name")
        if policy.get("valueName"):
            value_names.add(policy.get("valueName"))
        for element in policy.iterfind("p:elements/*", ADMX_NAMESPACE):
            value_names.add(element.get("valueName"))

    assert value_names == set(POLICY_KEYS)
    assert len(policies) == len(POLICY_KEYS)


def test_admx_value_types_match_reader():
    root = ElementTree.parse(PACKAGING / "commonplace.admx").getroot()
    for policy in root.iterfind("p:policies/p:policy", ADMX_NAMESPACE):
        name = policy.get("name")
        kind = POLICY_KEYS[name].kind
        elements = policy.findall("p:elements/*", ADMX_NAMESPACE)
        if kind is bool:
            assert policy.find("p:enabledValue/p:decimal", ADMX_NAMESPACE) is not None
            assert not elements
        else:
            tag = "text" if kind is str else "decimal"
            assert [e.tag.split("}")[1] for e in elements] == [tag], name


def test_adml_describes_every_key():
    admx = ElementTree.parse(PACKAGING / "commonplace.admx").getroot()
    adml = ElementTree.parse(PACKAGING / "en-US" / "commonplace.adml").getroot()
    strings = {
        string.get("id")
        for string in adml.iterfind(".//p:stringTable/p:string", ADMX_NAMESPACE)
    }
    presentations = {
        presentation.get("id"): {child.get("refId") for child in presentation}
        for presentation in adml.iterfind(
            ".//p:presentationTable/p:presentation", ADMX_NAMESPACE
        )
    }

    for key in POLICY_KEYS:
        assert key in strings
        assert f"{key}_Explain" in strings
    assert set(presentations) <= set(POLICY_KEYS)
    for policy in admx.iterfind("p:policies/p:policy", ADMX_NAMESPACE):
        name = policy.get("name")
        element_ids = {
            element.get("id")
            for element in policy.iterfind("p:elements/*", ADMX_NAMESPACE)
        }
        if element_ids:
            assert presentations[name] == element_ids
    named = {string_id.removesuffix("_Explain") for string_id in strings}
    assert named - set(POLICY_KEYS) == {"Commonplace", "SUPPORTED_Commonplace_0_1"}


def test_example_profile_sets_every_key(tmp_path):
    profile = plistlib.loads((PACKAGING / "app.commonplace.mobileconfig").read_bytes())
    payloads = profile["PayloadContent"]
    assert len(payloads) == 1
    payload = payloads[0]
    assert payload["PayloadType"] == "app.commonplace"
    # macOS writes the payload's keys as the managed preferences that the
    # reader takes, so the reader is given them as such a file.
    managed = tmp_path / "app.commonplace.plist"
    managed.write_bytes(plistlib.dumps(payload))

    policy = read_policy(platform="darwin", plist_path=managed)

    example = json.loads((PACKAGING / "policy.example.json").read_text("utf-8"))
    settings = {key: value for key, value in payload.items() if key in POLICY_KEYS}
    assert set(settings) == set(POLICY_KEYS)
    assert {key: settings[key] for key in example if key != "ca_bundle"} == {
        key: value for key, value in example.items() if key != "ca_bundle"
    }
    # Only ca_bundle is rejected here, because its file does not exist on
    # this machine.
    assert policy.locked == frozenset(POLICY_KEYS) - {"ca_bundle"}
    assert len(policy.problems) == 1
    assert "ca_bundle" in policy.problems[0]
