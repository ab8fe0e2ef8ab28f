"""``--tls-cert/--tls-key``: REST and gRPC both speak TLS, with a certificate made here."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from google.api_core import exceptions
from google.cloud import speech_v1
from google.cloud.speech_v1.services.speech.transports import SpeechGrpcTransport

from conftest import Server, corpus_file, start_server

pytestmark = pytest.mark.slow

NAME = "en_librispeech_1089-134686-0000.flac"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost / 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(tmp)
    # start_server polls http://.../healthz, which a TLS server does not answer: let the
    # wait use the certificate instead.
    running = start_server(
        tmp, "--tls-cert", str(cert), "--tls-key", str(key), scheme="https", verify=str(cert)
    )
    yield running, cert
    running.stop()


def test_grpc_and_rest_over_tls(tls_server: tuple[Server, Path]) -> None:
    server, cert = tls_server
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    channel = grpc.secure_channel(server.grpc_target, credentials)
    client = speech_v1.SpeechClient(transport=SpeechGrpcTransport(channel=channel))
    config = speech_v1.RecognitionConfig(language_code="en-US")
    content = corpus_file(NAME).read_bytes()
    response = client.recognize(config=config, audio=speech_v1.RecognitionAudio(content=content))
    assert "stew for dinner" in response.results[0].alternatives[0].transcript

    context = ssl.create_default_context(cafile=str(cert))
    health = httpx.get(f"https://127.0.0.1:{server.port}/healthz", verify=context, timeout=10)
    assert health.json()["status"] == "SERVING"

    # Plaintext is refused on both ports.
    plain = speech_v1.SpeechClient(
        transport=SpeechGrpcTransport(channel=grpc.insecure_channel(server.grpc_target))
    )
    with pytest.raises(exceptions.ServiceUnavailable):
        plain.recognize(
            config=config, audio=speech_v1.RecognitionAudio(content=content), retry=None, timeout=10
        )
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{server.url}/healthz", timeout=5)
