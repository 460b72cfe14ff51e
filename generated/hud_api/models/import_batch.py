# generated from openapi.yaml by codegen.sh — do not edit
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.import_close import ImportClose
    from ..models.import_environment import ImportEnvironment
    from ..models.import_job import ImportJob
    from ..models.import_steps import ImportSteps


T = TypeVar("T", bound="ImportBatch")


@_attrs_define
class ImportBatch:
    """**Extension.** Records to import, applied in this order: jobs, environments, steps, closes."""

    jobs: list[ImportJob] | Unset = UNSET
    environments: list[ImportEnvironment] | Unset = UNSET
    steps: list[ImportSteps] | Unset = UNSET
    closes: list[ImportClose] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        jobs: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.jobs, Unset):
            jobs = []
            for jobs_item_data in self.jobs:
                jobs_item = jobs_item_data.to_dict()
                jobs.append(jobs_item)

        environments: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.environments, Unset):
            environments = []
            for environments_item_data in self.environments:
                environments_item = environments_item_data.to_dict()
                environments.append(environments_item)

        steps: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.steps, Unset):
            steps = []
            for steps_item_data in self.steps:
                steps_item = steps_item_data.to_dict()
                steps.append(steps_item)

        closes: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.closes, Unset):
            closes = []
            for closes_item_data in self.closes:
                closes_item = closes_item_data.to_dict()
                closes.append(closes_item)

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if jobs is not UNSET:
            field_dict["jobs"] = jobs
        if environments is not UNSET:
            field_dict["environments"] = environments
        if steps is not UNSET:
            field_dict["steps"] = steps
        if closes is not UNSET:
            field_dict["closes"] = closes

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.import_close import ImportClose
        from ..models.import_environment import ImportEnvironment
        from ..models.import_job import ImportJob
        from ..models.import_steps import ImportSteps

        d = dict(src_dict)
        _jobs = d.pop("jobs", UNSET)
        jobs: list[ImportJob] | Unset = UNSET
        if _jobs is not UNSET:
            jobs = []
            for jobs_item_data in _jobs:
                jobs_item = ImportJob.from_dict(jobs_item_data)

                jobs.append(jobs_item)

        _environments = d.pop("environments", UNSET)
        environments: list[ImportEnvironment] | Unset = UNSET
        if _environments is not UNSET:
            environments = []
            for environments_item_data in _environments:
                environments_item = ImportEnvironment.from_dict(environments_item_data)

                environments.append(environments_item)

        _steps = d.pop("steps", UNSET)
        steps: list[ImportSteps] | Unset = UNSET
        if _steps is not UNSET:
            steps = []
            for steps_item_data in _steps:
                steps_item = ImportSteps.from_dict(steps_item_data)

                steps.append(steps_item)

        _closes = d.pop("closes", UNSET)
        closes: list[ImportClose] | Unset = UNSET
        if _closes is not UNSET:
            closes = []
            for closes_item_data in _closes:
                closes_item = ImportClose.from_dict(closes_item_data)

                closes.append(closes_item)

        import_batch = cls(
            jobs=jobs,
            environments=environments,
            steps=steps,
            closes=closes,
        )

        return import_batch
