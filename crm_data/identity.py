"""Who acts: the signed-in user as every service receives it. A value with no database and no
password hashing in it (those are `users.py`'s), so the twenty-odd modules that take a `User`
import only this."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    id: int
    login: str
    display_name: str
    role: str
    locale: str
    active: bool
    session_epoch: int

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_everything(self) -> bool:
        """Managers and admins see and edit all threads and events."""
        return self.role in ("admin", "manager")


# the columns of `users` a User is made of, in its fields' order (user_from_row)
USER_COLUMNS = "id, login, display_name, role, locale, active, session_epoch"


def user_from_row(row: tuple) -> User:
    return User(*row)
