"""The OpenAPI description of each service: every HTTP entrypoint of the service class has one
(and no description outlives its entrypoint), bodies are the schemas the entrypoints load, and
the document is valid OpenAPI 3.1."""

import ast
import importlib
import inspect
import textwrap

import jsonschema
import pytest
from marshmallow import Schema
from schemathesis.specs.openapi.definitions import OPENAPI_31 as OPENAPI_31_SCHEMA

from shared import openapi
from shared.runtime import base
from shared.web import endpoint

SERVICES = ("applications", "subsidies", "assessment", "notifications")


def service_class(svc):
    module = importlib.import_module(f"services.{svc}.service")
    return next(
        v
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, base.ServiceBase) and getattr(v, "name", "") == svc
    )


@pytest.mark.parametrize("svc", SERVICES)
def test_every_http_entrypoint_is_described_and_nothing_else(svc):
    cls = service_class(svc)
    assert openapi.missing(cls) == ([], [])
    document = openapi.document(cls)
    described = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    routes = {(r.method, openapi.openapi_path(r.url)[0]) for r in openapi.routes(cls)}
    assert described == routes and len(routes) >= 10
    assert ("GET", "/openapi.json") in routes


def test_an_endpoint_without_a_description_is_found():
    class Undescribed(base.ServiceBase):
        name = "undescribed"
        operations = {}

        @endpoint("GET", "/things/<int:thing_id>", action="application.read")
        def get_thing(self, request, thing_id):
            return {}

    assert openapi.missing(Undescribed) == (["get_thing"], [])
    with pytest.raises(LookupError, match="get_thing"):
        openapi.document(Undescribed)
    Undescribed.operations = {
        "get_thing": openapi.Operation("a thing"),
        "gone": openapi.Operation("x"),
    }
    assert openapi.missing(Undescribed) == ([], ["gone"])


def _parsed_schema(fn):
    """The schema named in the entrypoint's ``parse_body(request, schemas.X...)``, if any."""
    source = textwrap.dedent(inspect.getsource(inspect.unwrap(fn)))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "parse_body":
            arg = node.args[1]
            target = arg.func if isinstance(arg, ast.Call) else arg
            return ast.unparse(target)
    return None


@pytest.mark.parametrize("svc", SERVICES)
def test_bodies_are_the_schemas_the_entrypoints_load(svc):
    cls = service_class(svc)
    operations = openapi.operations_of(cls)
    checked = 0
    for route in openapi.routes(cls):
        op = operations[route.name]
        named = _parsed_schema(getattr(cls, route.name))
        if named is None:
            assert op.body is None, route.name
            continue
        assert op.body is not None, f"{route.name} loads {named} but describes no body"
        if named.startswith("schemas.") and "[" not in named:
            body = op.body if isinstance(op.body, type) else type(op.body)
            assert body.__name__ == named.removeprefix("schemas."), route.name
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize("svc", SERVICES)
def test_the_document_is_valid_openapi_3_1_with_error_shapes_and_examples(svc):
    document = openapi.document(service_class(svc))
    jsonschema.validate(document, OPENAPI_31_SCHEMA)
    assert document["openapi"] == "3.1.0"
    error = document["components"]["schemas"]["Error"]
    assert {"code", "message"} <= set(error["required"])
    components = document["components"]
    examples = 0
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            responses = op["responses"]
            assert any(code.startswith("2") for code in responses), (method, path)
            for code, response in responses.items():
                content = response.get("content", {}).get("application/json")
                if code.startswith("4") and content:
                    assert content["schema"] == {"$ref": "#/components/schemas/Error"}
                if content and "example" in content:  # an example its own schema accepts
                    examples += 1
                    jsonschema.validate(
                        content["example"],
                        {**content["schema"], "components": components},
                        cls=jsonschema.Draft202012Validator,
                    )
            if "requestBody" in op:
                assert op["requestBody"]["content"]["application/json"]["schema"]
            assert op["security"] == [] or op["security"] == [{"bearer": []}]
    assert examples >= 20


def test_examples_are_valid_against_their_schemas():
    """Every request example loads through the schema it illustrates."""
    count = 0
    for svc in SERVICES:
        for name, op in openapi.operations_of(service_class(svc)).items():
            if op.example is None:
                continue
            schema = op.body() if isinstance(op.body, type) else op.body
            assert isinstance(schema, Schema), name
            schema.load(dict(op.example))
            count += 1
    assert count >= 8


@pytest.mark.parametrize("svc", SERVICES)
def test_every_http_entrypoint_is_on_the_json_routing_server(svc):
    """One server class per service (two would each bind the port), the one whose router
    refuses in JSON."""
    from nameko.web.handlers import HttpRequestHandler

    from shared.web import GuardedHttpRequestHandler

    found = [
        e
        for _, member in inspect.getmembers(service_class(svc), inspect.isfunction)
        for e in getattr(member, "nameko_entrypoints", ())
        if isinstance(e, HttpRequestHandler)
    ]
    assert len(found) >= 10 and all(type(e) is GuardedHttpRequestHandler for e in found)
