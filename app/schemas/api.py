"""What the JSON API returns (the OpenAPI schema is built from these)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.schemas.runs import Decoding


class Me(BaseModel):
    id: int
    username: str
    role: str


class ProjectOut(BaseModel):
    id: int
    name: str
    description: str = ""
    overlap: int
    blind: bool
    labels: list[str]
    archived: bool = Field(False, description="kept whole, out of annotators' sight")
    derivations: int = 0


class ProjectPatch(BaseModel):
    """What PATCH /projects/{id} changes; a field left out stays as it was."""
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    archived: bool | None = None


class ProblemOut(BaseModel):
    id: int
    key: str
    perturbation: str
    prompt: str
    premises: list[str]
    intermediates: list[str]
    goal: str | None
    reference: str | None


class StepOut(BaseModel):
    index: int
    latex: str
    parse_status: str
    checks: dict[str, str] = Field(default_factory=dict, description="SymPy verdicts by label: yes/no/unknown")


class DerivationOut(BaseModel):
    id: int
    problem_id: int
    problem_key: str
    perturbation: str
    model: str
    source: str
    raw_text: str
    metrics: dict[str, float]
    steps: list[StepOut]


class AnnotationOut(BaseModel):
    id: int
    derivation_id: int
    annotator: str
    goal_reached: bool | None
    comment: str
    submitted_at: datetime | None
    active_seconds: float
    labels: dict[int, list[str]] = Field(description="step index -> labels")


class RateOut(BaseModel):
    k: int
    n: int
    value: float | None
    low: float | None = Field(None, description="95% Wilson interval")
    high: float | None = None


class ModelStats(BaseModel):
    model: str
    perturbation: str | None = Field(None, description="null: every perturbation pooled")
    derivations: int
    annotated: int
    judgements: int
    judged_steps: int
    step_rates: dict[str, RateOut]
    any_rates: dict[str, RateOut] = Field(description="share of judged derivations with at least one such step")
    goal_reached: RateOut
    metrics: dict[str, float | None]


class StatsOut(BaseModel):
    filters: dict[str, Any]
    models: list[ModelStats]
    cells: list[ModelStats] = Field(description="per model and perturbation")
    spearman: list[dict[str, Any]]
    checker: list[dict[str, Any]] = Field(description="SymPy's verdicts against the humans' final labels")
    sources: list[dict[str, Any]] = Field(default_factory=list,
                                          description="each pushed source's verdicts against the same labels")
    progress_models: list[dict[str, Any]]
    progress_annotators: list[dict[str, Any]]
    throughput: list[dict[str, Any]]


class RunIn(BaseModel):
    model: str
    backend: str = "hf-seq2seq"
    name: str | None = None
    perturbations: list[str] = Field(default_factory=list)
    fresh: int = 0
    # decoding: Decoding's own defaults (one place to change them)
    seed: int = Decoding.seed
    max_new_tokens: int = Decoding.max_new_tokens
    num_beams: int = Decoding.num_beams
    do_sample: bool = Decoding.do_sample
    temperature: float = Decoding.temperature
    top_p: float = Decoding.top_p
    batch_size: int = Decoding.batch_size
    endpoint: str | None = Field(None, description="openai backend: the server's base URL, e.g. http://gpu-box:8000/v1")
    key_name: str | None = Field(None, description="openai backend: the environment variable holding the key on "
                                                    "the workers (never the key itself)")
    template: str = Field(Decoding.template, description="auto, bare, paper-few-shot or chat")
    system_prompt: str = Decoding.system_prompt
    stop: list[str] = Field(default_factory=list, description="the completion ends before the first of these")
    split: str = Field(Decoding.split, description="how an output is cut into steps: and, newline, blank-line, ...")


class RunOut(BaseModel):
    id: int
    project_id: int
    model: str
    backend: str
    model_path: str
    state: str
    done: int
    total: int
    per_second: float | None
    eta_seconds: float | None
    jobs: dict[str, int]
    decoding: dict[str, Any]
    perturbations: list[str]


class DayCount(BaseModel):
    day: date
    judgements: int


class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    preset: str | None = Field(None, description="labels: paper (default), lemma, processbench or prm800k")


class DerivationsIn(BaseModel):
    derivations: list[dict[str, Any]] = Field(
        max_length=50_000,
        description="records as in a JSONL import: problem_id, prompt, model, derivation (or steps), "
                    "optional reference, perturbation")
    all_or_nothing: bool = Field(False, description="any bad record: write nothing (422); else write the good "
                                                    "ones and say which were not (207)")
    split: str = Field("and", description="how a derivation's text is cut into steps (and, newline, ...)")


class ItemErrors(BaseModel):
    index: int = Field(description="0-based position in the request's list")
    errors: list[str]


class PushResult(BaseModel):
    received: int
    added: int = Field(description="derivations new to the project")
    existing: int = Field(description="already there (same problem, model and text): nothing added")
    rejected: list[ItemErrors] = Field(default_factory=list)


class PredictionIn(BaseModel):
    derivation_id: int
    step_index: int = Field(ge=0, description="1-based step; 0 for the derivation (label goal_reached)")
    label: str = Field(min_length=1, max_length=40)
    verdict: Literal["yes", "no", "unknown"]
    score: float | None = Field(None, allow_inf_nan=False, description="a finite number, or null")
    reason: str = Field("", max_length=2000)


class PredictionsIn(BaseModel):
    source: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.:@/-]+$",
                        description="the judge's name, shown beside SymPy's (e.g. 'gpt-4o-judge', 'math-shepherd')")
    predictions: list[PredictionIn] = Field(max_length=100_000)


class PredictionsResult(BaseModel):
    source: str
    stored: int
