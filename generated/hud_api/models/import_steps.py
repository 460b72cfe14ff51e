# generated from openapi.yaml by codegen.sh — do not edit
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.trajectory_step import TrajectoryStep


T = TypeVar("T", bound="ImportSteps")


@_attrs_define
class ImportSteps:
    """**Extension.** Steps of an environment, from `position` on."""

    env_id: str
    """ An opaque id. """
    position: int
    steps: list[TrajectoryStep]

    def to_dict(self) -> dict[str, Any]:
        env_id = self.env_id

        position = self.position

        steps = []
        for steps_item_data in self.steps:
            steps_item = steps_item_data.to_dict()
            steps.append(steps_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "env_id": env_id,
                "position": position,
                "steps": steps,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.trajectory_step import TrajectoryStep

        d = dict(src_dict)
        env_id = d.pop("env_id")

        position = d.pop("position")

        steps = []
        _steps = d.pop("steps")
        for steps_item_data in _steps:
            steps_item = TrajectoryStep.from_dict(steps_item_data)

            steps.append(steps_item)

        import_steps = cls(
            env_id=env_id,
            position=position,
            steps=steps,
        )

        return import_steps
