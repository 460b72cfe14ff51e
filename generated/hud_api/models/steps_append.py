# generated from openapi.yaml by codegen.sh — do not edit
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.trajectory_step import TrajectoryStep


T = TypeVar("T", bound="StepsAppend")


@_attrs_define
class StepsAppend:
    """**Extension.** Steps to append, in order."""

    steps: list[TrajectoryStep]

    def to_dict(self) -> dict[str, Any]:
        steps = []
        for steps_item_data in self.steps:
            steps_item = steps_item_data.to_dict()
            steps.append(steps_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "steps": steps,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.trajectory_step import TrajectoryStep

        d = dict(src_dict)
        steps = []
        _steps = d.pop("steps")
        for steps_item_data in _steps:
            steps_item = TrajectoryStep.from_dict(steps_item_data)

            steps.append(steps_item)

        steps_append = cls(
            steps=steps,
        )

        return steps_append
