# generated from openapi.yaml by codegen.sh — do not edit
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="TaskStats")


@_attrs_define
class TaskStats:
    """**Extension.** One task of a job: its attempts, under the summary's scoring rule."""

    attempts: int
    counted: int
    scored: int
    successes: int
    task_id: None | str | Unset = UNSET
    """ The task; null for a trajectory recorded without one (then `trajectory_id` is set). """
    trajectory_id: None | str | Unset = UNSET
    """ The one trajectory of a unit without a task; null for a task. """
    mean_reward: float | None | Unset = UNSET
    """ The mean reward of its scored attempts; null when none is. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        attempts = self.attempts

        counted = self.counted

        scored = self.scored

        successes = self.successes

        task_id: None | str | Unset
        if isinstance(self.task_id, Unset):
            task_id = UNSET
        else:
            task_id = self.task_id

        trajectory_id: None | str | Unset
        if isinstance(self.trajectory_id, Unset):
            trajectory_id = UNSET
        else:
            trajectory_id = self.trajectory_id

        mean_reward: float | None | Unset
        if isinstance(self.mean_reward, Unset):
            mean_reward = UNSET
        else:
            mean_reward = self.mean_reward

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attempts": attempts,
                "counted": counted,
                "scored": scored,
                "successes": successes,
            }
        )
        if task_id is not UNSET:
            field_dict["task_id"] = task_id
        if trajectory_id is not UNSET:
            field_dict["trajectory_id"] = trajectory_id
        if mean_reward is not UNSET:
            field_dict["mean_reward"] = mean_reward

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        attempts = d.pop("attempts")

        counted = d.pop("counted")

        scored = d.pop("scored")

        successes = d.pop("successes")

        def _parse_task_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        task_id = _parse_task_id(d.pop("task_id", UNSET))

        def _parse_trajectory_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        trajectory_id = _parse_trajectory_id(d.pop("trajectory_id", UNSET))

        def _parse_mean_reward(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        mean_reward = _parse_mean_reward(d.pop("mean_reward", UNSET))

        task_stats = cls(
            attempts=attempts,
            counted=counted,
            scored=scored,
            successes=successes,
            task_id=task_id,
            trajectory_id=trajectory_id,
            mean_reward=mean_reward,
        )

        task_stats.additional_properties = d
        return task_stats

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
