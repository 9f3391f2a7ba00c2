"""Vault throughput and server memory: a 50 MB upload and download through the API.

Starts `consent-service serve` (local vault backend, SQLite) on a loopback port in a temporary
data directory, registers a holder, then uploads a 50 MB WAV (random PCM: nothing to compress,
every byte goes through sniffing, de-identification, HMAC, chunked AES-GCM and the store) and
downloads it again, streaming both ways; the fastest of `--repeat` rounds counts (the machine
is shared, and other load only ever slows a round down). The baseline is a plain file copy of
the same file on the same disk (with fsync, as the vault's store does). Server memory growth
is the rise of the server process's peak resident set (VmHWM in /proc/<pid>/status, reset after
warm-up through /proc/<pid>/clear_refs) over the RSS after warm-up.

Then the decompression-bomb case (issue 11, item 1): `--bomb-threads` threads (default 8) each
upload a PNG of about 150 KB that declares 7000 x 7000 RGB pixels (147 MB decoded),
`--bomb-rounds` times, all in flight together; the server must refuse every one (413
image_too_large_decoded) and its peak RSS over that phase (VmHWM, reset before it) is reported.

Usage: .venv/bin/python bench/vault.py [--mb 50] [--bomb-threads 8]
The last line printed is JSON: upload_mb_s, download_mb_s, raw_copy_mb_s, ratios,
server_peak_rss_growth_mb and bomb_peak_rss_mb. Targets: both ratios >= 0.25, growth < 64 MB
(issue 5); bomb_peak_rss_mb < 256 (issue 11).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.server import ROOT, free_port  # noqa: E402


def make_wav(path: Path, size: int) -> None:
    """A PCM WAV of about `size` bytes of random samples, written in 1 MiB blocks."""
    data_size = size - 44
    data_size -= data_size % 4
    with open(path, "wb") as fh:
        fh.write(b"RIFF" + struct.pack("<I", 36 + data_size) + b"WAVE")
        fh.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 2, 48000, 48000 * 4, 4, 16))
        fh.write(b"data" + struct.pack("<I", data_size))
        left = data_size
        while left:
            block = os.urandom(min(left, 1024 * 1024))
            fh.write(block)
            left -= len(block)


def png_bomb(width: int = 7000, height: int = 7000) -> bytes:
    """A valid single-colour RGB PNG, compressed row by row (no full-size image is ever made)."""
    row = b"\x00" + b"\x7f" * (width * 3)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def bomb_phase(
    base: str, url: str, headers: dict[str, str], threads: int, rounds: int
) -> Counter[str]:
    """`threads` uploads of the bomb in flight at once, `rounds` times each; their answers."""
    bomb = png_bomb()
    answers: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def run() -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            start.wait()
            for _ in range(rounds):
                r = http.post(
                    url,
                    headers=headers,
                    files={"file": ("bomb.png", bomb, "image/png")},
                    data={"attribute": "face"},
                )
                code = r.json().get("code", "") if r.status_code >= 400 else ""
                with lock:
                    answers[f"{r.status_code} {code}".strip()] += 1

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return answers


def proc_status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0, `echo 5 > /proc/PID/clear_refs`)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def same_file(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def raw_copy_seconds(src: Path, dst: Path) -> float:
    started = time.perf_counter()
    shutil.copyfile(src, dst)
    with open(dst, "rb+") as fh:
        os.fsync(fh.fileno())
    elapsed = time.perf_counter() - started
    dst.unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds; the fastest counts (shared machines)"
    )
    parser.add_argument("--bomb-threads", type=int, default=8, help="bomb uploads in flight")
    parser.add_argument("--bomb-rounds", type=int, default=3, help="bomb uploads per thread")
    args = parser.parse_args()
    size = args.mb * 1_000_000

    work = Path(tempfile.mkdtemp(prefix="vault-bench-"))
    data_dir = work / "data"
    source = work / "sample.wav"
    make_wav(source, size)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CONSENT_DATA_DIR": str(data_dir),
        "CONSENT_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "CONSENT_ISSUER": base,
        "CONSENT_VAULT_BACKEND": "local",
        "CONSENT_ARGON2_MEMORY_KIB": "1024",
        "CONSENT_ARGON2_TIME_COST": "1",
        "CONSENT_LOG_LEVEL": "WARNING",
    }
    cli = Path(sys.executable).with_name("consent-service")
    server = subprocess.Popen(
        [str(cli), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("server did not start")
                time.sleep(0.2)
            body = {
                "legal_name": "Bench Person",
                "email": "bench@example.org",
                "password": "a long enough passphrase",
                "date_of_birth": "1990-01-01",
                "jurisdiction": "GB",
            }
            client.post("/v1/holders", json=body).raise_for_status()
            token = client.post(
                "/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": body["email"],
                    "password": body["password"],
                },
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            holder_id = client.get("/v1/holders/me", headers=headers).json()["id"]
            url = f"/v1/holders/{holder_id}/references"

            # Warm-up: a small upload and download load Pillow, mutagen and the code paths.
            small = work / "small.wav"
            make_wav(small, 200_000)
            with open(small, "rb") as fh:
                r = client.post(
                    url, headers=headers, files={"file": fh}, data={"attribute": "voice"}
                )
            r.raise_for_status()
            client.get(f"/v1/references/{r.json()['id']}/content", headers=headers).read()
            # From here on, VmHWM is the peak of the measured transfers alone (when the reset
            # is not allowed, it still includes start-up, and the growth reads low).
            peak_was_reset = reset_peak_rss(server.pid)
            baseline_kib = proc_status_kib(server.pid, "VmRSS")

            upload_s = download_s = float("inf")
            for _ in range(args.repeat):
                started = time.perf_counter()
                with open(source, "rb") as fh:
                    r = client.post(
                        url,
                        headers=headers,
                        files={"file": ("s.wav", fh)},
                        data={"attribute": "voice"},
                    )
                upload_s = min(upload_s, time.perf_counter() - started)
                r.raise_for_status()
                ref = r.json()
                if ref.get("duplicate"):
                    raise SystemExit("the previous copy was not deleted")

                target = work / "download.wav"
                content = f"/v1/references/{ref['id']}/content"
                started = time.perf_counter()
                received = 0
                with client.stream("GET", content, headers=headers) as s:
                    s.raise_for_status()
                    with open(target, "wb") as out:
                        for chunk in s.iter_bytes(1024 * 1024):
                            out.write(chunk)
                            received += len(chunk)
                download_s = min(download_s, time.perf_counter() - started)
                if received != ref["size"] or not same_file(target, source):
                    raise SystemExit("download does not match the upload")
                target.unlink()
                # Delete it, or the next round would be answered as a duplicate.
                client.delete(f"/v1/references/{ref['id']}", headers=headers).raise_for_status()
            peak_kib = proc_status_kib(server.pid, "VmHWM")

            # The decompression-bomb case: the peak over this phase alone.
            bomb_reset = reset_peak_rss(server.pid)
            bomb_before_kib = proc_status_kib(server.pid, "VmRSS")
            bomb_answers = bomb_phase(base, url, headers, args.bomb_threads, args.bomb_rounds)
            bomb_peak_kib = proc_status_kib(server.pid, "VmHWM")
            if set(bomb_answers) != {"413 image_too_large_decoded"}:
                raise SystemExit(f"the bomb was not refused as expected: {dict(bomb_answers)}")
        raw_s = min(raw_copy_seconds(source, work / "copy.wav") for _ in range(args.repeat))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)

    mb = size / 1_000_000
    result = {
        "file_mb": round(mb, 1),
        "upload_mb_s": round(mb / upload_s, 1),
        "download_mb_s": round(mb / download_s, 1),
        "raw_copy_mb_s": round(mb / raw_s, 1),
        "upload_ratio": round(raw_s / upload_s, 3),
        "download_ratio": round(raw_s / download_s, 3),
        "server_peak_rss_mb": round(peak_kib / 1024, 1),
        "server_peak_rss_growth_mb": round((peak_kib - baseline_kib) / 1024, 1),
        "peak_reset": peak_was_reset,
        "bomb_uploads_in_flight": args.bomb_threads,
        "bomb_uploads": sum(bomb_answers.values()),
        "bomb_answers": dict(bomb_answers),
        "bomb_peak_rss_mb": round(bomb_peak_kib / 1024, 1),
        "bomb_rss_before_mb": round(bomb_before_kib / 1024, 1),
        "bomb_peak_reset": bomb_reset,
    }
    print(
        f"best of {args.repeat}: upload {upload_s:.3f}s, download {download_s:.3f}s, "
        f"raw copy {raw_s:.3f}s; server peak RSS {peak_kib / 1024:.1f} MB "
        f"(after warm-up {baseline_kib / 1024:.1f} MB)"
    )
    print(
        f"decompression bomb: {args.bomb_threads} uploads in flight x {args.bomb_rounds}: "
        f"{dict(bomb_answers)}; server peak RSS {bomb_peak_kib / 1024:.1f} MB "
        f"(before {bomb_before_kib / 1024:.1f} MB; target < 256 MB)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
