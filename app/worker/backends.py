"""Generation backends: Hugging Face seq2seq (T5, FLAN-T5, MathT5) and causal LMs,
and any OpenAI-compatible HTTP endpoint (vLLM, TGI, hosted models).

A backend is loaded once per worker process and reused by every job of every
run that names the same model (see `BackendCache`)."""

from __future__ import annotations

import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from app.errors import InvalidInput
from app.schemas.runs import BACKENDS, Decoding
from app.worker.prompts import chat_messages, effective_template, finish, text_prompt


class Backend(Protocol):
    def generate(self, prompts: list[str], decoding: Decoding) -> list[str]: ...


class NoGPU(RuntimeError):
    pass


def resolve_device(device: str) -> str:
    """cpu | cuda | auto -> cpu or cuda; a clear error when CUDA is asked for and absent."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise NoGPU("--device cuda was asked for, but torch sees no CUDA GPU "
                    f"(torch {torch.__version__}; a CPU-only build, or no driver). Use --device cpu or auto.")
    return device


class _HuggingFace:
    """Shared by both HF backends: batches sorted by prompt length (less padding),
    inference_mode, bf16 on GPU (never fp16: T5 overflows in it), float32 on CPU."""

    causal = False

    def __init__(self, model_path: str, device: str):
        import torch
        from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        self.torch = torch
        self.device = resolve_device(device)
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        local = Path(model_path).expanduser().exists()
        model_path = str(Path(model_path).expanduser()) if local else model_path
        # local_files_only: a worker never downloads unless the id is not a local path
        # and HF_HUB_OFFLINE is unset (a GPU box with the hub cache filled, say).
        self.tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=local)
        loader = AutoModelForCausalLM if self.causal else AutoModelForSeq2SeqLM
        self.model = loader.from_pretrained(model_path, dtype=dtype, local_files_only=local).to(self.device).eval()  # safe: torch's eval()
        if self.causal:
            self.tokenizer.padding_side = "left"  # generation continues from the right end
            if self.tokenizer.pad_token is None:
                self.tokenizer.pad_token = self.tokenizer.eos_token
        self._lock = threading.Lock()
        self.tokens_generated = 0  # new tokens (not padding) since loading, for benchmarks

    def _prompt(self, prompt: str, decoding: Decoding) -> str:
        template = effective_template(decoding.template, "hf-causal" if self.causal else "hf-seq2seq")
        if template != "chat":
            return text_prompt(prompt, template)
        if not getattr(self.tokenizer, "chat_template", None):
            raise InvalidInput("the chat template was asked for, but this model's tokenizer has none: "
                               "use the bare or paper-few-shot template")
        return self.tokenizer.apply_chat_template(chat_messages(prompt, decoding.system_prompt),
                                                  add_generation_prompt=True, tokenize=False)

    def _finish(self, text: str, decoding: Decoding) -> str:
        return finish(text, effective_template(decoding.template, "hf-causal" if self.causal else "hf-seq2seq"),
                      decoding.stop)

    def generate(self, prompts: list[str], decoding: Decoding) -> list[str]:
        torch = self.torch
        texts = [self._prompt(p, decoding) for p in prompts]
        lengths = [len(ids) for ids in self.tokenizer(texts).input_ids]
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        outputs: list[str] = [""] * len(texts)
        kwargs: dict[str, Any] = {"max_new_tokens": decoding.max_new_tokens, "num_beams": decoding.num_beams,
                                  "do_sample": decoding.do_sample}
        if decoding.do_sample:
            kwargs.update(temperature=decoding.temperature, top_p=decoding.top_p)
        with self._lock, torch.inference_mode():
            torch.manual_seed(decoding.seed)
            for start in range(0, len(order), decoding.batch_size):
                batch = order[start:start + decoding.batch_size]
                enc = self.tokenizer([texts[i] for i in batch], return_tensors="pt", padding=True).to(self.device)
                out = self.model.generate(**enc, **kwargs, pad_token_id=self.tokenizer.pad_token_id)
                if self.causal:
                    out = out[:, enc["input_ids"].shape[1]:]  # only what the model added
                else:
                    out = out[:, 1:]  # the decoder's start token
                self.tokens_generated += int((out != self.tokenizer.pad_token_id).sum())
                for i, text in zip(batch, self.tokenizer.batch_decode(out, skip_special_tokens=True)):
                    outputs[i] = self._finish(text, decoding)
        return outputs


class HFSeq2Seq(_HuggingFace):
    causal = False


class HFCausal(_HuggingFace):
    causal = True


class OpenAICompatible:
    """Chat completions over HTTP: the paper's GPT runs, or a vLLM/TGI/`transformers serve`
    server at scale (the server batches; we keep `batch_size` requests in flight)."""

    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout: float = 120.0):
        import httpx

        if not base_url:
            raise InvalidInput("The openai backend needs an endpoint: give the run one (e.g. http://gpu-box:8000/v1), "
                               "or set OPENAI_BASE_URL for the worker.")
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    def _one(self, prompt: str, decoding: Decoding) -> str:
        template = effective_template(decoding.template, "openai")
        messages = (chat_messages(prompt, decoding.system_prompt) if template == "chat"
                    else [{"role": "user", "content": text_prompt(prompt, template)}])
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": decoding.max_new_tokens,
            "temperature": decoding.temperature if decoding.do_sample else 0.0,
            "top_p": decoding.top_p,
            "seed": decoding.seed,
        }
        if decoding.stop and len(decoding.stop) <= 4:  # OpenAI's API takes at most 4; we cut again below
            body["stop"] = list(decoding.stop)
        response = self.client.post("/chat/completions", json=body)
        if response.status_code != 200:
            raise RuntimeError(f"{self.client.base_url}/chat/completions answered {response.status_code}: "
                               f"{response.text[:300]}")
        return finish(response.json()["choices"][0]["message"]["content"] or "", template, decoding.stop)

    def generate(self, prompts: list[str], decoding: Decoding) -> list[str]:
        with ThreadPoolExecutor(max_workers=min(decoding.batch_size, 64)) as pool:
            return list(pool.map(lambda p: self._one(p, decoding), prompts))


def load_backend(backend: str, model_path: str, *, device: str = "auto", base_url: str | None = None,
                 api_key: str | None = None) -> Backend:
    if backend == "openai":
        return OpenAICompatible(model_path, base_url, api_key)
    if backend not in ("hf-seq2seq", "hf-causal"):
        raise InvalidInput(f"unknown backend '{backend}' (use {', '.join(BACKENDS)})")
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(f"the {backend} backend needs torch and transformers: "
                           "pip install 'derivation-lab[worker]' (make worker-deps)") from exc
    looks_local = model_path.startswith(("/", "./", "../", "~")) or "/" not in model_path
    if looks_local and not Path(model_path).expanduser().exists():
        raise InvalidInput(f"model folder '{model_path}' does not exist on this worker ({socket.gethostname()}); "
                           "give a folder the worker can read, or a hub id owner/name")
    return (HFSeq2Seq if backend == "hf-seq2seq" else HFCausal)(model_path, device)


class BackendCache:
    """One loaded model per (backend, model, endpoint, key) for the life of the worker process.
    An openai run's endpoint and key name are the run's; the worker's OPENAI_BASE_URL and
    OPENAI_API_KEY are only the defaults for runs that give none."""

    def __init__(self, device: str, base_url: str | None = None, api_key: str | None = None):
        self.device, self.base_url, self.api_key = device, base_url, api_key
        self._loaded: dict[tuple, Backend] = {}
        self.loads = 0

    def get(self, backend: str, model_path: str, decoding: Decoding | None = None) -> Backend:
        endpoint = (decoding.endpoint if decoding else None) or self.base_url
        key_name = decoding.key_name if decoding else None
        if key_name:
            api_key = os.environ.get(key_name)
            if api_key is None:
                raise InvalidInput(f"the run's key name {key_name} is not set in this worker's environment "
                                   f"({socket.gethostname()})")
        else:
            api_key = self.api_key
        key = (backend, model_path, endpoint if backend == "openai" else None, key_name)
        if key not in self._loaded:
            self._loaded[key] = load_backend(backend, model_path, device=self.device, base_url=endpoint,
                                             api_key=api_key)
            self.loads += 1
        return self._loaded[key]
