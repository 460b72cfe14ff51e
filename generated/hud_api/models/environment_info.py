# generated from openapi.yaml by codegen.sh — do not edit
from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.environment_info_state import EnvironmentInfoState, check_environment_info_state
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.metadata_type_0 import MetadataType0


T = TypeVar("T", bound="EnvironmentInfo")


@_attrs_define
class EnvironmentInfo:
    """**Extension.** An environment of a job, open or closed."""

    id: str
    gym_id: None | str
    """ Null for an environment created with `gym_id` null. """
    created_at: datetime.datetime
    step_count: int
    state: EnvironmentInfoState
    job_id: None | str | Unset = UNSET
    task_id: None | str | Unset = UNSET
    metadata: MetadataType0 | None | Unset = UNSET
    """ Free-form JSON object. **Extension (limits of this server):** at most 1 MiB (1,048,576 bytes)
    as compact UTF-8 JSON, and the whole request body nests at most 64 levels deep; more answers 422.
     """
    closed_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.metadata_type_0 import MetadataType0

        id = self.id

        gym_id: None | str
        gym_id = self.gym_id

        created_at = self.created_at.isoformat()

        step_count = self.step_count

        state: str = self.state

        job_id: None | str | Unset
        if isinstance(self.job_id, Unset):
            job_id = UNSET
        else:
            job_id = self.job_id

        task_id: None | str | Unset
        if isinstance(self.task_id, Unset):
            task_id = UNSET
        else:
            task_id = self.task_id

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, MetadataType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        closed_at: None | str | Unset
        if isinstance(self.closed_at, Unset):
            closed_at = UNSET
        elif isinstance(self.closed_at, datetime.datetime):
            closed_at = self.closed_at.isoformat()
        else:
            closed_at = self.closed_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "gym_id": gym_id,
                "created_at": created_at,
                "step_count": step_count,
                "state": state,
            }
        )
        if job_id is not UNSET:
            field_dict["job_id"] = job_id
        if task_id is not UNSET:
            field_dict["task_id"] = task_id
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if closed_at is not UNSET:
            field_dict["closed_at"] = closed_at

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.metadata_type_0 import MetadataType0

        d = dict(src_dict)
        id = d.pop("id")

        def _parse_gym_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        gym_id = _parse_gym_id(d.pop("gym_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        step_count = d.pop("step_count")

        state = check_environment_info_state(d.pop("state"))

        def _parse_job_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        job_id = _parse_job_id(d.pop("job_id", UNSET))

        def _parse_task_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        task_id = _parse_task_id(d.pop("task_id", UNSET))

        def _parse_metadata(data: object) -> MetadataType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_metadata_type_0 = MetadataType0.from_dict(data)

                return componentsschemas_metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MetadataType0 | None | Unset, data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))

        def _parse_closed_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                closed_at_type_0 = datetime.datetime.fromisoformat(data)

                return closed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        closed_at = _parse_closed_at(d.pop("closed_at", UNSET))

        environment_info = cls(
            id=id,
            gym_id=gym_id,
            created_at=created_at,
            step_count=step_count,
            state=state,
            job_id=job_id,
            task_id=task_id,
            metadata=metadata,
            closed_at=closed_at,
        )

        environment_info.additional_properties = d
        return environment_info

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
