"""Bench-only bulk loader: jobs with many trajectories, written straight into the server's tables.

Going through the API would take minutes for 100,000 trajectories; this writes the same rows the
server writes when environments close (`jobs`, `trajectories`, `steps`; `environments` rows only
when asked, for `hud sync`, which lists them: reading trajectories never touches them), through the
server's own engine and table definitions.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import insert

from hud.server._db import get_engine, write_engine
from hud.server._tables import environments, jobs, steps, trajectories

__all__ = ["load_job"]

_BATCH = 5000


def _step_text(i: int, when: str) -> str:
    return json.dumps(
        {
            "observation_url": None,
            "observation_text": f"observation {i}: the page shows a form with two fields",
            "actions": [{"type": "click", "x": 10 + i, "y": 20}, {"type": "type", "text": "hello"}],
            "start_timestamp": when,
            "end_timestamp": when,
        },
        separators=(",", ":"),
    )


def load_job(
    database_url: str, account: str, *, trajectories_n: int, steps_n: int, with_environments: bool = False
) -> str:
    """Create a job of `account` with `trajectories_n` trajectories of `steps_n` steps each; its id.

    `with_environments`: also the closed environments they came from, and each trajectory's task,
    gym and closing time, as a job recorded through the API has them.
    """
    engine = write_engine(get_engine(database_url))
    when = datetime.now(UTC).isoformat()
    job_id = str(uuid.uuid4())
    step_texts = [_step_text(i, when) for i in range(steps_n)]
    # The sizes the server records at close: answers are planned from them.
    step_sizes = [len(t.encode("utf-8")) for t in step_texts]
    with engine.begin() as conn:
        conn.execute(
            insert(jobs),
            {
                "id": job_id,
                "account": account,
                "name": f"bench-{trajectories_n}x{steps_n}",
                "status": "completed",
                "metadata": '{"bench":true}',
                "gym_id": None,
                "evalset_id": None,
                "created_at": when,
                "error": None,
            },
        )
    for start in range(0, trajectories_n, _BATCH):
        ids = [str(uuid.uuid4()) for _ in range(min(_BATCH, trajectories_n - start))]
        with engine.begin() as conn:
            conn.execute(
                insert(trajectories),
                [
                    {
                        "id": env_id,
                        "account": account,
                        "job_id": job_id,
                        "reward": 1.0,
                        "logs": "ok",
                        "error": None,
                        "step_count": steps_n,
                        "created_at": when,
                        "size_bytes": sum(step_sizes) + len("ok"),
                        "max_step_bytes": max(step_sizes, default=0),
                        **(
                            {"task_id": f"task-{(start + i) % 100}", "gym_id": "bench-gym", "closed_at": when}
                            if with_environments
                            else {}
                        ),
                    }
                    for i, env_id in enumerate(ids)
                ],
            )
            if with_environments:
                conn.execute(
                    insert(environments),
                    [
                        {
                            "id": env_id,
                            "account": account,
                            "job_id": job_id,
                            "gym_id": "bench-gym",
                            "task_id": f"task-{(start + i) % 100}",
                            "step_count": steps_n,
                            "closed_at": when,
                            "created_at": when,
                        }
                        for i, env_id in enumerate(ids)
                    ],
                )
            if steps_n:
                conn.execute(
                    insert(steps),
                    [{"env_id": env_id, "position": p, "data": t} for env_id in ids for p, t in enumerate(step_texts)],
                )
    return job_id
