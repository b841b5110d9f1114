"""Domain errors carry their HTTP status; one handler renders them (app.web.errors)."""

import re


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


class TooLarge(DomainError):
    status_code = 413
    title = "Too large"


class InvalidInput(DomainError):
    status_code = 422
    title = "Invalid input"


class DatabaseUnavailable(DomainError):
    status_code = 503
    title = "Database unavailable"


class DatabaseRefused(DomainError):
    status_code = 500
    title = "Database error"


# SQLSTATEs of a server going away or not accepting connections yet (a restart)
_CONNECTION_STATES = ("57P01", "57P02", "57P03")
# Errors without a SQLSTATE come from the driver: a lost or refused connection says so in words.
_CONNECTION_WORDS = re.compile(r"connect|server closed|terminat|timeout expired|could not (send|receive)|"
                               r"consuming input failed|the connection is (lost|closed)", re.IGNORECASE)


def from_database(exc) -> DomainError:
    """What to tell the user when PostgreSQL fails a request (a sqlalchemy DBAPIError, or a
    psycopg error from a COPY; the transaction is rolled back, so nothing was written)."""
    orig = getattr(exc, "orig", exc)
    state = getattr(orig, "sqlstate", None)
    first = (str(orig).strip().splitlines() or [""])[0][:300]
    if getattr(exc, "connection_invalidated", False) or (state or "").startswith("08") or state in _CONNECTION_STATES \
            or (state is None and _CONNECTION_WORDS.search(first)):
        return DatabaseUnavailable("The database cannot be reached (it may be restarting). Nothing was saved by "
                                   "this request; try again in a moment.")
    if "NUL (0x00)" in first or "0x00" in first:  # text with a NUL character, which PostgreSQL cannot store
        return InvalidInput("A value in this request contains a NUL character (\\0), which PostgreSQL cannot "
                            "store; remove it and try again. Nothing was saved.")
    if state is None:  # the driver refused it before the server saw it (too many parameters, ...): not "down"
        return DatabaseRefused(f"The database driver refused this request ({first}; no SQLSTATE). Nothing was saved.")
    if state.startswith("22"):  # a data exception: the request carried a value the database cannot hold
        return InvalidInput(f"A value in this request cannot be stored or looked up ({first}). Nothing was saved.")
    if state.startswith("40") or state == "57014":  # a deadlock/serialization failure, a statement timeout
        return DatabaseUnavailable(f"The database could not finish this request in time or beside a concurrent "
                                   f"one ({first}; SQLSTATE {state}). Nothing was saved; try again.")
    if state.startswith("53"):  # disk full, out of memory, too many connections
        return DatabaseUnavailable(f"The database server is out of resources ({first}; SQLSTATE {state}). Nothing "
                                   "was saved; free disk space or memory on the server and try again.")
    return DatabaseRefused(f"The database refused this request ({first}; SQLSTATE {state}). Nothing was saved.")


class LoginRequired(DomainError):
    status_code = 401
    title = "Please log in"
