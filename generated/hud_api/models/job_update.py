# generated from openapi.yaml by codegen.sh — do not edit
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.job_update_metadata_merge import JobUpdateMetadataMerge
    from ..models.metadata_type_0 import MetadataType0


T = TypeVar("T", bound="JobUpdate")


@_attrs_define
class JobUpdate:
    """**Extension.** Fields to change; those left out stay as they are."""

    status: str | Unset = UNSET
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
    """ Why the job failed (set with status `failed`); null clears it. """
    metadata_merge: JobUpdateMetadataMerge | Unset = UNSET
    """ **Extension.** Keys to set in the job's metadata, the others kept: a shallow merge at the top
    level (a key given replaces that key's whole value; a job without metadata gets these keys).
    Applied atomically on the server, so concurrent merges of different keys all keep theirs. Not
    together with `metadata` (422). The merged metadata must fit the metadata limit (422).
     """

    def to_dict(self) -> dict[str, Any]:
        from ..models.metadata_type_0 import MetadataType0

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

        metadata_merge: dict[str, Any] | Unset = UNSET
        if not isinstance(self.metadata_merge, Unset):
            metadata_merge = self.metadata_merge.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if status is not UNSET:
            field_dict["status"] = status
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if error is not UNSET:
            field_dict["error"] = error
        if metadata_merge is not UNSET:
            field_dict["metadata_merge"] = metadata_merge

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_update_metadata_merge import JobUpdateMetadataMerge
        from ..models.metadata_type_0 import MetadataType0

        d = dict(src_dict)
        status = d.pop("status", UNSET)

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

        _metadata_merge = d.pop("metadata_merge", UNSET)
        metadata_merge: JobUpdateMetadataMerge | Unset
        if isinstance(_metadata_merge, Unset):
            metadata_merge = UNSET
        else:
            metadata_merge = JobUpdateMetadataMerge.from_dict(_metadata_merge)

        job_update = cls(
            status=status,
            metadata=metadata,
            error=error,
            metadata_merge=metadata_merge,
        )

        return job_update
