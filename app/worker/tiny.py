"""A tiny T5 built here, from nothing downloaded: a Unigram tokenizer trained with
`tokenizers` on engine derivations, a small T5 config, and optionally a short
training run on engine prompt -> reference pairs. It lets a laptop demo and the
tests run the real loading and generation code end to end."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

SPECIAL = ["<pad>", "</s>", "<unk>"]


@dataclass
class TinyReport:
    path: Path
    parameters: int
    vocab: int
    train_steps: int
    final_loss: float | None
    seconds: float


def engine_pairs(count: int, seed: int) -> list[tuple[str, str]]:
    from app.math.engine import generate, prompt_text, reference_text

    return [(prompt_text(p), reference_text(p)) for family in generate(count, seed, ("VR",)) for p in family]


def build_tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()  # SentencePiece-style, like T5's own
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(texts, trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=SPECIAL,
                                                           unk_token="<unk>"))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def t5_config(vocab: int, *, pad: int, eos: int, size: str = "tiny"):
    from transformers import T5Config

    if size == "large":  # T5-large's shape (random weights are enough to time it)
        dims = dict(d_model=1024, d_ff=4096, d_kv=64, num_layers=24, num_decoder_layers=24, num_heads=16)
    else:
        dims = dict(d_model=64, d_ff=128, d_kv=16, num_layers=2, num_decoder_layers=2, num_heads=4)
    return T5Config(vocab_size=vocab, pad_token_id=pad, eos_token_id=eos, decoder_start_token_id=pad, **dims)


def build_tiny(out: Path, *, train_seconds: float = 0.0, max_steps: int | None = None, seed: int = 0,
               problems: int = 60, vocab_size: int = 600, say=lambda message: None) -> TinyReport:
    import torch
    from transformers import T5ForConditionalGeneration

    started = time.perf_counter()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    pairs = engine_pairs(problems, seed)
    say(f"{len(pairs)} engine problems with references")
    tokenizer = build_tokenizer([text for pair in pairs for text in pair], vocab_size)
    model = T5ForConditionalGeneration(t5_config(len(tokenizer), pad=tokenizer.pad_token_id,
                                                 eos=tokenizer.eos_token_id))
    steps, loss_value = 0, None
    if train_seconds > 0 or max_steps:
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
        model.train()
        deadline = time.perf_counter() + (train_seconds if train_seconds > 0 else float("inf"))
        while time.perf_counter() < deadline and (max_steps is None or steps < max_steps):
            batch = rng.sample(pairs, min(16, len(pairs)))
            enc = tokenizer([p for p, _ in batch], return_tensors="pt", padding=True, truncation=True, max_length=256)
            labels = tokenizer([r for _, r in batch], return_tensors="pt", padding=True, truncation=True,
                               max_length=256).input_ids
            labels[labels == tokenizer.pad_token_id] = -100
            loss = model(**enc, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            steps += 1
            loss_value = loss.item()
            if steps % 50 == 0:
                say(f"step {steps}: loss {loss_value:.3f}")
        model.eval()  # safe: torch's inference mode switch, not Python's eval
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return TinyReport(out, sum(p.numel() for p in model.parameters()), len(tokenizer), steps, loss_value,
                      time.perf_counter() - started)
