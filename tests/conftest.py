"""Shared fixtures: paths to test data, an in-process CLI runner, the JSON Schema validator."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from esr1calls.cli import cli
from esr1calls.reports.calls_json import load_schema
from esr1calls.testing import TESTDATA


@pytest.fixture(scope="session")
def testdata() -> Path:
    return TESTDATA


@pytest.fixture
def run_cli() -> Callable[[Sequence[str]], Result]:
    """Run the CLI in-process; stdout and stderr are kept apart."""

    def run(args: Sequence[str], **kwargs: Any) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)

    return run


@pytest.fixture(scope="session")
def calls_validator() -> jsonschema.protocols.Validator:
    schema = load_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@pytest.fixture
def validate_calls_json(calls_validator: Any) -> Callable[[Path], dict[str, Any]]:
    """Load a calls.json and assert it is valid against the shipped schema."""

    def check(path: Path) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        errors = sorted(calls_validator.iter_errors(document), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
        return document

    return check
