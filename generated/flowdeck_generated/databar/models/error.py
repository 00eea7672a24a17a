from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Error")


@_attrs_define
class Error:
    """The docs: "All error responses return a JSON body with a `detail` field".

    Attributes:
        detail (Any): A message, or field errors (object or list).
        error (str | Unset): Machine code, e.g. BATCH_TOO_LARGE, UNKNOWN_COLUMNS, INVALID_DATA.
        fields (list[Any] | Unset):
        rows (list[Any] | Unset):
    """

    detail: Any
    error: str | Unset = UNSET
    fields: list[Any] | Unset = UNSET
    rows: list[Any] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        detail = self.detail

        error = self.error

        fields: list[Any] | Unset = UNSET
        if not isinstance(self.fields, Unset):
            fields = self.fields

        rows: list[Any] | Unset = UNSET
        if not isinstance(self.rows, Unset):
            rows = self.rows

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "detail": detail,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error
        if fields is not UNSET:
            field_dict["fields"] = fields
        if rows is not UNSET:
            field_dict["rows"] = rows

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        detail = d.pop("detail")

        error = d.pop("error", UNSET)

        fields = cast(list[Any], d.pop("fields", UNSET))

        rows = cast(list[Any], d.pop("rows", UNSET))

        error = cls(
            detail=detail,
            error=error,
            fields=fields,
            rows=rows,
        )

        error.additional_properties = d
        return error

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
