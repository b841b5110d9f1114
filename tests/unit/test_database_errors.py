"""What the user is told for each kind of PostgreSQL failure (errors.from_database)."""

import psycopg
import pytest

from app.errors import DatabaseRefused, DatabaseUnavailable, InvalidInput, from_database


class Fake(Exception):
    """A driver error with a SQLSTATE, as psycopg raises them."""

    def __init__(self, sqlstate, message):
        super().__init__(message)
        self.sqlstate = sqlstate


class Wrapped:
    """As sqlalchemy.exc.DBAPIError: the driver's error in .orig."""

    def __init__(self, orig, invalidated=False):
        self.orig, self.connection_invalidated = orig, invalidated


@pytest.mark.parametrize("error,kind,status,words", [
    (Wrapped(psycopg.OperationalError("connection refused")), DatabaseUnavailable, 503, "cannot be reached"),
    (Wrapped(psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")),
     DatabaseUnavailable, 503, "cannot be reached"),
    # text with a NUL character: the driver refuses it; the request's value is at fault, not the server
    (Wrapped(psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")), InvalidInput, 422,
     "NUL character"),
    # no SQLSTATE, yet the database is up: the driver refused the statement itself
    (Wrapped(psycopg.OperationalError("sending query and params failed: number of parameters must be between 0 and "
                                      "65535")), DatabaseRefused, 500, "65535"),
    (Wrapped(Fake("57P01", "terminating connection due to administrator command")), DatabaseUnavailable, 503,
     "cannot be reached"),
    (Wrapped(Fake("08006", "connection failure"), invalidated=True), DatabaseUnavailable, 503, "cannot be reached"),
    (Wrapped(Fake("53100", "could not extend file: No space left on device")), DatabaseUnavailable, 503,
     "No space left on device"),
    (Wrapped(Fake("40P01", "deadlock detected")), DatabaseUnavailable, 503, "try again"),
    (Wrapped(Fake("57014", "canceling statement due to statement timeout")), DatabaseUnavailable, 503, "try again"),
    (Wrapped(Fake("22003", "integer out of range")), InvalidInput, 422, "integer out of range"),
    (Fake("53100", "disk full during COPY"), DatabaseUnavailable, 503, "disk full during COPY"),  # a raw psycopg error
    (Wrapped(Fake("42P01", "relation \"x\" does not exist")), DatabaseRefused, 500, "SQLSTATE 42P01"),
])
def test_each_database_failure_has_its_message(error, kind, status, words):
    told = from_database(error)
    assert type(told) is kind and told.status_code == status
    assert words in told.message and "Nothing was saved" in told.message
