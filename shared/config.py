"""Service configuration: one YAML per service, ``${VAR:default}`` substituted from the environment
exactly as ``nameko run --config`` does (we reuse nameko's own loader so both read alike)."""
import os

import warnings

import yaml

with warnings.catch_warnings():  # nameko's CLI module imports the deprecated pkg_resources
    warnings.simplefilter("ignore")
    from nameko.cli.main import setup_yaml_parser

PG_DSN_BASE_DEFAULT = "host=127.0.0.1 port=5432 user=postgres"


def load(path):
    setup_yaml_parser()
    with open(path) as f:
        return yaml.safe_load(f)


def dsn_for(dbname, base=None):
    """A libpq DSN for ``dbname`` on the server named by ``TALENT_PG_DSN_BASE``."""
    base = base or os.environ.get("TALENT_PG_DSN_BASE", PG_DSN_BASE_DEFAULT)
    return f"{base} dbname={dbname}"
