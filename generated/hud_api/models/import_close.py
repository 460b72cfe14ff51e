# generated from openapi.yaml by codegen.sh — do not edit
from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.error_kind import ErrorKind, check_error_kind
from ..types import UNSET, Unset

T = TypeVar("T", bound="ImportClose")


@_attrs_define
class ImportClose:
    """**Extension.** How an environment was closed: the outcome its trajectory records."""

    env_id: str
    """ An opaque id. """
    closed_at: datetime.datetime
    """ An RFC 3339 date-time, such as `2025-01-31T12:00:00.123456+00:00`; stored as given. """
    step_count: int
    reward: float | None | Unset = UNSET
    logs: None | str | Unset = UNSET
    error: None | str | Unset = UNSET
    error_kind: ErrorKind | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        env_id = self.env_id

        closed_at = self.closed_at.isoformat()

        step_count = self.step_count

        reward: float | None | Unset
        if isinstance(self.reward, Unset):
            reward = UNSET
        else:
            reward = self.reward

        logs: None | str | Unset
        if isinstance(self.logs, Unset):
            logs = UNSET
        else:
            logs = self.logs

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        error_kind: None | str | Unset
        if isinstance(self.error_kind, Unset):
            error_kind = UNSET
        elif isinstance(self.error_kind, str):
            error_kind = self.error_kind
        else:
            error_kind = self.error_kind

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "env_id": env_id,
                "closed_at": closed_at,
                "step_count": step_count,
            }
        )
        if reward is not UNSET:
            field_dict["reward"] = reward
        if logs is not UNSET:
            field_dict["logs"] = logs
        if error is not UNSET:
            field_dict["error"] = error
        if error_kind is not UNSET:
            field_dict["error_kind"] = error_kind

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        env_id = d.pop("env_id")

        closed_at = datetime.datetime.fromisoformat(d.pop("closed_at"))

        step_count = d.pop("step_count")

        def _parse_reward(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        reward = _parse_reward(d.pop("reward", UNSET))

        def _parse_logs(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        logs = _parse_logs(d.pop("logs", UNSET))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_error_kind(data: object) -> ErrorKind | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                error_kind_type_0 = check_error_kind(data)

                return error_kind_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ErrorKind | None | Unset, data)

        error_kind = _parse_error_kind(d.pop("error_kind", UNSET))

        import_close = cls(
            env_id=env_id,
            closed_at=closed_at,
            step_count=step_count,
            reward=reward,
            logs=logs,
            error=error,
            error_kind=error_kind,
        )

        return import_close
