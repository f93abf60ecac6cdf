"""SnowflakeSettings: password (snowlocal) or key pair (real Snowflake), and nothing else differs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

from meshplane.common.snowflake.settings import SnowflakeSettings


@pytest.fixture(autouse=True)
def no_mesh_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The settings read MESH_SNOWFLAKE_* from the environment; a developer's shell must not leak in.
    for name in list(os.environ):
        if name.startswith("MESH_SNOWFLAKE_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, passphrase: bytes | None = None) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.NoEncryption()
        if passphrase is None
        else serialization.BestAvailableEncryption(passphrase)
    )
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=encryption,
    ).decode()


def der(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


BASE: dict[str, Any] = {
    "account": "myorg-myaccount",
    "user": "MESH_PROVISIONER",
    "role": "mesh_provisioner",
    "warehouse": "mesh_wh",
}


def test_password_for_snowlocal() -> None:
    settings = SnowflakeSettings(
        **BASE, password="admin", host="127.0.0.1", port=8765, protocol="http", database="mesh"
    )
    assert settings.connect_kwargs() == {
        "account": "myorg-myaccount",
        "user": "MESH_PROVISIONER",
        "role": "MESH_PROVISIONER",
        "warehouse": "MESH_WH",
        "database": "MESH",
        "host": "127.0.0.1",
        "port": 8765,
        "protocol": "http",
        "login_timeout": 30,
        "password": "admin",
    }
    assert settings.private_key_der() is None


def test_key_pair_from_pem_text(rsa_key: rsa.RSAPrivateKey) -> None:
    settings = SnowflakeSettings(**BASE, private_key_pem=pem(rsa_key))
    kwargs = settings.connect_kwargs()
    assert kwargs["private_key"] == der(rsa_key)
    assert "password" not in kwargs
    assert "host" not in kwargs  # real Snowflake: the connector derives the host from the account


def test_key_pair_from_an_encrypted_file(rsa_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    key_file = tmp_path / "rsa_key.p8"
    key_file.write_text(pem(rsa_key, passphrase=b"s3cret"))
    settings = SnowflakeSettings(**BASE, private_key_path=key_file, private_key_passphrase="s3cret")
    assert settings.connect_kwargs()["private_key"] == der(rsa_key)


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch, rsa_key: rsa.RSAPrivateKey) -> None:
    monkeypatch.setenv("MESH_SNOWFLAKE_ACCOUNT", "acct")
    monkeypatch.setenv("MESH_SNOWFLAKE_USER", "svc")
    monkeypatch.setenv("MESH_SNOWFLAKE_ROLE", "r")
    monkeypatch.setenv("MESH_SNOWFLAKE_WAREHOUSE", "w")
    monkeypatch.setenv("MESH_SNOWFLAKE_PRIVATE_KEY_PEM", pem(rsa_key))
    settings = SnowflakeSettings()
    assert (settings.account, settings.role, settings.warehouse) == ("acct", "R", "W")
    assert settings.private_key_der() == der(rsa_key)


def test_secrets_stay_out_of_reprs(rsa_key: rsa.RSAPrivateKey) -> None:
    by_password = SnowflakeSettings(**BASE, password="hunter2")
    by_key = SnowflakeSettings(**BASE, private_key_pem=pem(rsa_key, b"pp"), private_key_passphrase="pp")
    assert "hunter2" not in repr(by_password)
    assert "hunter2" not in str(by_password)
    assert "PRIVATE KEY" not in repr(by_key)
    assert "'pp'" not in repr(by_key)


@pytest.mark.parametrize(
    "auth",
    [
        {},
        {"password": "admin", "private_key_pem": "PEM"},
        {"password": "admin", "private_key_path": "/key.p8"},
        {"private_key_pem": "PEM", "private_key_path": "/key.p8"},
    ],
    ids=["none", "password and pem", "password and path", "pem and path"],
)
def test_exactly_one_way_to_authenticate(auth: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="exactly one way to authenticate"):
        SnowflakeSettings(**BASE, **auth)


def test_a_passphrase_without_a_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="authentication is by password"):
        SnowflakeSettings(**BASE, password="admin", private_key_passphrase="pp")


def test_a_wrong_passphrase_is_refused_at_start_up(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValidationError, match="could not be loaded"):
        SnowflakeSettings(**BASE, private_key_pem=pem(rsa_key, b"right"), private_key_passphrase="wrong")


def test_an_encrypted_key_needs_its_passphrase(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValidationError, match="could not be loaded"):
        SnowflakeSettings(**BASE, private_key_pem=pem(rsa_key, b"right"))


def test_garbage_is_not_a_key() -> None:
    with pytest.raises(ValidationError, match="could not be loaded"):
        SnowflakeSettings(
            **BASE, private_key_pem="-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----"
        )


def test_a_missing_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read private_key_path"):
        SnowflakeSettings(**BASE, private_key_path=tmp_path / "absent.p8")


def test_key_pair_authentication_needs_an_rsa_key() -> None:
    with pytest.raises(ValidationError, match="needs an RSA key"):
        SnowflakeSettings(**BASE, private_key_pem=pem(ec.generate_private_key(ec.SECP256R1())))


@pytest.mark.parametrize("field", ["role", "warehouse", "database"])
def test_names_follow_the_mesh_rule(field: str) -> None:
    with pytest.raises(ValidationError, match="unsafe identifier"):
        SnowflakeSettings(**{**BASE, field: 'x"; DROP'}, password="admin")


def test_port_and_protocol_are_checked() -> None:
    with pytest.raises(ValidationError):
        SnowflakeSettings(**BASE, password="admin", port=70000)
    with pytest.raises(ValidationError):
        SnowflakeSettings(**BASE, password="admin", protocol="ftp")
