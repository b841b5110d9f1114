"""Generation throughput: batched (length-sorted batches, as the worker runs) against
one prompt at a time (the paper's loop), same model, same prompts, one run.

    .venv/bin/python bench/generation.py                       # CPU, the tiny T5
    .venv/bin/python bench/generation.py --device cuda --size large   # GPU, T5-large shape, bf16

With --size large the weights are random (speed does not depend on them); the
tokenizer is the tiny one, so the output layer is smaller than T5-large's 32k
vocabulary. Prints sequences/s, tokens/s, the NaN count of bf16 logits on GPU,
and ends with `ratio: X` (batched over one-at-a-time).

Then (unless --no-job) the same prompts as a generation run, end to end, in a database
of its own: the engine's problems, `run create`, one worker taking the generate jobs
until the queue is empty (model load, prompts, generation, storing derivations and
steps, queueing their metrics and checks), against `model.generate` alone on the same
prompts: `job ratio: X` (end to end over generate alone; the target is ≤ 2).
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


def job_end_to_end(model: Path, decoding: Decoding, count: int) -> None:
    """A run of `count` fresh engine problems, the worker's generate jobs timed end to end."""
    from sqlalchemy import func, select

    from app.db import transaction
    from app.models import Derivation
    from app.services import runs
    from app.worker.backends import BackendCache
    from app.worker.handlers import Context
    from app.worker.loop import Worker
    from bench.seed import scratch_database

    with scratch_database("bench_generation") as (_, sessions):
        with transaction(sessions) as session:
            run = runs.create_run(session, project_name="bench", model_path=str(model), backend="hf-seq2seq",
                                  decoding=decoding, perturbations=["static"], fresh=count, seed=99)
            run_id, total = run.id, run.total
        alone = HFSeq2Seq(str(model), "cpu")
        with transaction(sessions) as session:
            from app.repositories import runs as runs_repo
            prompts = [prompt for _, prompt in runs_repo.problems_to_generate(
                session, run_id=run_id, problem_ids=runs_repo.problem_ids(
                    session, project_id=runs_repo.get(session, run_id).project_id, perturbations=["static"]))]
        alone.generate(prompts[:2], decoding)  # warm-up, as the batched figure above
        t_alone, _, _ = timed(alone, prompts, decoding)

        worker = Worker(Context(sessions, BackendCache("cpu", None, None)), kinds=["generate"], poll_seconds=0.05)
        started = time.perf_counter()
        worker.run(exit_when_idle=True)
        t_job = time.perf_counter() - started
        with transaction(sessions) as session:
            made = session.scalar(select(func.count()).select_from(Derivation).where(Derivation.run_id == run_id))
        print(f"generation run end to end ({total} problems, {worker.stats.done} jobs, model load included): "
              f"{t_job:.2f} s, {made / t_job:.1f} derivations/s; model.generate alone on the same prompts "
              f"{t_alone:.2f} s, {len(prompts) / t_alone:.1f} sequences/s")
        print(f"job ratio: {t_job / t_alone:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--size", default="tiny", choices=["tiny", "large"])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--model", help="an existing model folder instead of building the tiny one")
    parser.add_argument("--no-job", action="store_true", help="skip the end-to-end run (it needs DATABASE_URL's server)")
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
        if not args.no_job and args.size == "tiny" and args.device == "cpu":
            job_end_to_end(path, batched, args.prompts)


if __name__ == "__main__":
    main()
