"""The Hugging Face backends on tiny models built here: batching does not change
what a model writes, a causal model's prompt is not echoed back, and bad
requests are refused with a clear message."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.schemas.runs import Decoding
from app.worker.backends import HFCausal, HFSeq2Seq, load_backend
from app.worker.prompts import cut_completion, few_shot_prompt
from app.worker.tiny import build_tokenizer, engine_pairs

PROMPTS = [prompt for prompt, _ in engine_pairs(4, seed=5)][:6]


@pytest.fixture(scope="module")
def tiny_causal(tmp_path_factory):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    pairs = engine_pairs(20, seed=3)
    tokenizer = build_tokenizer([t for pair in pairs for t in pair] + [few_shot_prompt(pairs[0][0])], 400)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=4096,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=tokenizer.eos_token_id)
    out = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def test_seq2seq_batched_and_one_at_a_time_write_the_same(tiny_model):
    backend = HFSeq2Seq(str(tiny_model), "cpu")
    assert backend.device == "cpu" and str(backend.model.dtype) == "torch.float32"
    batched = backend.generate(PROMPTS, Decoding(max_new_tokens=24, batch_size=4))
    alone = backend.generate(PROMPTS, Decoding(max_new_tokens=24, batch_size=1))
    assert batched == alone and len(batched) == len(PROMPTS)  # and in the prompts' order
    assert all(" and " in text or "=" in text for text in batched)  # the trained tiny model writes equations


def test_causal_left_pads_and_returns_only_the_continuation(tiny_causal):
    backend = HFCausal(str(tiny_causal), "cpu")
    assert backend.tokenizer.padding_side == "left"
    prompts = [PROMPTS[0], PROMPTS[1] + " and a longer tail to make the prompts differ in length"]
    batched = backend.generate(prompts, Decoding(max_new_tokens=12, batch_size=2))
    alone = backend.generate(prompts, Decoding(max_new_tokens=12, batch_size=1))
    assert batched == alone
    for prompt, text in zip(prompts, batched):
        assert "Derivation:" not in text and prompt not in text


def test_sampling_is_reproducible_by_seed(tiny_model):
    backend = HFSeq2Seq(str(tiny_model), "cpu")
    sampling = Decoding(max_new_tokens=16, batch_size=4, do_sample=True, temperature=1.5, seed=7)
    assert backend.generate(PROMPTS, sampling) == backend.generate(PROMPTS, sampling)


def test_bad_requests_are_refused_before_loading_anything():
    with pytest.raises(InvalidInput, match="model folder '/no/model' does not exist on this worker"):
        load_backend("hf-seq2seq", "/no/model")
    with pytest.raises(InvalidInput, match="unknown backend 'gguf'"):
        load_backend("gguf", "x")
    with pytest.raises(InvalidInput, match="needs an endpoint"):
        load_backend("openai", "gpt-4")
    with pytest.raises(InvalidInput) as err:
        Decoding(max_new_tokens=0, num_beams=0, batch_size=0).check()
    assert len(err.value.details) == 3


def test_completions_are_cut_at_the_next_example():
    assert cut_completion(" Derivation: a = b and c = d\n\nPrompt: Given x") == "a = b and c = d"
    assert cut_completion("a = b\nPrompt: more") == "a = b"
    assert few_shot_prompt("Given a = b, then obtain c = d").endswith("Prompt: Given a = b, then obtain c = d\n\nDerivation:")
    paper = "The following examples ...\n\nPrompt: Given x = 1, then obtain y = 2"
    assert few_shot_prompt(paper) == paper + "\n\nDerivation:"  # the paper's 5-shot prompt kept as it is
