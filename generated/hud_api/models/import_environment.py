# generated from openapi.yaml by codegen.sh — do not edit
from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.metadata_type_0 import MetadataType0


T = TypeVar("T", bound="ImportEnvironment")


@_attrs_define
class ImportEnvironment:
    """**Extension.** An environment as another store has it (created open, without steps)."""

    id: str
    """ **Extension.** An id chosen by the client (a UUID, say): 1 to 128 letters, digits, `.`, `_`,
    `:` and `-`, starting with a letter or digit, so that it stays the same in every URL.
     """
    job_id: str
    """ An opaque id. """
    gym_id: None | str
    """ The environment's gym; null for one created with a null `gym_id`. """
    created_at: datetime.datetime
    """ An RFC 3339 date-time, such as `2025-01-31T12:00:00.123456+00:00`; stored as given. """
    task_id: None | str | Unset = UNSET
    metadata: MetadataType0 | None | Unset = UNSET
    """ Free-form JSON object. **Extension (limits of this server):** at most 1 MiB (1,048,576 bytes)
    as compact UTF-8 JSON, and the whole request body nests at most 64 levels deep; more answers 422.
     """

    def to_dict(self) -> dict[str, Any]:
        from ..models.metadata_type_0 import MetadataType0

        id = self.id

        job_id = self.job_id

        gym_id: None | str
        gym_id = self.gym_id

        created_at = self.created_at.isoformat()

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

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "job_id": job_id,
                "gym_id": gym_id,
                "created_at": created_at,
            }
        )
        if task_id is not UNSET:
            field_dict["task_id"] = task_id
        if metadata is not UNSET:
            field_dict["metadata"] = metadata

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.metadata_type_0 import MetadataType0

        d = dict(src_dict)
        id = d.pop("id")

        job_id = d.pop("job_id")

        def _parse_gym_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        gym_id = _parse_gym_id(d.pop("gym_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

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

        import_environment = cls(
            id=id,
            job_id=job_id,
            gym_id=gym_id,
            created_at=created_at,
            task_id=task_id,
            metadata=metadata,
        )

        return import_environment
