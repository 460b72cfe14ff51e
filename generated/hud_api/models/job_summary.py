# generated from openapi.yaml by codegen.sh — do not edit
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.job_summary_by_error_kind import JobSummaryByErrorKind
    from ..models.job_summary_by_outcome import JobSummaryByOutcome


T = TypeVar("T", bound="JobSummary")


@_attrs_define
class JobSummary:
    """**Extension.** A job's aggregates under the scoring rule (see `ErrorKind`)."""

    job_id: str
    success_threshold: float
    trajectories: int
    counted: int
    """ Trajectories that count (not `excluded`). """
    excluded: int
    """ `infrastructure`, `cancelled` and `crashed` trajectories. """
    scored: int
    """ Counted trajectories with a reward (0 for an agent failure without one). """
    successes: int
    errors: int
    steps: int
    by_outcome: JobSummaryByOutcome
    """ Trajectories per outcome (success, fail, unscored, excluded); outcomes with none are left out. """
    by_error_kind: JobSummaryByErrorKind
    """ Trajectories per error kind (an error without a kind counts as `agent`). """
    open_environments: int
    mean_reward: float | None | Unset = UNSET
    """ The mean reward of the scored trajectories; null when none is. """
    min_reward: float | None | Unset = UNSET
    max_reward: float | None | Unset = UNSET
    success_rate: float | None | Unset = UNSET
    """ Successes among the counted trajectories; null when none counts. """
    duration_median: float | None | Unset = UNSET
    """ Seconds from creation to close of the trajectories: the median, by nearest rank (one of the
    durations, as PostgreSQL's `percentile_disc`); null when none has both times.
     """
    duration_p90: float | None | Unset = UNSET
    """ The 90th percentile of the durations, by nearest rank. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        job_id = self.job_id

        success_threshold = self.success_threshold

        trajectories = self.trajectories

        counted = self.counted

        excluded = self.excluded

        scored = self.scored

        successes = self.successes

        errors = self.errors

        steps = self.steps

        by_outcome = self.by_outcome.to_dict()

        by_error_kind = self.by_error_kind.to_dict()

        open_environments = self.open_environments

        mean_reward: float | None | Unset
        if isinstance(self.mean_reward, Unset):
            mean_reward = UNSET
        else:
            mean_reward = self.mean_reward

        min_reward: float | None | Unset
        if isinstance(self.min_reward, Unset):
            min_reward = UNSET
        else:
            min_reward = self.min_reward

        max_reward: float | None | Unset
        if isinstance(self.max_reward, Unset):
            max_reward = UNSET
        else:
            max_reward = self.max_reward

        success_rate: float | None | Unset
        if isinstance(self.success_rate, Unset):
            success_rate = UNSET
        else:
            success_rate = self.success_rate

        duration_median: float | None | Unset
        if isinstance(self.duration_median, Unset):
            duration_median = UNSET
        else:
            duration_median = self.duration_median

        duration_p90: float | None | Unset
        if isinstance(self.duration_p90, Unset):
            duration_p90 = UNSET
        else:
            duration_p90 = self.duration_p90

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "job_id": job_id,
                "success_threshold": success_threshold,
                "trajectories": trajectories,
                "counted": counted,
                "excluded": excluded,
                "scored": scored,
                "successes": successes,
                "errors": errors,
                "steps": steps,
                "by_outcome": by_outcome,
                "by_error_kind": by_error_kind,
                "open_environments": open_environments,
            }
        )
        if mean_reward is not UNSET:
            field_dict["mean_reward"] = mean_reward
        if min_reward is not UNSET:
            field_dict["min_reward"] = min_reward
        if max_reward is not UNSET:
            field_dict["max_reward"] = max_reward
        if success_rate is not UNSET:
            field_dict["success_rate"] = success_rate
        if duration_median is not UNSET:
            field_dict["duration_median"] = duration_median
        if duration_p90 is not UNSET:
            field_dict["duration_p90"] = duration_p90

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_summary_by_error_kind import JobSummaryByErrorKind
        from ..models.job_summary_by_outcome import JobSummaryByOutcome

        d = dict(src_dict)
        job_id = d.pop("job_id")

        success_threshold = d.pop("success_threshold")

        trajectories = d.pop("trajectories")

        counted = d.pop("counted")

        excluded = d.pop("excluded")

        scored = d.pop("scored")

        successes = d.pop("successes")

        errors = d.pop("errors")

        steps = d.pop("steps")

        by_outcome = JobSummaryByOutcome.from_dict(d.pop("by_outcome"))

        by_error_kind = JobSummaryByErrorKind.from_dict(d.pop("by_error_kind"))

        open_environments = d.pop("open_environments")

        def _parse_mean_reward(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        mean_reward = _parse_mean_reward(d.pop("mean_reward", UNSET))

        def _parse_min_reward(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        min_reward = _parse_min_reward(d.pop("min_reward", UNSET))

        def _parse_max_reward(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        max_reward = _parse_max_reward(d.pop("max_reward", UNSET))

        def _parse_success_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        success_rate = _parse_success_rate(d.pop("success_rate", UNSET))

        def _parse_duration_median(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        duration_median = _parse_duration_median(d.pop("duration_median", UNSET))

        def _parse_duration_p90(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        duration_p90 = _parse_duration_p90(d.pop("duration_p90", UNSET))

        job_summary = cls(
            job_id=job_id,
            success_threshold=success_threshold,
            trajectories=trajectories,
            counted=counted,
            excluded=excluded,
            scored=scored,
            successes=successes,
            errors=errors,
            steps=steps,
            by_outcome=by_outcome,
            by_error_kind=by_error_kind,
            open_environments=open_environments,
            mean_reward=mean_reward,
            min_reward=min_reward,
            max_reward=max_reward,
            success_rate=success_rate,
            duration_median=duration_median,
            duration_p90=duration_p90,
        )

        job_summary.additional_properties = d
        return job_summary

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
