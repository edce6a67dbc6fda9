"""`make bench-nlu`: the Rasa server's parse latency, throughput and memory; the full client beside it.

    .venv/bin/python -m devtools.bench.nlu [--requests 600] [--runs 3]

Starts the real Rasa server (scripts/nlu-server, the one bilingual model) on a free
port, sends the English and the French held-out messages, and measures side by side,
in the same run:
- the bare server (`POST /model/parse` over HTTP),
- the full client (`nlu.classifier.Classifier`: HTTP, validation, safety net),
- the fallback classifier and the safety net alone (in process).
Each figure is the median of several runs; the machine is shared and noisy.
Results go to the "NLU" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.settings import PROJECT_ROOT
from devtools.benchdoc import git_revision, machine, write_section
from devtools.procs import free_port, wait_http
from nlu import taxonomy
from nlu.classifier import Classifier
from nlu.fallback import FallbackModel
from nlu.rasa_client import RasaClient
from nlu.safety_net import SafetyNet
from nlu.training_data import load

HELDOUT = PROJECT_ROOT / "tests" / "nlu" / "heldout.yml"
HELDOUT_FR = PROJECT_ROOT / "tests" / "nlu" / "heldout_fr.yml"


@dataclass(frozen=True)
class Run:
    p50_ms: float
    p99_ms: float
    per_second: float


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def measure(call: Callable[[str], Awaitable[object]], texts: Sequence[str], concurrency: int) -> Run:
    latencies: list[float] = []
    queue = list(texts)
    started = time.perf_counter()

    async def worker() -> None:
        while queue:
            text = queue.pop()
            begin = time.perf_counter()
            await call(text)
            latencies.append((time.perf_counter() - begin) * 1000)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return Run(percentile(latencies, 0.5), percentile(latencies, 0.99), len(latencies) / elapsed)


def median_run(runs: Sequence[Run]) -> Run:
    return Run(
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        statistics.median(r.per_second for r in runs),
    )


def rss_mib(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(
    model: Path | None = None, token: str | None = None
) -> tuple[subprocess.Popen[bytes], str, str, float]:
    """scripts/nlu-server on a free port (with `model`, else the trained one); seconds until it answers."""
    port, token = free_port(), token or secrets.token_urlsafe(16)
    env = {**os.environ, "NLU_PORT": str(port), "NLU_TOKEN": token}
    if model is not None:
        env["NLU_MODEL"] = str(model)
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603
        [str(PROJECT_ROOT / "scripts" / "nlu-server")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url, process, seconds=180, what="the Rasa server")
    except (RuntimeError, TimeoutError):
        process.kill()
        raise SystemExit("the Rasa server did not start") from None
    return process, url, token, time.monotonic() - started


def repeated(path: Path, requests: int) -> list[str]:
    # Not the commands ("/status CODE"): the bot answers those itself, and Rasa reads them as intent
    # shortcuts, an answer the client refuses (which opens its circuit: the fallback would answer).
    texts = [e.text for e in load([path]).examples if not e.text.startswith("/")]
    return (texts * (requests // len(texts) + 1))[:requests]


async def bench(requests: int, runs: int) -> str:
    english, french = repeated(HELDOUT, requests), repeated(HELDOUT_FR, requests)
    # Both languages at once, interleaved, as students of both write to the same bot.
    mixed = [text for pair in zip(english, french, strict=True) for text in pair][:requests]
    load_before = os.getloadavg()[0]
    process, url, token, startup = start_server()
    try:
        idle_rss = rss_mib(process.pid, "VmRSS")
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:

            async def bare(text: str) -> object:
                response = await http.post("/model/parse", params={"token": token}, json={"text": text})
                response.raise_for_status()
                return response.json()

            fallback = FallbackModel.load_or_train()
            classifier = Classifier(
                RasaClient(url, token, known_intents=taxonomy.intent_names(), timeout=10), fallback
            )
            net = SafetyNet()

            async def fallback_only(text: str) -> object:
                return fallback.predict(text)

            async def net_only(text: str) -> object:
                return net.check(text)

            await measure(bare, mixed[:50], 1)  # warm up
            cases = [
                ("Rasa server, bare HTTP, 1 at a time, English", bare, english, 1),
                ("Rasa server, bare HTTP, 1 at a time, French", bare, french, 1),
                (
                    "full client (HTTP + validation + safety net), 1 at a time, English",
                    classifier.classify,
                    english,
                    1,
                ),
                ("full client, 1 at a time, French", classifier.classify, french, 1),
                ("Rasa server, bare HTTP, 8 concurrent, both languages", bare, mixed, 8),
                ("full client, 8 concurrent, both languages", classifier.classify, mixed, 8),
                ("fallback classifier alone (in process), English", fallback_only, english, 1),
                ("fallback classifier alone (in process), French", fallback_only, french, 1),
                ("safety net alone (in process), English", net_only, english, 1),
                ("safety net alone (in process), French", net_only, french, 1),
            ]
            measured: dict[str, list[Run]] = {name: [] for name, _, _, _ in cases}
            for _ in range(runs):  # rounds, each case in turn, so that all see the same noise
                for name, call, texts, concurrency in cases:
                    measured[name].append(await measure(call, texts, concurrency))
            results = {name: median_run(found) for name, found in measured.items()}
            for name, result in results.items():
                print(f"bench-nlu: {name}: {result}", flush=True)  # noqa: T201
            await classifier.aclose()
        peak_rss, now_rss = rss_mib(process.pid, "VmHWM"), rss_mib(process.pid, "VmRSS")
        load_after = os.getloadavg()[0]
    finally:
        process.terminate()
        process.wait(timeout=30)

    bare_1 = results["Rasa server, bare HTTP, 1 at a time, English"]
    full_1 = results["full client (HTTP + validation + safety net), 1 at a time, English"]
    bare_fr = results["Rasa server, bare HTTP, 1 at a time, French"]
    full_fr = results["full client, 1 at a time, French"]
    cores = os.cpu_count() or 1
    shared = (
        " The machine was shared: other work ran beside the benchmark, so times are inflated;\n"
        "  compare rows of this run with each other, not with another run's."
        if max(load_before, load_after) > cores
        else ""
    )
    rows = "\n".join(
        f"| {name} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.per_second:.0f} |" for name, r in results.items()
    )
    return f"""Measured by `make bench-nlu` (`devtools/bench/nlu.py`) at {git_revision()} on {machine()}.
The chosen layout: one bilingual Rasa server (models/sro-nlu.tar.gz, English and French).
{requests} held-out messages per case and run (English: tests/nlu/heldout.yml; French:
tests/nlu/heldout_fr.yml; both: the two interleaved), median of {runs} rounds, each case in
turn in every round; bare server and full client side by side.

| what | p50 ms | p99 ms | messages/s |
|---|---|---|---|
{rows}

- Client overhead over the bare server (p50, one at a time): English ×{full_1.p50_ms / bare_1.p50_ms:.2f}
  ({full_1.p50_ms - bare_1.p50_ms:+.2f} ms), French ×{full_fr.p50_ms / bare_fr.p50_ms:.2f}
  ({full_fr.p50_ms - bare_fr.p50_ms:+.2f} ms): JSON validation, language detection and the safety net.
- Rasa server memory: {idle_rss:.0f} MiB after start-up, {now_rss:.0f} MiB after the runs,
  peak {peak_rss:.0f} MiB.
- Server start-up until it answers: {startup:.0f} s.
- Load average (1 min) at start and end: {load_before:.1f} and {load_after:.1f} on {cores} cores.{shared}
"""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    body = asyncio.run(bench(args.requests, args.runs))
    write_section("NLU", body)
    print("bench-nlu: wrote docs/benchmarks.md (section NLU)")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
