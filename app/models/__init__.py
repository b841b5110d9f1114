"""All tables; importing this module registers them on Base.metadata."""

from app.models.annotation import (
    Adjudication, Annotation, AnnotationEvent, AnnotationStatus, FinalLabel, StepLabel, StepNote, SubmittedStepLabel,
)
from app.models.base import Base
from app.models.check import AutoCheck, Prediction, StepCorrection, StepProposal
from app.models.export import ExportChunk, ExportFile
from app.models.job import Job, JobState
from app.models.derivation import PERTURBATIONS, Derivation, ParseStatus, Perturbation, Problem, Step
from app.models.project import DEFAULT_TAXONOMY, ImportBatch, LLMModel, Project, ProjectMember, SampleItem
from app.models.run import GenerationRun
from app.models.token import ApiToken
from app.models.trash import Trash, TrashRow
from app.models.user import Role, User

__all__ = [
    "ExportChunk", "ExportFile", "ApiToken", "Adjudication", "FinalLabel", "ProjectMember", "SampleItem", "Annotation", "AnnotationEvent", "AnnotationStatus", "AutoCheck", "Base", "DEFAULT_TAXONOMY", "Derivation", "GenerationRun", "Job", "JobState",
    "ImportBatch", "LLMModel", "ParseStatus", "PERTURBATIONS", "Perturbation", "Problem", "Project", "Role", "Step",
    "Prediction", "StepCorrection", "StepLabel", "StepNote", "SubmittedStepLabel", "StepProposal", "Trash", "TrashRow", "User",
]
