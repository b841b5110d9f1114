"""Generation throughput: batched (length-sorted batches, as the worker runs) against
one prompt at a time (the paper's loop), same model, same prompts, one run.

    .venv/bin/python bench/generation.py                       # CPU, the tiny T5
    .venv/bin/python bench/generation.py --device cuda --size large   # GPU, T5-large shape, bf16

With --size large the weights are random (speed does not depend on them); the
tokenizer is the tiny one, so the output layer is smaller than T5-large's 32k
vocabulary. Prints sequences/s, tokens/s, the NaN count of bf16 logits on GPU,
and ends with `ratio: X` (batched over one-at-a-time).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# bench/queue.py would hide the standard `queue` module: keep this folder off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.schemas.runs import Decoding  # noqa: E402
from app.worker.backends import HFSeq2Seq  # noqa: E402
from app.worker.tiny import build_tiny, engine_pairs, t5_config  # noqa: E402


def timed(backend: HFSeq2Seq, prompts: list[str], decoding: Decoding) -> tuple[float, int, list[str]]:
    if backend.device == "cuda":
        backend.torch.cuda.synchronize()
    before = backend.tokens_generated
    started = time.perf_counter()
    outputs = backend.generate(prompts, decoding)
    if backend.device == "cuda":
        backend.torch.cuda.synchronize()
    return time.perf_counter() - started, backend.tokens_generated - before, outputs


def nan_count(backend: HFSeq2Seq, prompts: list[str]) -> int:
    torch = backend.torch
    with torch.inference_mode():
        enc = backend.tokenizer(prompts, return_tensors="pt", padding=True).to(backend.device)
        start = torch.full((len(prompts), 1), backend.model.config.decoder_start_token_id, device=backend.device)
        logits = backend.model(**enc, decoder_input_ids=start).logits
        return int((~torch.isfinite(logits)).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--size", default="tiny", choices=["tiny", "large"])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--model", help="an existing model folder instead of building the tiny one")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.model) if args.model else Path(tmp) / "tiny"
        if not args.model:
            build_tiny(path, max_steps=30, seed=0, problems=40)
        if args.size == "large":
            from transformers import AutoTokenizer, T5ForConditionalGeneration

            tok = AutoTokenizer.from_pretrained(path)
            T5ForConditionalGeneration(t5_config(len(tok), pad=tok.pad_token_id, eos=tok.eos_token_id,
                                                 size="large")).save_pretrained(path)
        backend = HFSeq2Seq(str(path), args.device)
        params = sum(p.numel() for p in backend.model.parameters())
        prompts = [prompt for prompt, _ in engine_pairs(args.prompts // 2 + 1, seed=99)][: args.prompts]
        batched = Decoding(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
        single = Decoding(max_new_tokens=args.max_new_tokens, batch_size=1)
        timed(backend, prompts[:2], batched)  # warm-up
        t_batch, tok_batch, out_batch = timed(backend, prompts, batched)
        t_one, tok_one, out_one = timed(backend, prompts, single)
        same = sum(a == b for a, b in zip(out_batch, out_one))
        dtype = str(backend.model.dtype).replace("torch.", "")
        print(f"model: T5 {args.size} ({params / 1e6:.1f} M parameters), {dtype} on {backend.device}; "
              f"{len(prompts)} prompts, max_new_tokens {args.max_new_tokens}")
        print(f"batched (batch {args.batch_size}): {t_batch:.2f} s, {len(prompts) / t_batch:.1f} sequences/s, "
              f"{tok_batch / t_batch:.0f} tokens/s")
        print(f"one at a time:      {t_one:.2f} s, {len(prompts) / t_one:.1f} sequences/s, {tok_one / t_one:.0f} tokens/s")
        print(f"same output batched and alone: {same}/{len(prompts)}")
        if backend.device == "cuda":
            print(f"non-finite logits in {dtype}: {nan_count(backend, prompts[: args.batch_size])}")
        print(f"ratio: {t_one / t_batch:.1f}")


if __name__ == "__main__":
    main()
