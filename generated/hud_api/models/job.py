# generated from openapi.yaml by codegen.sh — do not edit
from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.metadata_type_0 import MetadataType0


T = TypeVar("T", bound="Job")


@_attrs_define
class Job:
    id: str
    name: str
    created_at: datetime.datetime
    status: str
    """ The job's status. Known values: `created`, `running`, `completed`, `failed`, `cancelled`, and
    (**Extension**) `crashed`: the process running it stopped sending heartbeats for longer than its
    lease. The platform may add others: clients must accept any string. Setting `cancelled` or
    `crashed` closes the job's open environments with that `error_kind`.
     """
    metadata: MetadataType0 | None | Unset = UNSET
    """ Free-form JSON object. **Extension (limits of this server):** at most 1 MiB (1,048,576 bytes)
    as compact UTF-8 JSON, and the whole request body nests at most 64 levels deep; more answers 422.
     """
    error: None | str | Unset = UNSET
    """ **Extension.** Why the job failed, when it did; null otherwise. """
    heartbeat_at: datetime.datetime | None | Unset = UNSET
    """ **Extension.** When the job's last heartbeat arrived; null if it never had one. """
    gym_id: None | str | Unset = UNSET
    """ **Extension.** The gym given when the job was created. """
    evalset_id: None | str | Unset = UNSET
    """ **Extension.** The evalset given when the job was created. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.metadata_type_0 import MetadataType0

        id = self.id

        name = self.name

        created_at = self.created_at.isoformat()

        status = self.status

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, MetadataType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        heartbeat_at: None | str | Unset
        if isinstance(self.heartbeat_at, Unset):
            heartbeat_at = UNSET
        elif isinstance(self.heartbeat_at, datetime.datetime):
            heartbeat_at = self.heartbeat_at.isoformat()
        else:
            heartbeat_at = self.heartbeat_at

        gym_id: None | str | Unset
        if isinstance(self.gym_id, Unset):
            gym_id = UNSET
        else:
            gym_id = self.gym_id

        evalset_id: None | str | Unset
        if isinstance(self.evalset_id, Unset):
            evalset_id = UNSET
        else:
            evalset_id = self.evalset_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "created_at": created_at,
                "status": status,
            }
        )
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if error is not UNSET:
            field_dict["error"] = error
        if heartbeat_at is not UNSET:
            field_dict["heartbeat_at"] = heartbeat_at
        if gym_id is not UNSET:
            field_dict["gym_id"] = gym_id
        if evalset_id is not UNSET:
            field_dict["evalset_id"] = evalset_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.metadata_type_0 import MetadataType0

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        status = d.pop("status")

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

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_heartbeat_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                heartbeat_at_type_0 = datetime.datetime.fromisoformat(data)

                return heartbeat_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        heartbeat_at = _parse_heartbeat_at(d.pop("heartbeat_at", UNSET))

        def _parse_gym_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        gym_id = _parse_gym_id(d.pop("gym_id", UNSET))

        def _parse_evalset_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        evalset_id = _parse_evalset_id(d.pop("evalset_id", UNSET))

        job = cls(
            id=id,
            name=name,
            created_at=created_at,
            status=status,
            metadata=metadata,
            error=error,
            heartbeat_at=heartbeat_at,
            gym_id=gym_id,
            evalset_id=evalset_id,
        )

        job.additional_properties = d
        return job

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
