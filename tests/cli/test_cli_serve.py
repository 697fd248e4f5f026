"""`python -m bot serve` as a real process: it listens, answers, and exits cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from helpers import WEBHOOK_SECRET, official_payload, private_key_pem, signed_headers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_then_stops_on_sigterm(tmp_path):
    port = free_port()
    env = dict(
        os.environ,
        DATA_DIR=str(tmp_path),
        APP_ID="1",
        PRIVATE_KEY=private_key_pem(),
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        GITHUB_API_URL="http://127.0.0.1:9",
        PORT=str(port),
        HOST="127.0.0.1",
        LOG_FORMAT="json",
        SHUTDOWN_GRACE_SECONDS="5",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "the App did not start"
                time.sleep(0.1)
        body = json.dumps(official_payload("ping", "payload.json", installation_id=None)).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/webhooks", data=body, headers=signed_headers("ping", body), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        logs = process.stderr.read().decode()
        assert "Traceback" not in logs and private_key_pem().splitlines()[1] not in logs and WEBHOOK_SECRET not in logs
        assert any(
            json.loads(line).get("message", "").startswith("stopping")
            for line in logs.splitlines()
            if line.startswith("{")
        )
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
