"""Domain errors. Each carries a message key from the translation catalogs and its parameters,
so the UI shows it in the user's language; `str(error)` gives the English text for logs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_data.i18n import translate


class CrmError(Exception):
    """Base of every error the UI turns into a message."""

    key = "error.generic"

    def __init__(self, key: str | None = None, /, **params: Any) -> None:
        self.key = key or type(self).key
        self.params = params
        super().__init__(self.key)

    def __str__(self) -> str:

        return translate(self.key, "en", **self.params)


@dataclass(frozen=True)
class FieldError:
    """One problem with one input: `field` names the form field (e.g. "amounts.2.value")."""

    field: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)


class ValidationError(CrmError):
    """The input was refused; nothing was written. Holds every problem found, per field."""

    key = "error.validation"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(self.key, count=len(errors))
        self.errors = errors

    @classmethod
    def single(cls, field_name: str, key: str, **params: Any) -> ValidationError:
        return cls([FieldError(field_name, key, params)])

    def for_field(self, field_name: str) -> list[FieldError]:
        return [e for e in self.errors if e.field == field_name]

    def __str__(self) -> str:

        return "; ".join(f"{e.field}: {translate(e.key, 'en', **e.params)}" for e in self.errors)


class NotFound(CrmError):
    key = "error.not_found"


class PermissionDenied(CrmError):
    key = "error.permission"


class StaleRecord(CrmError):
    """Someone else changed the record since it was read (optimistic version check)."""

    key = "error.stale"


class WriteConflict(CrmError):
    """Concurrent writers kept conflicting; the bounded retries ran out. Nothing was saved."""

    key = "error.write_conflict"


class DatabaseLocked(CrmError):
    """Another process holds the database file."""

    key = "error.db_locked"


class DatabaseError(CrmError):
    """The database refused a unit of work for a reason the user cannot fix; it was rolled
    back, nothing was saved, and the detail is in the server log."""

    key = "error.database"


class ConstraintViolation(CrmError):
    """A rule of the database refused the change (usually a race with another user)."""

    key = "error.constraint"


class StorageError(CrmError):
    """Writing to disk failed (disk full, permissions); nothing was saved."""

    key = "error.storage"


class DatabaseUnreachable(CrmError):
    """The database server (team mode) cannot be reached, or the connection to it broke; the
    unit of work was not committed."""

    key = "error.db_unreachable"


class DatabaseLocale(CrmError):
    """The PostgreSQL database lowercases text by rules that leave Polish letters as they are
    (a database created with the "C" locale): a search for a client's name would silently miss
    names written with another case, so the app does not start on it."""

    key = "error.db_locale"


class AuthError(CrmError):
    key = "error.auth"
