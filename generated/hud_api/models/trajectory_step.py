# generated from openapi.yaml by codegen.sh — do not edit
from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.trajectory_step_actions_item import TrajectoryStepActionsItem


T = TypeVar("T", bound="TrajectoryStep")


@_attrs_define
class TrajectoryStep:
    """One step. **Extension (limits of this server):** a step is at most 4 MiB (4,194,304 bytes) as
    compact UTF-8 JSON (422 beyond); an environment holds at most 100,000 steps and 512 MiB
    (536,870,912 bytes) of them (appending beyond answers 409).

    """

    observation_url: None | str | Unset = UNSET
    observation_text: None | str | Unset = UNSET
    actions: list[TrajectoryStepActionsItem] | Unset = UNSET
    start_timestamp: datetime.datetime | None | Unset = UNSET
    end_timestamp: datetime.datetime | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        observation_url: None | str | Unset
        if isinstance(self.observation_url, Unset):
            observation_url = UNSET
        else:
            observation_url = self.observation_url

        observation_text: None | str | Unset
        if isinstance(self.observation_text, Unset):
            observation_text = UNSET
        else:
            observation_text = self.observation_text

        actions: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.actions, Unset):
            actions = []
            for actions_item_data in self.actions:
                actions_item = actions_item_data.to_dict()
                actions.append(actions_item)

        start_timestamp: None | str | Unset
        if isinstance(self.start_timestamp, Unset):
            start_timestamp = UNSET
        elif isinstance(self.start_timestamp, datetime.datetime):
            start_timestamp = self.start_timestamp.isoformat()
        else:
            start_timestamp = self.start_timestamp

        end_timestamp: None | str | Unset
        if isinstance(self.end_timestamp, Unset):
            end_timestamp = UNSET
        elif isinstance(self.end_timestamp, datetime.datetime):
            end_timestamp = self.end_timestamp.isoformat()
        else:
            end_timestamp = self.end_timestamp

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if observation_url is not UNSET:
            field_dict["observation_url"] = observation_url
        if observation_text is not UNSET:
            field_dict["observation_text"] = observation_text
        if actions is not UNSET:
            field_dict["actions"] = actions
        if start_timestamp is not UNSET:
            field_dict["start_timestamp"] = start_timestamp
        if end_timestamp is not UNSET:
            field_dict["end_timestamp"] = end_timestamp

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.trajectory_step_actions_item import TrajectoryStepActionsItem

        d = dict(src_dict)

        def _parse_observation_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        observation_url = _parse_observation_url(d.pop("observation_url", UNSET))

        def _parse_observation_text(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        observation_text = _parse_observation_text(d.pop("observation_text", UNSET))

        _actions = d.pop("actions", UNSET)
        actions: list[TrajectoryStepActionsItem] | Unset = UNSET
        if _actions is not UNSET:
            actions = []
            for actions_item_data in _actions:
                actions_item = TrajectoryStepActionsItem.from_dict(actions_item_data)

                actions.append(actions_item)

        def _parse_start_timestamp(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                start_timestamp_type_0 = datetime.datetime.fromisoformat(data)

                return start_timestamp_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        start_timestamp = _parse_start_timestamp(d.pop("start_timestamp", UNSET))

        def _parse_end_timestamp(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                end_timestamp_type_0 = datetime.datetime.fromisoformat(data)

                return end_timestamp_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        end_timestamp = _parse_end_timestamp(d.pop("end_timestamp", UNSET))

        trajectory_step = cls(
            observation_url=observation_url,
            observation_text=observation_text,
            actions=actions,
            start_timestamp=start_timestamp,
            end_timestamp=end_timestamp,
        )

        return trajectory_step
