"""Where the data lives and the few settings that come from the environment.

CRM_DATABASE_URL      postgresql://user:password@host:port/name: team mode, several app processes on
                      one PostgreSQL database (crm_data.engines.postgres); unset, the DuckDB file
CRM_DB_PATH           the DuckDB file (default: data/crm.duckdb beside the repository)
CRM_DATA_DIR          the folder for attachments (default: the folder of the database file)
CRM_ATTACHMENT_MAX_MB the default attachment size limit, until an admin sets one (default 25)
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = REPO_ROOT / "data" / "crm.duckdb"
DEFAULT_ATTACHMENT_MAX_MB = 25


@dataclass(frozen=True)
class Config:
    db_path: Path
    data_dir: Path
    attachment_max_mb: int = DEFAULT_ATTACHMENT_MAX_MB
    # team mode: the PostgreSQL database every app process shares; None, the DuckDB file
    database_url: str | None = None

    @property
    def database_key(self) -> str:
        """Which database this is, for the data versions and the shared cache's keys: the file,
        or the PostgreSQL database (its address without the password)."""
        if self.database_url is None:
            return str(self.db_path)
        return re.sub(r"://([^:/@]*):[^@]*@", r"://\1@", self.database_url)

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"


def config_from_env(env: os._Environ[str] | dict[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    db_path = Path(env.get("CRM_DB_PATH") or DEFAULT_DB_PATH).expanduser().resolve()
    data_dir = Path(env.get("CRM_DATA_DIR") or db_path.parent).expanduser().resolve()
    limit = int(env.get("CRM_ATTACHMENT_MAX_MB") or DEFAULT_ATTACHMENT_MAX_MB)
    url = env.get("CRM_DATABASE_URL") or None
    return Config(db_path=db_path, data_dir=data_dir, attachment_max_mb=limit, database_url=url)


def current_config() -> Config:
    """The configuration of the environment as it is now: the one the pages and the web routes
    share. Resolved once per set of values (resolving paths touches the disk, and a page asks
    for it dozens of times a run), yet following the environment when it changes (tests)."""
    env = os.environ
    return _resolved(
        env.get("CRM_DB_PATH", ""),
        env.get("CRM_DATA_DIR", ""),
        env.get("CRM_ATTACHMENT_MAX_MB", ""),
        env.get("CRM_DATABASE_URL", ""),
    )


@functools.lru_cache(maxsize=8)
def _resolved(db_path: str, data_dir: str, attachment_max_mb: str, database_url: str) -> Config:
    return config_from_env(
        {
            "CRM_DB_PATH": db_path,
            "CRM_DATA_DIR": data_dir,
            "CRM_ATTACHMENT_MAX_MB": attachment_max_mb,
            "CRM_DATABASE_URL": database_url,
        }
    )


def config_for(db_path: str | Path, data_dir: str | Path | None = None) -> Config:
    db_path = Path(db_path).expanduser().resolve()
    return Config(db_path=db_path, data_dir=Path(data_dir).resolve() if data_dir else db_path.parent)
