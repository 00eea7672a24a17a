from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.flow_execution_input import FlowExecutionInput


T = TypeVar("T", bound="FlowExecution")


@_attrs_define
class FlowExecution:
    """Status values: queued, running, in_progress, completed, failed, deleted, stale (queued -> running -> in_progress ->
    completed/failed; completed/failed -> stale). Kept a plain string so a new status reaches the facade instead of
    failing parsing.

        Attributes:
            id (UUID):
            flow_id (UUID):
            status (str):
            created_at (datetime.datetime):
            updated_at (datetime.datetime):
            flow_version (int | Unset):
            input_ (FlowExecutionInput | Unset):
            organization_id (UUID | Unset):
            modified_by (None | str | Unset):
            run_number (int | None | Unset):
    """

    id: UUID
    flow_id: UUID
    status: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    flow_version: int | Unset = UNSET
    input_: FlowExecutionInput | Unset = UNSET
    organization_id: UUID | Unset = UNSET
    modified_by: None | str | Unset = UNSET
    run_number: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        flow_id = str(self.flow_id)

        status = self.status

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        flow_version = self.flow_version

        input_: dict[str, Any] | Unset = UNSET
        if not isinstance(self.input_, Unset):
            input_ = self.input_.to_dict()

        organization_id: str | Unset = UNSET
        if not isinstance(self.organization_id, Unset):
            organization_id = str(self.organization_id)

        modified_by: None | str | Unset
        if isinstance(self.modified_by, Unset):
            modified_by = UNSET
        else:
            modified_by = self.modified_by

        run_number: int | None | Unset
        if isinstance(self.run_number, Unset):
            run_number = UNSET
        else:
            run_number = self.run_number

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "flow_id": flow_id,
                "status": status,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
        if flow_version is not UNSET:
            field_dict["flow_version"] = flow_version
        if input_ is not UNSET:
            field_dict["input"] = input_
        if organization_id is not UNSET:
            field_dict["organization_id"] = organization_id
        if modified_by is not UNSET:
            field_dict["modified_by"] = modified_by
        if run_number is not UNSET:
            field_dict["run_number"] = run_number

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.flow_execution_input import FlowExecutionInput

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        flow_id = UUID(d.pop("flow_id"))

        status = d.pop("status")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        flow_version = d.pop("flow_version", UNSET)

        _input_ = d.pop("input", UNSET)
        input_: FlowExecutionInput | Unset
        if isinstance(_input_, Unset):
            input_ = UNSET
        else:
            input_ = FlowExecutionInput.from_dict(_input_)

        _organization_id = d.pop("organization_id", UNSET)
        organization_id: UUID | Unset
        if isinstance(_organization_id, Unset):
            organization_id = UNSET
        else:
            organization_id = UUID(_organization_id)

        def _parse_modified_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        modified_by = _parse_modified_by(d.pop("modified_by", UNSET))

        def _parse_run_number(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        run_number = _parse_run_number(d.pop("run_number", UNSET))

        flow_execution = cls(
            id=id,
            flow_id=flow_id,
            status=status,
            created_at=created_at,
            updated_at=updated_at,
            flow_version=flow_version,
            input_=input_,
            organization_id=organization_id,
            modified_by=modified_by,
            run_number=run_number,
        )

        flow_execution.additional_properties = d
        return flow_execution

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
