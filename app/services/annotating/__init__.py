"""An annotator's work on one derivation: open it, label steps, judge, submit; the queue
that serves the next one. Every change is written when it is made; the request's
transaction commits it. Split by what each part does: the page's view (view), the queue
(queue), the writes (writes), and what they share (common)."""

from app.services.annotating.common import NOT_MEMBER, STATE_TEXT, Seen, check_project_access, state_of  # noqa: F401
from app.services.annotating.view import AnnotationView, Progress, open_derivation, my_work  # noqa: F401
from app.services.annotating.queue import MAX_SKIPS, next_derivation, QueueState, queue_state, skip, previous_derivation  # noqa: F401
from app.services.annotating.writes import MAX_ACTIVE_REPORT, record_active_time, LabelChange, set_step_label, MAX_COMMENT, MAX_NOTE, set_step_note, save_judgement, submit  # noqa: F401
