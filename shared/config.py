"""Service configuration: one YAML per service, ``${VAR:default}`` substituted from the environment
exactly as ``nameko run --config`` does (we reuse nameko's own loader so both read alike)."""

from __future__ import annotations

import os
import warnings
from typing import Any

import yaml

with warnings.catch_warnings():  # nameko's CLI module imports the deprecated pkg_resources
    warnings.simplefilter("ignore")
    from nameko.cli.main import IMPLICIT_ENV_VAR_MATCHER, env_var_constructor

PG_DSN_BASE_DEFAULT = "host=127.0.0.1 port=5432 user=postgres"


class _ConfigLoader(yaml.SafeLoader):
    """yaml.SafeLoader with nameko's ``${VAR:default}`` substitution, on a class of its own:
    nameko's ``setup_yaml_parser`` adds it to ``yaml.SafeLoader`` itself, which changes every
    other ``yaml.safe_load`` in the process (a Compose file's ``${VAR:-x}`` would be replaced)."""


_ConfigLoader.add_constructor("!env_var", env_var_constructor)
_ConfigLoader.add_constructor(
    "!raw_env_var", lambda loader, node: env_var_constructor(loader, node, raw=True)
)
_ConfigLoader.add_implicit_resolver("!env_var", IMPLICIT_ENV_VAR_MATCHER, None)


def load(path: str | os.PathLike[str]) -> Any:
    """The YAML file ``path``, its ``${VAR:default}`` substituted from the environment."""
    with open(path) as f:
        return yaml.load(f, Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader subclass


def dsn_for(dbname: str, base: str | None = None) -> str:
    """A libpq DSN for ``dbname`` on the server named by ``TALENT_PG_DSN_BASE``."""
    base = base or os.environ.get("TALENT_PG_DSN_BASE", PG_DSN_BASE_DEFAULT)
    return f"{base} dbname={dbname}"
