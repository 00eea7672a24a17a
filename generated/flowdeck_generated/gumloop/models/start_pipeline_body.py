from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.pipeline_input import PipelineInput


T = TypeVar("T", bound="StartPipelineBody")


@_attrs_define
class StartPipelineBody:
    """
    Attributes:
        user_id (str): The id for the user initiating the flow.
        saved_item_id (str): The id for the saved flow.
        project_id (str | Unset): (Optional) The id of the project within which the flow is executed.
        pipeline_inputs (list[PipelineInput] | Unset):
    """

    user_id: str
    saved_item_id: str
    project_id: str | Unset = UNSET
    pipeline_inputs: list[PipelineInput] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        user_id = self.user_id

        saved_item_id = self.saved_item_id

        project_id = self.project_id

        pipeline_inputs: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.pipeline_inputs, Unset):
            pipeline_inputs = []
            for pipeline_inputs_item_data in self.pipeline_inputs:
                pipeline_inputs_item = pipeline_inputs_item_data.to_dict()
                pipeline_inputs.append(pipeline_inputs_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "user_id": user_id,
                "saved_item_id": saved_item_id,
            }
        )
        if project_id is not UNSET:
            field_dict["project_id"] = project_id
        if pipeline_inputs is not UNSET:
            field_dict["pipeline_inputs"] = pipeline_inputs

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.pipeline_input import PipelineInput

        d = dict(src_dict)
        user_id = d.pop("user_id")

        saved_item_id = d.pop("saved_item_id")

        project_id = d.pop("project_id", UNSET)

        _pipeline_inputs = d.pop("pipeline_inputs", UNSET)
        pipeline_inputs: list[PipelineInput] | Unset = UNSET
        if _pipeline_inputs is not UNSET:
            pipeline_inputs = []
            for pipeline_inputs_item_data in _pipeline_inputs:
                pipeline_inputs_item = PipelineInput.from_dict(
                    pipeline_inputs_item_data
                )

                pipeline_inputs.append(pipeline_inputs_item)

        start_pipeline_body = cls(
            user_id=user_id,
            saved_item_id=saved_item_id,
            project_id=project_id,
            pipeline_inputs=pipeline_inputs,
        )

        start_pipeline_body.additional_properties = d
        return start_pipeline_body

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
