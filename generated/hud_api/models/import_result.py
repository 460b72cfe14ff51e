# generated from openapi.yaml by codegen.sh — do not edit
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.import_conflict import ImportConflict
    from ..models.import_counts import ImportCounts


T = TypeVar("T", bound="ImportResult")


@_attrs_define
class ImportResult:
    """**Extension.** What an import did (steps are counted one by one)."""

    jobs: ImportCounts
    """ **Extension.** Records written, and records that were here already. """
    environments: ImportCounts
    """ **Extension.** Records written, and records that were here already. """
    steps: ImportCounts
    """ **Extension.** Records written, and records that were here already. """
    closes: ImportCounts
    """ **Extension.** Records written, and records that were here already. """
    conflicts: list[ImportConflict]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        jobs = self.jobs.to_dict()

        environments = self.environments.to_dict()

        steps = self.steps.to_dict()

        closes = self.closes.to_dict()

        conflicts = []
        for conflicts_item_data in self.conflicts:
            conflicts_item = conflicts_item_data.to_dict()
            conflicts.append(conflicts_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "jobs": jobs,
                "environments": environments,
                "steps": steps,
                "closes": closes,
                "conflicts": conflicts,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.import_conflict import ImportConflict
        from ..models.import_counts import ImportCounts

        d = dict(src_dict)
        jobs = ImportCounts.from_dict(d.pop("jobs"))

        environments = ImportCounts.from_dict(d.pop("environments"))

        steps = ImportCounts.from_dict(d.pop("steps"))

        closes = ImportCounts.from_dict(d.pop("closes"))

        conflicts = []
        _conflicts = d.pop("conflicts")
        for conflicts_item_data in _conflicts:
            conflicts_item = ImportConflict.from_dict(conflicts_item_data)

            conflicts.append(conflicts_item)

        import_result = cls(
            jobs=jobs,
            environments=environments,
            steps=steps,
            closes=closes,
            conflicts=conflicts,
        )

        import_result.additional_properties = d
        return import_result

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
