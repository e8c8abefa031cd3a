"""The OpenAPI document at /api/v1/openapi.json and a readable page of it at /api/v1/docs.

Both are generated from the resources' code and schemas; nothing here is written by hand but the
layout. They describe the API only, no data, so they are open without signing in.
"""
from __future__ import annotations

import copy

from flask import Blueprint, current_app, jsonify, render_template

from workflow.api.problems import PROBLEM
from workflow.security import public

bp = Blueprint("api_docs", __name__)

METHODS = ("get", "post", "put", "patch", "delete")


def document() -> dict:
    """The generated document, with error responses typed as problem+json."""
    from workflow.api import api

    spec = copy.deepcopy(api.spec.to_dict())
    for tag in spec.get("tags", []):
        tag["name"] = tag["name"].removeprefix("api_")
    responses = list(spec.get("components", {}).get("responses", {}).values())
    for path in spec.get("paths", {}).values():
        for method in METHODS:
            operation = path.get(method, {})
            operation["tags"] = [tag.removeprefix("api_") for tag in operation.get("tags", [])]
            for status, response in operation.get("responses", {}).items():
                if status == "default" or str(status).startswith(("4", "5")):
                    responses.append(response)
    for response in responses:
        content = response.get("content", {})
        if "application/json" in content:
            content[PROBLEM] = content.pop("application/json")
    return spec


@bp.route("/openapi.json")
@public
def openapi_json():
    return jsonify(document())


@bp.route("/docs")
@public
def docs_page():
    spec = document()
    operations = {}
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                tag = (operation.get("tags") or ["api"])[0]
                operations.setdefault(tag, []).append((method.upper(), path, operation))
    return render_template("api/docs.html", spec=spec, operations=operations,
                           tags={tag["name"]: tag.get("description", "") for tag in spec.get("tags", [])},
                           schemas=spec.get("components", {}).get("schemas", {}),
                           rate_limit=current_app.config["API_RATE_LIMIT"])
