"""What one imported derivation must carry, whatever the file format."""

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

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


class DerivationIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    problem_id: Annotated[str, BeforeValidator(_id_to_str),
                          StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_nul)]
    prompt: Text
    model: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_nul)]
    derivation: Text
    reference: Text | None = None
    perturbation: Perturbation = Perturbation.static
    reference_srepr: Any | None = None
    metrics: dict[str, float] = Field(default_factory=dict)


class ImportResult(BaseModel):
    project: str
    format: str
    records: int  # derivations read from the file
    added: int  # derivations new to the project
    problems_added: int
    already_imported: bool = False
