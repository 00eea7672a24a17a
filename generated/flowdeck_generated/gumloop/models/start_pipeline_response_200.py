from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="StartPipelineResponse200")


@_attrs_define
class StartPipelineResponse200:
    """
    Attributes:
        run_id (str):
        saved_item_id (str | Unset):
        workbook_id (str | Unset):
        url (str | Unset):
    """

    run_id: str
    saved_item_id: str | Unset = UNSET
    workbook_id: str | Unset = UNSET
    url: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        run_id = self.run_id

        saved_item_id = self.saved_item_id

        workbook_id = self.workbook_id

        url = self.url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "run_id": run_id,
            }
        )
        if saved_item_id is not UNSET:
            field_dict["saved_item_id"] = saved_item_id
        if workbook_id is not UNSET:
            field_dict["workbook_id"] = workbook_id
        if url is not UNSET:
            field_dict["url"] = url

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        run_id = d.pop("run_id")

        saved_item_id = d.pop("saved_item_id", UNSET)

        workbook_id = d.pop("workbook_id", UNSET)

        url = d.pop("url", UNSET)

        start_pipeline_response_200 = cls(
            run_id=run_id,
            saved_item_id=saved_item_id,
            workbook_id=workbook_id,
            url=url,
        )

        start_pipeline_response_200.additional_properties = d
        return start_pipeline_response_200

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
