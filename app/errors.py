"""Domain errors carry their HTTP status; one handler renders them (app.web.errors)."""


class DomainError(Exception):
    status_code = 400
    title = "Request refused"

    def __init__(self, message: str, *, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class Forbidden(DomainError):
    status_code = 403
    title = "Not allowed"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"


class StaleAnnotation(Conflict):
    """A write from a browser tab that had not seen the annotation's latest change."""

    def __init__(self, message: str, *, derivation_id: int):
        super().__init__(message)
        self.derivation_id = derivation_id


class InvalidInput(DomainError):
    status_code = 422
    title = "Invalid input"


class DatabaseUnavailable(DomainError):
    status_code = 503
    title = "Database unavailable"


class LoginRequired(DomainError):
    status_code = 401
    title = "Please log in"
