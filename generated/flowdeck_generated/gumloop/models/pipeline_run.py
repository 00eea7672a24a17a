from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.pipeline_run_outputs import PipelineRunOutputs


T = TypeVar("T", bound="PipelineRun")


@_attrs_define
class PipelineRun:
    """A flow run. `state` values: STARTED (prose only), RUNNING, DONE, TERMINATING, FAILED, TERMINATED; kept a plain
    string so a new state reaches the facade instead of failing parsing.

        Attributes:
            state (str):  Example: RUNNING.
            user_id (str | Unset):
            outputs (PipelineRunOutputs | Unset): Keyed by Output node name; populated at DONE.
            created_ts (datetime.datetime | None | Unset):
            finished_ts (datetime.datetime | None | Unset):
            log (list[str] | Unset):
    """

    state: str
    user_id: str | Unset = UNSET
    outputs: PipelineRunOutputs | Unset = UNSET
    created_ts: datetime.datetime | None | Unset = UNSET
    finished_ts: datetime.datetime | None | Unset = UNSET
    log: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        state = self.state

        user_id = self.user_id

        outputs: dict[str, Any] | Unset = UNSET
        if not isinstance(self.outputs, Unset):
            outputs = self.outputs.to_dict()

        created_ts: None | str | Unset
        if isinstance(self.created_ts, Unset):
            created_ts = UNSET
        elif isinstance(self.created_ts, datetime.datetime):
            created_ts = self.created_ts.isoformat()
        else:
            created_ts = self.created_ts

        finished_ts: None | str | Unset
        if isinstance(self.finished_ts, Unset):
            finished_ts = UNSET
        elif isinstance(self.finished_ts, datetime.datetime):
            finished_ts = self.finished_ts.isoformat()
        else:
            finished_ts = self.finished_ts

        log: list[str] | Unset = UNSET
        if not isinstance(self.log, Unset):
            log = self.log

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "state": state,
            }
        )
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if outputs is not UNSET:
            field_dict["outputs"] = outputs
        if created_ts is not UNSET:
            field_dict["created_ts"] = created_ts
        if finished_ts is not UNSET:
            field_dict["finished_ts"] = finished_ts
        if log is not UNSET:
            field_dict["log"] = log

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.pipeline_run_outputs import PipelineRunOutputs

        d = dict(src_dict)
        state = d.pop("state")

        user_id = d.pop("user_id", UNSET)

        _outputs = d.pop("outputs", UNSET)
        outputs: PipelineRunOutputs | Unset
        if isinstance(_outputs, Unset):
            outputs = UNSET
        else:
            outputs = PipelineRunOutputs.from_dict(_outputs)

        def _parse_created_ts(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                created_ts_type_0 = datetime.datetime.fromisoformat(data)

                return created_ts_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        created_ts = _parse_created_ts(d.pop("created_ts", UNSET))

        def _parse_finished_ts(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_ts_type_0 = datetime.datetime.fromisoformat(data)

                return finished_ts_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        finished_ts = _parse_finished_ts(d.pop("finished_ts", UNSET))

        log = cast(list[str], d.pop("log", UNSET))

        pipeline_run = cls(
            state=state,
            user_id=user_id,
            outputs=outputs,
            created_ts=created_ts,
            finished_ts=finished_ts,
            log=log,
        )

        pipeline_run.additional_properties = d
        return pipeline_run

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
