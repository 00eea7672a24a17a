from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.task_error import TaskError


T = TypeVar("T", bound="TaskExecution")


@_attrs_define
class TaskExecution:
    """Task status: queued, running, completed, failed, cancelled. `output` only when completed.

    Attributes:
        id (UUID):
        flow_execution_id (UUID):
        task_name (str):
        status (str):
        organization_id (UUID | Unset):
        task_execution_idx (int | Unset):
        input_ (Any | Unset): Task input
        output (Any | Unset): Task output; set only when completed.
        error (None | TaskError | Unset):
        modified_by (None | str | Unset):
        created_at (datetime.datetime | Unset):
        updated_at (datetime.datetime | Unset):
        tags (list[Any] | Unset):
    """

    id: UUID
    flow_execution_id: UUID
    task_name: str
    status: str
    organization_id: UUID | Unset = UNSET
    task_execution_idx: int | Unset = UNSET
    input_: Any | Unset = UNSET
    output: Any | Unset = UNSET
    error: None | TaskError | Unset = UNSET
    modified_by: None | str | Unset = UNSET
    created_at: datetime.datetime | Unset = UNSET
    updated_at: datetime.datetime | Unset = UNSET
    tags: list[Any] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.task_error import TaskError

        id = str(self.id)

        flow_execution_id = str(self.flow_execution_id)

        task_name = self.task_name

        status = self.status

        organization_id: str | Unset = UNSET
        if not isinstance(self.organization_id, Unset):
            organization_id = str(self.organization_id)

        task_execution_idx = self.task_execution_idx

        input_ = self.input_

        output = self.output

        error: dict[str, Any] | None | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        elif isinstance(self.error, TaskError):
            error = self.error.to_dict()
        else:
            error = self.error

        modified_by: None | str | Unset
        if isinstance(self.modified_by, Unset):
            modified_by = UNSET
        else:
            modified_by = self.modified_by

        created_at: str | Unset = UNSET
        if not isinstance(self.created_at, Unset):
            created_at = self.created_at.isoformat()

        updated_at: str | Unset = UNSET
        if not isinstance(self.updated_at, Unset):
            updated_at = self.updated_at.isoformat()

        tags: list[Any] | Unset = UNSET
        if not isinstance(self.tags, Unset):
            tags = self.tags

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "flow_execution_id": flow_execution_id,
                "task_name": task_name,
                "status": status,
            }
        )
        if organization_id is not UNSET:
            field_dict["organization_id"] = organization_id
        if task_execution_idx is not UNSET:
            field_dict["task_execution_idx"] = task_execution_idx
        if input_ is not UNSET:
            field_dict["input"] = input_
        if output is not UNSET:
            field_dict["output"] = output
        if error is not UNSET:
            field_dict["error"] = error
        if modified_by is not UNSET:
            field_dict["modified_by"] = modified_by
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at
        if tags is not UNSET:
            field_dict["tags"] = tags

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.task_error import TaskError

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        flow_execution_id = UUID(d.pop("flow_execution_id"))

        task_name = d.pop("task_name")

        status = d.pop("status")

        _organization_id = d.pop("organization_id", UNSET)
        organization_id: UUID | Unset
        if isinstance(_organization_id, Unset):
            organization_id = UNSET
        else:
            organization_id = UUID(_organization_id)

        task_execution_idx = d.pop("task_execution_idx", UNSET)

        input_ = d.pop("input", UNSET)

        output = d.pop("output", UNSET)

        def _parse_error(data: object) -> None | TaskError | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = TaskError.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TaskError | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_modified_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        modified_by = _parse_modified_by(d.pop("modified_by", UNSET))

        _created_at = d.pop("created_at", UNSET)
        created_at: datetime.datetime | Unset
        if isinstance(_created_at, Unset):
            created_at = UNSET
        else:
            created_at = datetime.datetime.fromisoformat(_created_at)

        _updated_at = d.pop("updated_at", UNSET)
        updated_at: datetime.datetime | Unset
        if isinstance(_updated_at, Unset):
            updated_at = UNSET
        else:
            updated_at = datetime.datetime.fromisoformat(_updated_at)

        tags = cast(list[Any], d.pop("tags", UNSET))

        task_execution = cls(
            id=id,
            flow_execution_id=flow_execution_id,
            task_name=task_name,
            status=status,
            organization_id=organization_id,
            task_execution_idx=task_execution_idx,
            input_=input_,
            output=output,
            error=error,
            modified_by=modified_by,
            created_at=created_at,
            updated_at=updated_at,
            tags=tags,
        )

        task_execution.additional_properties = d
        return task_execution

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
