"""GET /docs: the OpenAPI document as a browsable HTML page, rendered here; the page runs no script."""
import json
from dataclasses import dataclass

from flask import Blueprint, current_app, render_template

from service.api import openapi
from service.web.dashboard import html

blueprint = Blueprint("reference", __name__, template_folder="templates")
# Its stylesheet is all the page loads.
POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
          "frame-ancestors 'none'")
DEEPEST = 4  # nesting shown by indentation; deeper rows stay at this depth


@dataclass(frozen=True)
class Row:
    """One field of a schema, as a table row."""

    name: str
    summary: str  # its type and bounds in a few words
    target: str | None  # the schema component it refers to, linked
    required: bool
    description: str
    depth: int


@blueprint.get("/docs")
def reference():
    """The API reference: every operation with its parameters, request body and answers (HTML)."""
    doc = openapi.document(current_app)
    schemas = {name: (summary(s), rows(s)) for name, s in doc["components"]["schemas"].items()}
    return html(render_template("reference.html", doc=doc, operations=operations(doc), schemas=schemas), POLICY)


reference.operation = openapi.Operation(200, openapi.TEXT, media=openapi.HTML)


def operations(doc) -> list[dict]:
    """Every operation of `doc`, in the document's order, ready for the page."""
    found = []
    # The API first, then what is served beside it (the probes, metrics, this page and the dashboard).
    for path, item in sorted(doc["paths"].items(), key=lambda p: (not p[0].startswith("/api/"), p[0])):
        for method, op in item.items():
            body = op.get("requestBody", {}).get("content", {})
            found.append({
                "id": op["operationId"], "method": method.upper(), "path": path, "summary": op["summary"] or "",
                "token": bool(op["security"]),
                "parameters": [{**p, "type": summary(p["schema"]), "target": target(p["schema"])}
                               for p in op["parameters"]],
                "body": [(media, summary(c["schema"]), target(c["schema"])) for media, c in body.items()],
                "responses": [_response(code, answer) for code, answer in op["responses"].items()]})
    return found


def _response(code, answer):
    if "$ref" in answer:  # a shared problem, described once further down
        return {"code": code, "shared": answer["$ref"].rsplit("/", 1)[1], "content": []}
    return {"code": code, "shared": None, "description": answer["description"],
            "headers": list(answer.get("headers", {})),
            "content": [(media, summary(c.get("schema", {})), target(c.get("schema", {})))
                        for media, c in answer.get("content", {}).items()]}


def summary(schema) -> str:
    """A schema's type and bounds in a few words: 'integer, 1 to 200, default 50'."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "const" in schema:
        return f"always {json.dumps(schema['const'])}"
    if "oneOf" in schema:
        return "one of " + ", ".join(s.get("title") or summary(s) for s in schema["oneOf"])
    kinds = schema.get("type", "any")
    text = " or ".join(kinds) if isinstance(kinds, list) else kinds
    if "enum" in schema:
        text = "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    if isinstance(schema.get("items"), dict):
        text = text.replace("array", f"array of {summary(schema['items'])}", 1)
    if isinstance(schema.get("additionalProperties"), dict):
        text = text.replace("object", f"object of {summary(schema['additionalProperties'])}", 1)
    low = ("from", schema["minimum"]) if "minimum" in schema else ("above", schema.get("exclusiveMinimum"))
    parts = [text]
    if low[1] is not None or "maximum" in schema:
        parts.append(" ".join(f"{word} {value}" for word, value in (low, ("to", schema.get("maximum")))
                              if value is not None))
    for least, most, unit in (("minLength", "maxLength", "characters"), ("minItems", "maxItems", "items"),
                              ("minProperties", "maxProperties", "entries")):
        low, high = schema.get(least), schema.get(most)
        if low is not None or high is not None:
            parts.append(f"{low} to {high} {unit}" if low is not None and high is not None
                         else "not empty" if low == 1 else f"at least {low} {unit}" if low is not None
                         else f"at most {high} {unit}")
    for key, word in (("format", "{}"), ("pattern", "matching {}")):
        if key in schema:
            parts.append(word.format(schema[key]))
    if "default" in schema:
        parts.append(f"default {json.dumps(schema['default'])}")
    return ", ".join(parts)


def target(schema) -> str | None:
    """The schema component `schema` (or its items) refers to, if any."""
    for s in (schema, schema.get("items") or {}):
        if "$ref" in s:
            return s["$ref"].rsplit("/", 1)[1]
    return None


def rows(schema, depth=0) -> list[Row]:
    """The fields of an object schema (and of its alternatives and nested objects), as table rows."""
    found, shown = [], min(depth, DEEPEST)
    # An alternative by reference is named by the discriminator's value for it (a submission's variant).
    named = {ref: value for value, ref in schema.get("discriminator", {}).get("mapping", {}).items()}
    for alternative in schema.get("oneOf", []):
        label = alternative.get("title") or named.get(alternative.get("$ref"), "")
        found.append(Row(f"one of: {label}".rstrip(": "), summary(alternative)
                         if "title" not in alternative else "", target(alternative), False,
                         alternative.get("description", ""), shown))
        found += rows(alternative, depth + 1)
    required = schema.get("required", [])
    for name, field in schema.get("properties", {}).items():
        found.append(Row(name, summary(field), target(field), name in required, field.get("description", ""),
                         shown))
        found += rows(field, depth + 1) + rows(field.get("items") or {}, depth + 1)
    return found
