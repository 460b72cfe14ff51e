"""Contract tests: schemathesis generates requests from openapi.yaml and checks every answer against it.

They run against a live `hud server` (uvicorn over loopback) on SQLite, with a valid key, in
schemathesis' default phases (examples, coverage, fuzzing, stateful through the spec's links) and with
every check it has (`--checks all`), positive data acceptance included: every request the spec allows
is accepted, every request it forbids is refused. The spec is used as written, with no adjustment: it
says what the server refuses (NUL in text, the cursor and Idempotency-Key formats), and a key drawn
twice by chance with another request answers 409, which the contract allows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from _servers import live_server
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from hud.server import create_key, dispose

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
CONFIG: dict[str, Any] = {"generation": {"max-examples": 25}}

schema = schemathesis.openapi.from_path(SPEC, config=SchemathesisConfig.from_dict(CONFIG))
load_all_checks()
#: `--checks all`.
ALL_CHECKS = CHECKS.get_all()

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, requests.Session]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('contract') / 'contract.db'}"
    key = create_key(url, "contract")
    dispose(url)
    with live_server(url) as base_url, requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {key}"
        yield base_url, session


@schema.parametrize()
def test_every_operation_conforms(case: Any, server: tuple[str, requests.Session]) -> None:
    base_url, session = server
    case.call_and_validate(base_url=base_url, session=session, checks=ALL_CHECKS)


def test_stateful_workflows_through_links(server: tuple[str, requests.Session]) -> None:
    """Chains of calls along the spec's links (create job -> get/update/list; create env -> steps/close)."""
    base_url, session = server

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            # As the base class does, with every check (the recorder feeds the stateful ones).
            case.validate_response(
                response,
                checks=ALL_CHECKS,
                additional_checks=additional_checks,
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base_url, "session": session}

    Workflow.run(
        settings=hypothesis.settings(
            max_examples=40, stateful_step_count=6, deadline=None, suppress_health_check=list(hypothesis.HealthCheck)
        )
    )


def test_a_close_without_an_error_answers_what_the_spec_states(server: tuple[str, requests.Session]) -> None:
    # The stateful phase found this once in a while (a close whose answer has error_kind null); a
    # direct call finds it every time.
    base_url, session = server
    job = session.post(f"{base_url}/v2/jobs", json={"name": "plain"}).json()
    env = session.post(f"{base_url}/v2/create_environment", json={"run_id": job["id"], "gym_id": "g"}).json()
    answer = session.post(f"{base_url}/v2/environments/{env['id']}/close", json={"reward": 1.0})
    assert answer.json()["error_kind"] is None
    schema["/v2/environments/{env_id}/close"]["POST"].validate_response(answer)
