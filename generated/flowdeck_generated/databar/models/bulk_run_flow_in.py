from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.bulk_run_flow_in_inputs_item import BulkRunFlowInInputsItem


T = TypeVar("T", bound="BulkRunFlowIn")


@_attrs_define
class BulkRunFlowIn:
    """
    Attributes:
        inputs (list[BulkRunFlowInInputsItem]): One object of inputs per run (`{input_id: value}`, as a single run's
            `inputs`).
    """

    inputs: list[BulkRunFlowInInputsItem]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        inputs = []
        for inputs_item_data in self.inputs:
            inputs_item = inputs_item_data.to_dict()
            inputs.append(inputs_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "inputs": inputs,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.bulk_run_flow_in_inputs_item import BulkRunFlowInInputsItem

        d = dict(src_dict)
        inputs = []
        _inputs = d.pop("inputs")
        for inputs_item_data in _inputs:
            inputs_item = BulkRunFlowInInputsItem.from_dict(inputs_item_data)

            inputs.append(inputs_item)

        bulk_run_flow_in = cls(
            inputs=inputs,
        )

        bulk_run_flow_in.additional_properties = d
        return bulk_run_flow_in

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
