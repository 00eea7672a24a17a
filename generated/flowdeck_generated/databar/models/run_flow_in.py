from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.inputs import Inputs


T = TypeVar("T", bound="RunFlowIn")


@_attrs_define
class RunFlowIn:
    """
    Attributes:
        inputs (Inputs | Unset): Maps flow input id → value string. Use `GET /v1/flows/{flow_id}` to discover the
            required input ids.
    """

    inputs: Inputs | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        inputs: dict[str, Any] | Unset = UNSET
        if not isinstance(self.inputs, Unset):
            inputs = self.inputs.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if inputs is not UNSET:
            field_dict["inputs"] = inputs

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.inputs import Inputs

        d = dict(src_dict)
        _inputs = d.pop("inputs", UNSET)
        inputs: Inputs | Unset
        if isinstance(_inputs, Unset):
            inputs = UNSET
        else:
            inputs = Inputs.from_dict(_inputs)

        run_flow_in = cls(
            inputs=inputs,
        )

        run_flow_in.additional_properties = d
        return run_flow_in

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
