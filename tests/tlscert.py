"""Certificates for the tests' own TLS servers, made at run time (never stored): a self-signed one,
or a CA and a server certificate signed by it."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_LOCALHOST = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    signer: ec.EllipticCurvePrivateKey,
    san: x509.GeneralName | None,
    ca: bool,
) -> x509.Certificate:
    """A P-256/SHA-256 certificate valid from a day ago for two days."""
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
    )
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([san]), critical=False)
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(signer, hashes.SHA256())


def self_signed(folder: Path, common_name: str, san: x509.GeneralName, ca: bool = False) -> tuple[Path, Path]:
    """A self-signed certificate for ``san`` and its key, as PEM files ``<folder>/<common_name>.crt``
    and ``.key``. With ``ca`` it may also sign (a trust anchor of its own)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(common_name, key, _name(common_name), key, san, ca)
    stem = common_name.replace("*", "_")
    cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(_pem_key(key))
    return cert_path, key_path


def write_ca(directory: Path) -> Path:
    """Write ca.pem, server.pem and server.key (for 127.0.0.1, signed by the CA) into ``directory``;
    return ca.pem."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("flowradar test CA", ca_key, _name("flowradar test CA"), ca_key, None, True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate("127.0.0.1", key, ca.subject, ca_key, _LOCALHOST, False)
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(_pem_key(key))
    return directory / "ca.pem"
