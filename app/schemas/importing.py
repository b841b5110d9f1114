"""What one imported derivation must carry, whatever the file format."""

from typing import Annotated, Any

import json

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from app.models import Perturbation


def _id_to_str(value: Any) -> Any:
    # Problem ids arrive as numbers in JSON and as text in CSV: both mean the same id.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


MAX_TEXT = 100_000  # characters of a prompt, derivation or reference (longest in the sample files: 5,092)


def _no_nul(value: Any) -> Any:
    # PostgreSQL text cannot hold NUL; say so here, by field and line, not as a database error.
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("contains a NUL character (\\u0000), which cannot be stored")
    return value


Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT), AfterValidator(_no_nul)]
MAX_STEPS = 1_000


def _json_list(value: Any) -> Any:
    # CSV cells are text: a `steps` cell holds a JSON list (["a = b", "b = c"])
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError('must be a JSON list of steps, like ["x = 1", "y = 2"]') from None
    return value


def _some_text(value: list[str]) -> list[str]:
    if not any(step.strip() for step in value):
        raise ValueError("holds no step with any text")
    return value


Steps = Annotated[list[Text], BeforeValidator(_json_list), Field(max_length=MAX_STEPS), AfterValidator(_some_text)]


class DerivationIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    problem_id: Annotated[str, BeforeValidator(_id_to_str),
                          StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_nul)]
    prompt: Text
    model: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_nul)]
    derivation: Text | None = None  # the text as the model wrote it; or give `steps`
    # the steps as a list: taken as they are (otherwise the import's split rule cuts `derivation`)
    steps: Steps | None = None
    reference: Text | None = None
    perturbation: Perturbation = Perturbation.static
    reference_srepr: Any | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    # labels the file already holds (ProcessBench, PRM800K), imported as a submitted annotation
    # by an annotator named after the source: 1-based step -> labels
    labeler: str | None = None
    labels: dict[int, list[str]] | None = None
    # 1-based steps the source left without a label (not the same as "no error": see step_notes)
    unlabelled: list[int] | None = None
    goal_reached: bool | None = None
    # what the source said about this output beyond its text (lm-eval: task, doc, target,
    # filtered_resps, per-sample metrics, generation settings), kept and exported whole
    source_record: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _text_or_steps(self) -> "DerivationIn":
        if self.derivation is None and self.steps is None:
            raise ValueError("field 'derivation' is missing (or give 'steps', a list of the steps)")
        if self.derivation is None:
            self.derivation = "\n".join(self.steps)  # the raw text, one step per line
        return self


class ImportResult(BaseModel):
    project: str
    format: str
    records: int  # derivations read from the file
    added: int  # derivations new to the project
    problems_added: int
    already_imported: bool = False
