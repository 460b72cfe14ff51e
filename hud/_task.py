"""`Task`: what `run_job` runs, and how the tasks it is given are checked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from hud._validate import check_metadata, check_optional_text
from hud.errors import InvalidInputError

__all__ = ["Task", "TaskT", "as_tasks"]


class Task(BaseModel):
    """A task for `run_job`: its id, optionally its gym and metadata, and any fields your agent reads.

    Extra fields are kept (`Task(id="t-1", prompt="...").prompt`); subclass it to type them. `metadata`
    is stored with each environment (and trajectory) of the task.

    Attributes:
        id: The task's id, unique among the tasks of a run; trajectories carry it as `task_id`.
        gym_id: The gym its environments are made in (default: `run_job`'s `gym_id`).
        metadata: A JSON object stored with each of its environments.
    """

    model_config = ConfigDict(extra="allow")

    id: str
    gym_id: str | None = None
    metadata: dict[str, Any] | None = None


TaskT = TypeVar("TaskT", bound=Task)


def as_tasks(tasks: object, gym_id: str | None) -> list[Task]:
    """The tasks as `Task`s, checked: ids unique and valid, each with a gym."""
    if isinstance(tasks, str | bytes | Mapping) or not isinstance(tasks, Iterable):
        raise InvalidInputError(
            f"tasks must be an iterable of tasks (Task, dict with 'id', or str), got {type(tasks).__name__}"
        )
    found: list[Task] = []
    seen: set[str] = set()
    for i, item in enumerate(tasks):
        if isinstance(item, Task):
            task = item
        elif isinstance(item, str):
            task = Task(id=item)
        elif isinstance(item, Mapping):
            try:
                task = Task.model_validate(dict(item))
            except ValidationError as exc:
                raise InvalidInputError(f"tasks[{i}] is not a task: {exc}") from None
        else:
            raise InvalidInputError(
                f"tasks[{i}] must be a Task, a dict with 'id', or a str (the task id), got {type(item).__name__}"
            )
        check_optional_text(task.id, f"tasks[{i}].id")
        check_optional_text(task.gym_id, f"tasks[{i}].gym_id")
        check_metadata(task.metadata, f"tasks[{i}].metadata")
        if task.gym_id is None and gym_id is None:
            raise InvalidInputError(f"task {task.id!r} has no gym: pass gym_id= to run_job, or set the task's gym_id")
        if task.id in seen:
            raise InvalidInputError(f"task id {task.id!r} appears twice: task ids must be unique (use repeats=)")
        seen.add(task.id)
        found.append(task)
    if not found:
        raise InvalidInputError("tasks is empty: give at least one task")
    return found
