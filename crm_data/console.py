"""Console commands that need the whole start-up (crm_data.startup), kept apart from the
modules they serve so that no module imports the composition root that imports it."""

from __future__ import annotations

import argparse
import getpass
import sys

from crm_data import startup, users
from crm_data.config import config_for, config_from_env
from crm_data.errors import CrmError, ValidationError
from crm_data.i18n import Fmt


def users_main(argv: list[str] | None = None) -> int:
    """`python -m crm_data.users create-admin`: an administrator made from the console."""
    parser = argparse.ArgumentParser(prog="python -m crm_data.users", description="Manage CRM users from the console.")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("create-admin", help="create an administrator account (also when one exists)")
    make.add_argument("--login", required=True)
    make.add_argument("--name", required=True, help="display name")
    make.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    make.add_argument("--db", help="database file (default: CRM_DB_PATH or data/crm.duckdb)")
    args = parser.parse_args(argv)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat it: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    config = config_for(args.db) if args.db else config_from_env()
    try:
        db = startup.open_app(config)
        user = users.create_admin_from_console(db, login=args.login, display_name=args.name, password=password)
        startup.close_app(config)
    except ValidationError as exc:
        f = Fmt("en")
        for error in exc.errors:
            print(f"error: {error.field}: {f.t(error.key, **error.params)}", file=sys.stderr)
        return 2
    except CrmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"administrator {user.login} created in {config.db_path}")
    return 0
