"""Hostile-traffic benchmark: idle and slow connections plus large unauthenticated bodies against the App; peak RSS
and the time it takes to shut down.

`python benchmarks/bench_hostile.py` runs `python -m bot serve` (the App as deployed, its real handlers) as a
subprocess on 127.0.0.1 and, from this process, with raw sockets:

1. opens `--idle` connections that send nothing and `--slow-heads` that send a request head one byte a second;
2. sends `--waves` waves of `--bodies` concurrent unauthenticated bodies of `--body-mib` MiB each (no valid
   signature), as fast as loopback takes them, and one signed `ping` in the middle of each wave;
3. opens `--slow-bodies` requests that declare a `--body-mib` MiB body and send 1 KiB of it a second;
4. sends SIGTERM while all of that is still open, and times the exit.

It prints the App's resident memory at rest and at its peak (the kernel's high-water mark, VmHWM), what the
large bodies were answered, and the time from SIGTERM to exit; exit status 1 when the memory grew past the
budget for unverified bodies plus the measured cost of the open connections, or the shutdown took longer than
SHUTDOWN_GRACE_SECONDS plus the App's 1 s to close connections (plus 1 s of slack). `--checkout DIR` runs the
App from another copy of the code (e.g. `git archive main | tar -x -C DIR`) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-hostile-secret"
MIB = 1024 * 1024
CLOSE_SECONDS = 1.0  # bot.app.server.CLOSE_SECONDS: how long connections get once the work has drained
SLACK_SECONDS = 1.0
#: What a connection that is sending at full speed may hold besides its body: aiohttp's read buffer (up to
#: 2 x 64 KiB before it stops reading) and one 256 KiB read of asyncio, rounded up.
SENDING_BUFFER_MIB = 0.5


@dataclass
class Tally:
    """What the hostile clients saw."""

    answers: Counter[str] = field(default_factory=Counter)
    pings: list[float] = field(default_factory=list)
    closed_by_app: Counter[str] = field(default_factory=Counter)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (the peak so far) of a process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def head(size: int, *, event: str = "push", signature: str = "sha256=" + "0" * 64) -> bytes:
    lines = [
        "POST /webhooks HTTP/1.1",
        "Host: app",
        "Content-Type: application/json",
        f"X-GitHub-Event: {event}",
        "X-GitHub-Delivery: 00000000-0000-0000-0000-000000000000",
        f"X-Hub-Signature-256: {signature}",
        f"Content-Length: {size}",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(answer: bytes) -> str:
    parts = answer.split(b" ", 2)
    return parts[1].decode() if len(parts) > 1 and parts[0].startswith(b"HTTP/") else "reset"


async def large_body(port: int, size: int, tally: Tally) -> None:
    """An unauthenticated body sent as fast as it goes; stops sending once the App has answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = asyncio.ensure_future(reader.read(256))
    block = b" " * (256 * 1024)
    try:
        writer.write(head(size))
        sent = 0
        while sent < size and not answer.done():
            piece = block[: min(len(block), size - sent)]
            writer.write(piece)
            await writer.drain()
            sent += len(piece)
        tally.answers[status_of(await asyncio.wait_for(answer, 60))] += 1
    except (ConnectionError, TimeoutError):
        tally.answers["reset"] += 1
    finally:
        answer.cancel()
        writer.close()


async def signed_ping(port: int, tally: Tally) -> None:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head(len(body), event="ping", signature=signature) + body)
    answer = await asyncio.wait_for(reader.read(256), 30)
    writer.close()
    tally.answers[f"signed ping {status_of(answer)}"] += 1
    tally.pings.append(time.monotonic() - started)


async def hold(port: int, kind: str, first: bytes, trickle: bytes, tally: Tally) -> None:
    """A connection that sends `first`, then `trickle` once a second, until the App closes it."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        tally.closed_by_app[f"{kind}: could not connect"] += 1
        return
    try:
        writer.write(first)
        while not reader.at_eof():
            with contextlib.suppress(TimeoutError):
                data = await asyncio.wait_for(reader.read(256), 1.0)
                if not data:
                    break
            if trickle:
                writer.write(trickle)
                await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
    tally.closed_by_app[kind] += 1


async def attack(args: argparse.Namespace, port: int, pid: int) -> tuple[Tally, dict[str, int], list[asyncio.Task]]:
    tally = Tally()
    held = [
        *(asyncio.ensure_future(hold(port, "idle", b"", b"", tally)) for _ in range(args.idle)),
        *(
            asyncio.ensure_future(hold(port, "slow head", b"POST /webhooks HTTP/1.1\r\n", b"X", tally))
            for _ in range(args.slow_heads)
        ),
    ]
    await asyncio.sleep(2)
    with_connections = memory_kib(pid)
    size = int(args.body_mib * MIB)
    for _ in range(args.waves):
        wave = [large_body(port, size, tally) for _ in range(args.bodies)]
        await asyncio.gather(*wave, signed_ping(port, tally))
    held += [
        asyncio.ensure_future(hold(port, "slow body", head(size) + b"{", b" " * 1024, tally))
        for _ in range(args.slow_bodies)
    ]
    await asyncio.sleep(2)
    return tally, with_connections, held


async def run(args: argparse.Namespace) -> int:
    port = free_port()
    checkout = Path(args.checkout).resolve() if args.checkout else ROOT
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(checkout),
        "PYTHONDONTWRITEBYTECODE": "1",
        "APP_ID": "1",
        "PRIVATE_KEY": private_key_pem(),
        "WEBHOOK_SECRET": SECRET,
        "GITHUB_API_URL": "http://127.0.0.1:9",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "SHUTDOWN_GRACE_SECONDS": str(args.grace),
        "DATA_DIR": tempfile.mkdtemp(prefix="bench-hostile-store-"),  # the App's store, not the checkout's
    }
    budget_mib = int(os.environ.get("UNVERIFIED_BODIES_MIB", "64"))
    app = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        at_rest = memory_kib(app.pid)["VmRSS"]
        tally, with_connections, held = await attack(args, port, app.pid)
        peak = memory_kib(app.pid)["VmHWM"]
        app.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        while app.poll() is None and time.monotonic() - stopping < args.wait_exit:
            await asyncio.sleep(0.05)
        took = time.monotonic() - stopping
        if app.poll() is None:
            app.kill()
        await asyncio.wait_for(asyncio.gather(*held, return_exceptions=True), 10)
    finally:
        if app.poll() is None:
            app.kill()
        output = app.communicate()[0]

    connections = args.idle + args.slow_heads
    per_connection_kib = max(0, with_connections["VmRSS"] - at_rest) / max(connections, 1)
    connections_mib = (with_connections["VmRSS"] - at_rest) / 1024
    allowed_mib = budget_mib + connections_mib + SENDING_BUFFER_MIB * args.bodies
    grew_mib = (peak - at_rest) / 1024
    bound = args.grace + CLOSE_SECONDS + SLACK_SECONDS
    print(f"App from {checkout}, SHUTDOWN_GRACE_SECONDS={args.grace}, UNVERIFIED_BODIES_MIB={budget_mib} (default)")
    print(
        f"load: {args.idle} idle and {args.slow_heads} slow-head connections, {args.waves} waves of {args.bodies}"
        f" unauthenticated {args.body_mib:g} MiB bodies (+1 signed ping each), then {args.slow_bodies} slow bodies"
    )
    print(f"RSS at rest:                      {at_rest / 1024:7.1f} MiB")
    print(f"RSS with the connections open:    {with_connections['VmRSS'] / 1024:7.1f} MiB"
          f" ({per_connection_kib:.1f} KiB per connection)")  # fmt: skip
    print(f"peak RSS (VmHWM):                 {peak / 1024:7.1f} MiB (+{grew_mib:.1f} MiB over rest)")
    print(f"large bodies answered:            {dict(sorted(tally.answers.items()))}")
    if tally.pings:
        print(f"signed ping during each wave:     slowest {max(tally.pings) * 1000:.0f} ms")
    print(f"connections closed by the App:    {dict(sorted(tally.closed_by_app.items()))}")
    print(f"SIGTERM to exit:                  {took:7.2f} s")
    memory_ok = grew_mib <= allowed_mib
    shutdown_ok = took <= bound and app.returncode is not None
    print(
        f"memory growth {grew_mib:.1f} MiB <= budget {budget_mib} MiB + open connections {connections_mib:.1f} MiB"
        f" + {SENDING_BUFFER_MIB:g} MiB x {args.bodies} senders = {allowed_mib:.1f} MiB:"
        f" {'PASS' if memory_ok else 'MISS'}"
    )
    print(f"shutdown {took:.2f} s <= grace + close + slack {bound:.1f} s: {'PASS' if shutdown_ok else 'MISS'}")
    tracebacks = output.count("Traceback")
    print(f"tracebacks in the App's log: {tracebacks}" + ("" if not tracebacks else "\n" + output[-3000:]))
    return 0 if memory_ok and shutdown_ok and not tracebacks else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=500, help="idle connections (default 500)")
    parser.add_argument("--slow-heads", type=int, default=500, help="connections sending a head slowly (500)")
    parser.add_argument("--bodies", type=int, default=40, help="concurrent large bodies per wave (40)")
    parser.add_argument("--waves", type=int, default=3, help="waves of large bodies (3)")
    parser.add_argument("--body-mib", type=float, default=24, help="size of each large body in MiB (24)")
    parser.add_argument("--slow-bodies", type=int, default=20, help="requests sending their body slowly (20)")
    parser.add_argument("--grace", type=float, default=5, help="SHUTDOWN_GRACE_SECONDS of the App (5)")
    parser.add_argument("--wait-exit", type=float, default=120, help="give up waiting for the exit after (120 s)")
    parser.add_argument("--checkout", help="run the App from this copy of the code instead of this one")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
