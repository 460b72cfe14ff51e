# generated from openapi.yaml by codegen.sh — do not edit
from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.metadata_type_0 import MetadataType0


T = TypeVar("T", bound="ImportJob")


@_attrs_define
class ImportJob:
    """**Extension.** A job as another store has it."""

    id: str
    """ **Extension.** An id chosen by the client (a UUID, say): 1 to 128 letters, digits, `.`, `_`,
    `:` and `-`, starting with a letter or digit, so that it stays the same in every URL.
     """
    name: str
    created_at: datetime.datetime
    """ An RFC 3339 date-time, such as `2025-01-31T12:00:00.123456+00:00`; stored as given. """
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
    gym_id: None | str | Unset = UNSET
    evalset_id: None | str | Unset = UNSET
    error: None | str | Unset = UNSET
    heartbeat_at: datetime.datetime | None | Unset = UNSET
    """ When the job's last heartbeat arrived at the other store. Answered in UTC, so it must be a
    time UTC can show: its date is neither 0001-01-01 nor 9999-12-31 (an offset could take those
    past the years 1 to 9999).
     """
    heartbeat_age: float | None | Unset = UNSET
    """ Seconds from the job's last heartbeat to this import (see importRecords). """

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

        heartbeat_age: float | None | Unset
        if isinstance(self.heartbeat_age, Unset):
            heartbeat_age = UNSET
        else:
            heartbeat_age = self.heartbeat_age

        field_dict: dict[str, Any] = {}

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
        if gym_id is not UNSET:
            field_dict["gym_id"] = gym_id
        if evalset_id is not UNSET:
            field_dict["evalset_id"] = evalset_id
        if error is not UNSET:
            field_dict["error"] = error
        if heartbeat_at is not UNSET:
            field_dict["heartbeat_at"] = heartbeat_at
        if heartbeat_age is not UNSET:
            field_dict["heartbeat_age"] = heartbeat_age

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

        def _parse_heartbeat_age(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        heartbeat_age = _parse_heartbeat_age(d.pop("heartbeat_age", UNSET))

        import_job = cls(
            id=id,
            name=name,
            created_at=created_at,
            status=status,
            metadata=metadata,
            gym_id=gym_id,
            evalset_id=evalset_id,
            error=error,
            heartbeat_at=heartbeat_at,
            heartbeat_age=heartbeat_age,
        )

        return import_job
