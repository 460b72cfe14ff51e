# generated from openapi.yaml by codegen.sh — do not edit
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.trajectory_step import TrajectoryStep


T = TypeVar("T", bound="StepPage")


@_attrs_define
class StepPage:
    """**Extension.** Steps of an environment, from `offset` on."""

    id: str
    step_count: int
    """ The environment's steps in all. """
    offset: int
    """ The position of the first step answered. """
    steps: list[TrajectoryStep]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        step_count = self.step_count

        offset = self.offset

        steps = []
        for steps_item_data in self.steps:
            steps_item = steps_item_data.to_dict()
            steps.append(steps_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "step_count": step_count,
                "offset": offset,
                "steps": steps,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.trajectory_step import TrajectoryStep

        d = dict(src_dict)
        id = d.pop("id")

        step_count = d.pop("step_count")

        offset = d.pop("offset")

        steps = []
        _steps = d.pop("steps")
        for steps_item_data in _steps:
            steps_item = TrajectoryStep.from_dict(steps_item_data)

            steps.append(steps_item)

        step_page = cls(
            id=id,
            step_count=step_count,
            offset=offset,
            steps=steps,
        )

        step_page.additional_properties = d
        return step_page

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
