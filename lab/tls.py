"""The lab's certificate authority: a CA made once, and server certificates it signs for the hostnames the
lab's EIPs serve (the maintenance page's, the new cluster's own), as a real account gets them from its CA.

    ca = CertificateAuthority.create(directory)        # ca.pem, ca.key (0600)
    cert, key = ca.issue(["www.example.test"], directory, "maintenance")

From a shell: python -m lab.tls DIR STEM NAME...
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID = datetime.timedelta(days=30)


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_bytes(pem)


@dataclass
class CertificateAuthority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    path: Path  # the CA certificate (PEM): what clients trust

    @classmethod
    def create(cls, directory: Path, name: str = "clusterswap lab CA") -> CertificateAuthority:
        """The CA in `directory` (ca.pem, ca.key), made if missing: the same CA across runs of the lab."""
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / "ca.pem", directory / "ca.key"
        if cert_path.exists() and key_path.exists():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            return cls(cert, key, cert_path)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALID)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(key, hashes.SHA256())
        )
        _write_key(key, key_path)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(cert, key, cert_path)

    def issue(self, names: list[str], directory: Path, stem: str) -> tuple[Path, Path]:
        """A server certificate for `names` (the first is its subject), signed by this CA: `stem`.pem (the
        certificate, then the CA's: the chain a server sends) and `stem`.key (0600)."""
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALID)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
        pem = cert.public_bytes(serialization.Encoding.PEM) + self.cert.public_bytes(
            serialization.Encoding.PEM
        )
        cert_path.write_bytes(pem)
        _write_key(key, key_path)
        os.chmod(cert_path, 0o644)
        return cert_path, key_path


def fingerprint(cert_path: Path) -> str:
    """The SHA-256 fingerprint (hex, of the DER form) of the first certificate in a PEM file."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex()


def main(argv: list[str] | None = None) -> None:
    """`python -m lab.tls DIR STEM NAME...`: the CA in DIR (made if missing); STEM.pem, STEM.key for NAMEs."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m lab.tls", description=main.__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("stem")
    parser.add_argument("names", nargs="+")
    args = parser.parse_args(argv)
    ca = CertificateAuthority.create(args.directory)
    cert, key = ca.issue(args.names, args.directory, args.stem)
    print(f"{ca.path} {cert} {key}")


if __name__ == "__main__":
    main()
