"""What one imported derivation must carry, whatever the file format."""

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from app.models import Perturbation


def _id_to_str(value: Any) -> Any:
    # Problem ids arrive as numbers in JSON and as text in CSV: both mean the same id.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value




class DerivationIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    problem_id: Annotated[str, BeforeValidator(_id_to_str), StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    prompt: Annotated[str, StringConstraints(min_length=1)]
    model: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    derivation: Annotated[str, StringConstraints(min_length=1)]
    reference: str | None = None
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
