"""The committed AsyncAPI catalogue, judged by the AsyncAPI parser (npm ``@asyncapi/parser``,
installed into var/node by tests/support/node.py): no error, no warning, every channel and
message of the contracts in it."""

from shared.contracts import catalogue, load_all
from tests.support.node import asyncapi_diagnostics


def test_the_asyncapi_parser_finds_no_error_or_warning():
    result = asyncapi_diagnostics(catalogue.PATH)
    assert result["parsed"] and result["version"] == "3.0.0"
    assert result["errors"] == []
    assert result["warnings"] == []
    registry = load_all()
    assert result["channels"] == len(registry.latest)
    assert result["messages"] == len(registry.contracts)


def test_the_parser_refuses_a_broken_document(tmp_path):
    """The parser is really judging: a channel pointing at a message that does not exist, and an
    operation without its action, are errors."""
    doc = catalogue.document()
    channel = next(iter(doc["channels"].values()))
    channel["messages"] = {"nothing": {"$ref": "#/components/messages/NoSuchMessage"}}
    del next(iter(doc["operations"].values()))["action"]
    broken = tmp_path / "broken.yaml"
    broken.write_text(catalogue.yaml.safe_dump(doc), encoding="utf-8")
    assert asyncapi_diagnostics(broken)["errors"]
