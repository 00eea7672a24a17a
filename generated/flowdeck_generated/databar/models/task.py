from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.task_progress import TaskProgress


T = TypeVar("T", bound="Task")


@_attrs_define
class Task:
    """State of an asynchronous task. Status values (SDK TaskStatus): processing, completed, partially_completed, failed,
    cancelled, gone, no_data; legacy success and error. Kept a plain string so a new status reaches the facade (which
    maps it) instead of failing parsing.

        Attributes:
            task_id (str):
            status (str):
            request_id (None | str | Unset): Deprecated alias of task_id.
            progress (None | TaskProgress | Unset):
            data (Any | Unset): Results once completed (object for a single run, list aligned to inputs for bulk), else
                null.
            error (Any | Unset): A message, a list of messages, or null.
            credits_spent (float | Unset):  Default: 0.0.
    """

    task_id: str
    status: str
    request_id: None | str | Unset = UNSET
    progress: None | TaskProgress | Unset = UNSET
    data: Any | Unset = UNSET
    error: Any | Unset = UNSET
    credits_spent: float | Unset = 0.0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.task_progress import TaskProgress

        task_id = self.task_id

        status = self.status

        request_id: None | str | Unset
        if isinstance(self.request_id, Unset):
            request_id = UNSET
        else:
            request_id = self.request_id

        progress: dict[str, Any] | None | Unset
        if isinstance(self.progress, Unset):
            progress = UNSET
        elif isinstance(self.progress, TaskProgress):
            progress = self.progress.to_dict()
        else:
            progress = self.progress

        data = self.data

        error = self.error

        credits_spent = self.credits_spent

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "task_id": task_id,
                "status": status,
            }
        )
        if request_id is not UNSET:
            field_dict["request_id"] = request_id
        if progress is not UNSET:
            field_dict["progress"] = progress
        if data is not UNSET:
            field_dict["data"] = data
        if error is not UNSET:
            field_dict["error"] = error
        if credits_spent is not UNSET:
            field_dict["credits_spent"] = credits_spent

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.task_progress import TaskProgress

        d = dict(src_dict)
        task_id = d.pop("task_id")

        status = d.pop("status")

        def _parse_request_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        request_id = _parse_request_id(d.pop("request_id", UNSET))

        def _parse_progress(data: object) -> None | TaskProgress | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                progress_type_0 = TaskProgress.from_dict(data)

                return progress_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TaskProgress | Unset, data)

        progress = _parse_progress(d.pop("progress", UNSET))

        data = d.pop("data", UNSET)

        error = d.pop("error", UNSET)

        credits_spent = d.pop("credits_spent", UNSET)

        task = cls(
            task_id=task_id,
            status=status,
            request_id=request_id,
            progress=progress,
            data=data,
            error=error,
            credits_spent=credits_spent,
        )

        task.additional_properties = d
        return task

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
