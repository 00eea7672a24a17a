from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.flow_execution_create_input import FlowExecutionCreateInput


T = TypeVar("T", bound="FlowExecutionCreate")


@_attrs_define
class FlowExecutionCreate:
    """
    Attributes:
        flow_id (UUID): UUID of the flow definition to execute.
        input_ (FlowExecutionCreateInput | Unset): Flow-specific input data.
    """

    flow_id: UUID
    input_: FlowExecutionCreateInput | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        flow_id = str(self.flow_id)

        input_: dict[str, Any] | Unset = UNSET
        if not isinstance(self.input_, Unset):
            input_ = self.input_.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "flow_id": flow_id,
            }
        )
        if input_ is not UNSET:
            field_dict["input"] = input_

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.flow_execution_create_input import FlowExecutionCreateInput

        d = dict(src_dict)
        flow_id = UUID(d.pop("flow_id"))

        _input_ = d.pop("input", UNSET)
        input_: FlowExecutionCreateInput | Unset
        if isinstance(_input_, Unset):
            input_ = UNSET
        else:
            input_ = FlowExecutionCreateInput.from_dict(_input_)

        flow_execution_create = cls(
            flow_id=flow_id,
            input_=input_,
        )

        flow_execution_create.additional_properties = d
        return flow_execution_create

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
