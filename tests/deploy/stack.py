"""A real deployment on loopback: a test CA, nginx from deploy/nginx/etanche.conf, and
`etanche serve` application servers sharing one installation."""

import contextlib
import hashlib
import hmac
import shutil
import struct
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.cli_helpers import ETANCHE, run_etanche
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _openssl(*args, cwd):
    subprocess.run([shutil.which("openssl") or "/usr/bin/openssl", *args], cwd=cwd, check=True,
                   capture_output=True)


def make_test_ca(where: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate chain, server key) for localhost and 127.0.0.1."""
    where.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Etanche test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", cwd=where)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=where)
    (where / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                   "extendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext",
             cwd=where)
    return where / "ca.pem", where / "server.pem", where / "server.key"


def render_site(*, http_port, https_port, apps, cert, key, error_log) -> str:
    """deploy/nginx/etanche.conf with only its "# test:" lines changed."""
    text = (DEPLOY / "nginx" / "etanche.conf").read_text()
    swaps = {
        "server 127.0.0.1:8001 max_fails=1 fail_timeout=10s;  # test: app 1":
            f"server 127.0.0.1:{apps[0]} max_fails=1 fail_timeout=10s;",
        "server 127.0.0.1:8002 max_fails=1 fail_timeout=10s;  # test: app 2":
            f"server 127.0.0.1:{apps[1]} max_fails=1 fail_timeout=10s;",
        "listen 80;  # test: http port": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;  # test: https port": f"listen 127.0.0.1:{https_port} ssl;",
        "server_name lis.lab.example;  # test: server name": "server_name localhost;",
        "ssl_certificate /etc/etanche/tls/fullchain.pem;  # test: certificate":
            f"ssl_certificate {cert};",
        "ssl_certificate_key /etc/etanche/tls/privkey.pem;  # test: key":
            f"ssl_certificate_key {key};",
        "error_log /var/log/nginx/etanche-error.log warn;  # test: error log":
            f"error_log {error_log} warn;",
    }
    for old, new in swaps.items():
        assert old in text, f"deploy/nginx/etanche.conf lost the line {old!r}"
        text = text.replace(old, new)
    left = [line for line in text.splitlines()
            if "# test:" in line and not line.lstrip().startswith("#")]
    assert not left, f"lines marked for the test but not replaced: {left}"
    return text


@contextlib.contextmanager
def running_nginx(where: Path, site: str):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    where.mkdir(parents=True, exist_ok=True)
    (where / "site.conf").write_text(site)
    temp = where / "temp"
    temp.mkdir()
    temp.chmod(0o777)
    (where / "nginx.conf").write_text(f"""
daemon off;
worker_processes 1;
pid {where}/nginx.pid;
error_log {where}/main-error.log warn;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {where}/site.conf;
}}
""")
    check = subprocess.run([nginx, "-t", "-p", str(where), "-c", str(where / "nginx.conf")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([nginx, "-p", str(where), "-c", str(where / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        assert process.poll() is None, process.stderr.read().decode()
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


class AppServer:
    """One `etanche serve` (gunicorn) on a loopback port, without its own task worker."""

    def __init__(self, env: dict, port: int | None = None):
        self.port = port or free_port()
        self.env = env
        self.log = tempfile.TemporaryFile()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [ETANCHE, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "2"],
            env={**self.env, "ETANCHE_SERVE_WORKER": "0", "ETANCHE_HOUSEKEEPING_SECONDS": "0"},
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(  # noqa: S310  loopback
                        f"http://127.0.0.1:{self.port}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"etanche serve did not start: {self.output()}") from None
                time.sleep(0.2)

    def output(self, last: int | None = 4000) -> str:
        self.log.seek(0)
        text = self.log.read().decode(errors="replace")
        return text[-last:] if last else text

    def stop(self, signal_kill: bool = False):
        if self.process and self.process.poll() is None:
            (self.process.kill if signal_kill else self.process.terminate)()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


SETUP_USER = """
from django.utils import timezone
from etanche.accounts.models import SealedTOTPDevice, User
user = User.objects.get(username={username!r})
user.set_password({password!r})
user.must_change_password = False
user.password_changed_at = timezone.now()
user.save()
SealedTOTPDevice.objects.filter(user=user).delete()
device = SealedTOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)
print("key=" + device.bin_key.hex())
"""


def ready_user(env, username: str, password: str) -> bytes:
    """Give a demo account a known password and a confirmed TOTP; returns the TOTP key."""
    out = run_etanche("shell", "-c", SETUP_USER.format(username=username, password=password),
                      env=env)
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("key="))
    return bytes.fromhex(line[4:])


def totp(key: bytes, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"
