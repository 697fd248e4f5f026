"""Webhook intake benchmark: the App vs a bare aiohttp handler vs a minimal Probot app, same load, loopback only.

`python benchmarks/bench_intake.py` starts each target as its own subprocess on a free 127.0.0.1 port, checks
that it answers one signed delivery with 2xx (and rejects a badly signed one), warms it up, drives it for a
fixed time with wrk (or, without wrk, an aiohttp client) at a fixed concurrency, stops it, and prints a table.
Every delivery is GitHub's 19 KB `workflow_run.completed` example with its own X-GitHub-Delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import hmac
import http.client
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

BENCHMARKS = Path(__file__).resolve().parent
PAYLOAD = BENCHMARKS.parent / "tests" / "fixtures" / "github-webhooks" / "workflow_run" / "completed.payload.json"
PROBOT_APP = BENCHMARKS / "probot_app"
WRK_SCRIPT = BENCHMARKS / "intake_load.lua"
WEBHOOK_PATH = "/api/github/webhooks"  # Probot's default; the App serves it too
WEBHOOK_SECRET = "bench-webhook-secret"
TARGET_NAMES = ("app", "bare", "bare-buffered", "probot")
TARGET_TITLES = {
    "app": "App (no-op handler)",
    "bare": "bare aiohttp",
    "bare-buffered": "bare, read_nowait",
    "probot": "Probot 14 (no-op)",
}
SERVER_CPU, LOAD_CPU = "0", "1"

# What the App should reach: throughput vs Probot and vs the bare handler, and the p99 time to the 202.
APP_OVER_PROBOT_TARGET = 1.5
APP_OVER_BARE_TARGET = 0.5
APP_P99_TARGET_MS = 10.0


@dataclass(frozen=True)
class LoadResult:
    """What one timed load run against one target measured."""

    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    server_cpu_us: float = 0.0  # the server's CPU time (user + system) per request
    gc_pauses: dict[str, dict[str, float]] | None = None  # the App's garbage collections once serving

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Summary:
    """One target over all rounds: median throughput and latencies, the spread, and every failed answer."""

    rounds: int
    requests_per_second: float
    slowest_round: float
    fastest_round: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    server_cpu_us: float


@dataclass(frozen=True)
class LoadPlan:
    """The same load for every target: the signed delivery, how hard, how long, and with what."""

    body: bytes
    body_path: Path
    signature: str
    connections: int
    warmup_seconds: float
    measured_seconds: float
    use_wrk: bool
    pin: bool


@dataclass(frozen=True)
class Target:
    """How to start one server under test."""

    name: str
    port: int
    command: list[str]
    cwd: Path
    env: dict[str, str]
    verifies_signature: bool


# ---------------------------------------------------------------- pure helpers


def delivery_body(payload: dict[str, object]) -> bytes:
    """The delivery as GitHub sends it to an App: the example payload plus an installation object."""
    return orjson.dumps({**payload, "installation": {"id": 1, "node_id": "x"}})


def signature_header(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values))))
    return sorted_values[rank - 1]


def parse_wrk_output(stdout: str) -> LoadResult:
    """Read the `WRK_RESULT {...}` line that intake_load.lua prints when wrk is done."""
    for line in stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            fields = json.loads(line.removeprefix("WRK_RESULT "))
            return LoadResult(
                requests=fields["requests"],
                seconds=fields["duration_us"] / 1e6,
                non_2xx=fields["non_2xx"],
                socket_errors=fields["socket_errors"],
                p50_ms=fields["p50_us"] / 1000,
                p99_ms=fields["p99_us"] / 1000,
            )
    raise ValueError(f"wrk printed no WRK_RESULT line:\n{stdout}")


def summarize(runs: Sequence[LoadResult]) -> Summary:
    """Medians over the rounds, so that one round slowed down by a noisy neighbour does not decide the result."""
    throughputs = [run.requests_per_second for run in runs]
    return Summary(
        rounds=len(runs),
        requests_per_second=statistics.median(throughputs),
        slowest_round=min(throughputs),
        fastest_round=max(throughputs),
        p50_ms=statistics.median(run.p50_ms for run in runs),
        p99_ms=statistics.median(run.p99_ms for run in runs),
        requests=sum(run.requests for run in runs),
        non_2xx=sum(run.non_2xx for run in runs),
        socket_errors=sum(run.socket_errors for run in runs),
        server_cpu_us=statistics.median(run.server_cpu_us for run in runs),
    )


def render_table(summaries: dict[str, Summary]) -> str:
    header = (
        f"{'target':<20} {'req/s':>7} {'(min-max)':>13} {'p50 ms':>7} {'p99 ms':>7} {'CPU us/req':>10}"
        f" {'non-2xx':>7} {'sock err':>8} {'requests':>9}"
    )
    rows = [header, "-" * len(header)]
    for name, summary in summaries.items():
        spread = f"({summary.slowest_round:.0f}-{summary.fastest_round:.0f})"
        rows.append(
            f"{TARGET_TITLES[name]:<20} {summary.requests_per_second:>7.0f} {spread:>13} "
            f"{summary.p50_ms:>7.2f} {summary.p99_ms:>7.2f} {summary.server_cpu_us:>10.1f}"
            f" {summary.non_2xx:>7d} {summary.socket_errors:>8d} {summary.requests:>9d}"
        )
    return "\n".join(rows)


def median_ratio(runs: Sequence[LoadResult], peer_runs: Sequence[LoadResult]) -> float:
    """Median over the rounds of throughput / the peer's throughput in the same round (measured close in time)."""
    return statistics.median(
        run.requests_per_second / peer.requests_per_second
        for run, peer in zip(runs, peer_runs, strict=True)
        if peer.requests_per_second > 0
    )


def verdict_lines(runs: dict[str, list[LoadResult]]) -> list[str]:
    """The App's targets, each with its measured value and PASS/MISS; a ratio whose peer did not run is left out."""

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    lines = []
    app = runs.get("app")
    if app and runs.get("probot"):
        ratio = median_ratio(app, runs["probot"])
        lines.append(
            f"App / Probot throughput: {ratio:.2f}x (target >= {APP_OVER_PROBOT_TARGET}x) "
            f"{verdict(ratio >= APP_OVER_PROBOT_TARGET)}"
        )
    if app and runs.get("bare"):
        ratio = median_ratio(app, runs["bare"])
        lines.append(
            f"App / bare aiohttp throughput: {ratio:.0%} (target >= {APP_OVER_BARE_TARGET:.0%}) "
            f"{verdict(ratio >= APP_OVER_BARE_TARGET)}"
        )
    if app and runs.get("bare-buffered"):
        ratio = median_ratio(app, runs["bare-buffered"])
        lines.append(
            f"App / bare aiohttp with read_nowait, as the App reads: {ratio:.0%} (no target; the tighter floor)"
        )
    if app:
        p99_ms = summarize(app).p99_ms
        lines.append(
            f"App p99 ack: {p99_ms:.2f} ms (target < {APP_P99_TARGET_MS:g} ms) {verdict(p99_ms < APP_P99_TARGET_MS)}"
        )
    failed = sum(run.non_2xx + run.socket_errors for target_runs in runs.values() for run in target_runs)
    lines.append(f"non-2xx answers + socket errors, all targets: {failed} (must be 0) {verdict(failed == 0)}")
    return lines


# ---------------------------------------------------------------- processes and load


def generate_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def machine_description() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def make_target(name: str, port: int, private_key_pem: str, pin: bool) -> Target:
    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(BENCHMARKS.parent),  # this checkout's `bot`, not whichever one is installed
    }
    secrets_env = {**base_env, "WEBHOOK_SECRET": WEBHOOK_SECRET, "PRIVATE_KEY": private_key_pem}
    pin_prefix = ["taskset", "-c", SERVER_CPU] if pin else []
    servers = str(BENCHMARKS / "intake_servers.py")
    if name == "app":
        command = [sys.executable, servers, "app", "--port", str(port)]
        return Target(name, port, pin_prefix + command, BENCHMARKS, secrets_env, verifies_signature=True)
    if name in ("bare", "bare-buffered"):
        command = [sys.executable, servers, name, "--port", str(port)]
        return Target(name, port, pin_prefix + command, BENCHMARKS, base_env, verifies_signature=False)
    probot_env = {
        **secrets_env,
        "APP_ID": "1",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "warn",
        "NODE_ENV": "production",
    }
    command = ["node", "node_modules/probot/bin/probot.js", "run", "./index.js"]
    return Target(name, port, pin_prefix + command, PROBOT_APP, probot_env, verifies_signature=True)


def ensure_probot_installed() -> None:
    if (PROBOT_APP / "node_modules" / "probot" / "package.json").exists():
        return
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("The Probot target needs Node.js 20+ and npm on PATH (or run with --targets app,bare).")
    print("installing Probot into benchmarks/probot_app/node_modules (first run only) ...", flush=True)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--no-package-lock"], cwd=PROBOT_APP, check=True, timeout=600
    )


def wait_until_listening(process: subprocess.Popen[bytes], port: int, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited with {process.returncode} before listening:\n{log_path.read_text()[-3000:]}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(
        f"the server did not listen on 127.0.0.1:{port} within {timeout:.0f} s:\n{log_path.read_text()[-3000:]}"
    )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL it if it has not exited after 10 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (`/proc/<pid>/stat`, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def running(target: Target, log_dir: Path) -> Iterator[tuple[Path, int]]:
    """Start the target in its own session (so it can be stopped as a group), yield its log file and process id,
    always stop it."""
    log_path = log_dir / f"{target.name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            target.command,
            cwd=target.cwd,
            env=target.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_listening(process, target.port, log_path)
        yield log_path, process.pid
    finally:
        stop_process(process)


def post_once(port: int, body: bytes, signature: str, delivery_id: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(
            "POST",
            WEBHOOK_PATH,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "GitHub-Hookshot/bench",
                "X-GitHub-Event": "workflow_run",
                "X-GitHub-Delivery": delivery_id,
                "X-Hub-Signature-256": signature,
            },
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def check_target(target: Target, body: bytes, signature: str, log_path: Path) -> None:
    """Fail loudly unless a signed delivery gets 2xx and, where the target verifies, a badly signed one gets 4xx."""
    status, answer = post_once(target.port, body, signature, "check-signed")
    if not 200 <= status < 300:
        raise RuntimeError(
            f"{target.name}: a correctly signed delivery got {status} {answer[:200]!r}\n{log_path.read_text()[-3000:]}"
        )
    if target.verifies_signature:
        status, answer = post_once(target.port, body, signature_header(body, "not-the-secret"), "check-badly-signed")
        if not 400 <= status < 500:
            raise RuntimeError(
                f"{target.name}: a badly signed delivery got {status} {answer[:200]!r}, the signature is not checked"
            )


def run_wrk(
    port: int, seconds: float, connections: int, body_path: Path, signature: str, delivery_prefix: str, pin: bool
) -> LoadResult:
    command = [
        "wrk",
        "--threads",
        "1",
        "--connections",
        str(connections),
        "--duration",
        f"{seconds:g}s",
        "--timeout",
        "5s",
        "--script",
        str(WRK_SCRIPT),
        f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
        "--",
        str(body_path),
        signature,
        delivery_prefix,
    ]
    if pin:
        command = ["taskset", "-c", LOAD_CPU, *command]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return parse_wrk_output(completed.stdout)


async def run_aiohttp_load(
    port: int, seconds: float, connections: int, body: bytes, signature: str, delivery_prefix: str
) -> LoadResult:
    """The fallback load generator: `connections` workers, each posting one delivery after the other."""
    url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/bench",
        "X-GitHub-Event": "workflow_run",
        "X-Hub-Signature-256": signature,
    }
    latencies: list[float] = []
    non_2xx = socket_errors = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(session: aiohttp.ClientSession, worker_number: int) -> None:
        nonlocal non_2xx, socket_errors
        sent = 0
        while time.perf_counter() < deadline:
            sent += 1
            request_started = time.perf_counter()
            try:
                async with session.post(
                    url,
                    data=body,
                    headers={**headers, "X-GitHub-Delivery": f"{delivery_prefix}-{worker_number}-{sent}"},
                ) as response:
                    await response.read()
                    non_2xx += not 200 <= response.status < 300
            except aiohttp.ClientError:
                socket_errors += 1
                continue
            latencies.append(time.perf_counter() - request_started)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session, number) for number in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return LoadResult(
        len(latencies),
        elapsed,
        non_2xx,
        socket_errors,
        percentile(latencies, 0.50) * 1000,
        percentile(latencies, 0.99) * 1000,
    )


def measure(target: Target, plan: LoadPlan, log_dir: Path) -> LoadResult:
    """Start the target, check it, warm it up, then return what the timed run measured."""

    def load(phase: str, seconds: float) -> LoadResult:
        prefix = f"{target.name}-{phase}"
        if plan.use_wrk:
            return run_wrk(target.port, seconds, plan.connections, plan.body_path, plan.signature, prefix, plan.pin)
        return asyncio.run(run_aiohttp_load(target.port, seconds, plan.connections, plan.body, plan.signature, prefix))

    with running(target, log_dir) as (log_path, pid):
        check_target(target, plan.body, plan.signature, log_path)
        load("warmup", plan.warmup_seconds)
        cpu_before = cpu_seconds(pid)
        result = load("measure", plan.measured_seconds)
        cpu_us = (cpu_seconds(pid) - cpu_before) * 1e6 / max(result.requests, 1)
    return dataclasses.replace(result, server_cpu_us=cpu_us, gc_pauses=gc_pauses_in(log_path.read_text()))


def gc_pauses_in(log: str) -> dict[str, dict[str, float]] | None:
    """The `GC_PAUSES {...}` line the App's benchmark server prints when it stops (intake_servers.py)."""
    for line in log.splitlines():
        if line.startswith("GC_PAUSES "):
            pauses: dict[str, dict[str, float]] = json.loads(line.removeprefix("GC_PAUSES "))
            return pauses
    return None


def gc_line(runs: Sequence[LoadResult]) -> str | None:
    """The App's garbage collections once serving, over all rounds (warm-ups included): count and pauses."""
    recorded = [run.gc_pauses for run in runs if run.gc_pauses]
    if not recorded:
        return None
    parts = []
    for generation in ("gen0", "gen1", "gen2"):
        count = sum(int(pauses[generation]["count"]) for pauses in recorded)
        longest = max(pauses[generation]["max_ms"] for pauses in recorded)
        total = sum(pauses[generation]["total_ms"] for pauses in recorded)
        parts.append(f"{generation} {count} ({total:.0f} ms in all, longest {longest:.1f} ms)")
    return "App garbage collections, all rounds: " + ", ".join(parts)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--targets",
        default=",".join(TARGET_NAMES),
        help="comma-separated subset of app,bare,bare-buffered,probot (default: all, in that order)",
    )
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds over all targets, each target restarted per round (default 5)"
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="measured seconds per target and round (default 10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="warm-up seconds per target, not measured (default 3)"
    )
    parser.add_argument(
        "--load-generator",
        choices=["auto", "wrk", "aiohttp"],
        default="auto",
        help="auto: wrk if on PATH, else the aiohttp client",
    )
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin the server to CPU 0 and the load generator to CPU 1"
    )
    args = parser.parse_args(argv)
    args.targets = [name.strip() for name in args.targets.split(",") if name.strip()]
    unknown = set(args.targets) - set(TARGET_NAMES)
    if unknown or not args.targets:
        parser.error(f"--targets takes names from {', '.join(TARGET_NAMES)}; got {args.targets}")
    if args.rounds < 1 or args.connections < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("--rounds and --connections must be at least 1, --duration positive, --warmup not negative")
    if args.load_generator == "wrk" and shutil.which("wrk") is None:
        parser.error("wrk is not on PATH (Debian/Ubuntu: apt-get install -y wrk)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    # Ctrl-C and SIGTERM unwind through the `finally` blocks that stop the servers, even when started in the background.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    use_wrk = args.load_generator == "wrk" or (args.load_generator == "auto" and shutil.which("wrk") is not None)
    if args.load_generator == "auto" and not use_wrk:
        print("wrk is not on PATH (Debian/Ubuntu: apt-get install -y wrk); falling back to the aiohttp client.")
    if not use_wrk:
        print(
            "note: the aiohttp client on one CPU is slower than the fast targets, "
            "so their figures and ratios are capped by it."
        )
    pin = not args.no_pin and shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    if not use_wrk and pin:
        os.sched_setaffinity(0, {int(LOAD_CPU)})  # the aiohttp client runs in this process
    if "probot" in args.targets:
        ensure_probot_installed()

    body = delivery_body(json.loads(PAYLOAD.read_text()))
    private_key_pem = generate_private_key_pem()
    print(f"machine: {machine_description()}")
    print(
        f"load: {'wrk, 1 thread' if use_wrk else 'aiohttp client'}, {args.connections} connections, "
        f"{args.rounds} rounds of"
        f" {args.warmup:g} s warm-up + {args.duration:g} s measured per target (medians shown), {len(body)} byte body; "
        + (f"server pinned to CPU {SERVER_CPU}, load to CPU {LOAD_CPU}" if pin else "no CPU pinning"),
        flush=True,
    )
    runs: dict[str, list[LoadResult]] = {name: [] for name in args.targets}
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as scratch:
        scratch_dir = Path(scratch)
        body_path = scratch_dir / "delivery.json"
        body_path.write_bytes(body)
        plan = LoadPlan(
            body=body,
            body_path=body_path,
            signature=signature_header(body, WEBHOOK_SECRET),
            connections=args.connections,
            warmup_seconds=args.warmup,
            measured_seconds=args.duration,
            use_wrk=use_wrk,
            pin=pin,
        )
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number}/{args.rounds}:", end="", flush=True)
            for name in args.targets:
                result = measure(make_target(name, free_port(), private_key_pem, pin), plan, scratch_dir)
                runs[name].append(result)
                print(f"  {name} {result.requests_per_second:.0f} req/s", end="", flush=True)
            print()
    summaries = {name: summarize(results) for name, results in runs.items()}
    print()
    print(render_table(summaries))
    print()
    print("ratios: median over rounds of the per-round ratio")
    for line in verdict_lines(runs):
        print(line)
    collections = gc_line(runs.get("app", []))
    if collections:
        print(collections)
    return 1 if any(summary.non_2xx or summary.socket_errors for summary in summaries.values()) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; every server has been stopped", file=sys.stderr)
        sys.exit(130)
