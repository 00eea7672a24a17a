from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.flow_detail_config import FlowDetailConfig
    from ..models.flow_detail_ui import FlowDetailUi
    from ..models.flow_input import FlowInput
    from ..models.flow_output import FlowOutput


T = TypeVar("T", bound="FlowDetail")


@_attrs_define
class FlowDetail:
    """
    Attributes:
        id (str):
        name (str):
        description (str):
        inputs (list[FlowInput] | Unset):
        outputs (list[FlowOutput] | Unset):
        created_at (str | Unset):
        updated_at (str | Unset):
        config (FlowDetailConfig | Unset): The flow's graph.
        ui (FlowDetailUi | Unset): Editor-only metadata.
        internal_version (str | Unset): Concurrency token for edits.
    """

    id: str
    name: str
    description: str
    inputs: list[FlowInput] | Unset = UNSET
    outputs: list[FlowOutput] | Unset = UNSET
    created_at: str | Unset = UNSET
    updated_at: str | Unset = UNSET
    config: FlowDetailConfig | Unset = UNSET
    ui: FlowDetailUi | Unset = UNSET
    internal_version: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        description = self.description

        inputs: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.inputs, Unset):
            inputs = []
            for inputs_item_data in self.inputs:
                inputs_item = inputs_item_data.to_dict()
                inputs.append(inputs_item)

        outputs: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.outputs, Unset):
            outputs = []
            for outputs_item_data in self.outputs:
                outputs_item = outputs_item_data.to_dict()
                outputs.append(outputs_item)

        created_at = self.created_at

        updated_at = self.updated_at

        config: dict[str, Any] | Unset = UNSET
        if not isinstance(self.config, Unset):
            config = self.config.to_dict()

        ui: dict[str, Any] | Unset = UNSET
        if not isinstance(self.ui, Unset):
            ui = self.ui.to_dict()

        internal_version = self.internal_version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "description": description,
            }
        )
        if inputs is not UNSET:
            field_dict["inputs"] = inputs
        if outputs is not UNSET:
            field_dict["outputs"] = outputs
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at
        if config is not UNSET:
            field_dict["config"] = config
        if ui is not UNSET:
            field_dict["ui"] = ui
        if internal_version is not UNSET:
            field_dict["internal_version"] = internal_version

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.flow_detail_config import FlowDetailConfig
        from ..models.flow_detail_ui import FlowDetailUi
        from ..models.flow_input import FlowInput
        from ..models.flow_output import FlowOutput

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        description = d.pop("description")

        _inputs = d.pop("inputs", UNSET)
        inputs: list[FlowInput] | Unset = UNSET
        if _inputs is not UNSET:
            inputs = []
            for inputs_item_data in _inputs:
                inputs_item = FlowInput.from_dict(inputs_item_data)

                inputs.append(inputs_item)

        _outputs = d.pop("outputs", UNSET)
        outputs: list[FlowOutput] | Unset = UNSET
        if _outputs is not UNSET:
            outputs = []
            for outputs_item_data in _outputs:
                outputs_item = FlowOutput.from_dict(outputs_item_data)

                outputs.append(outputs_item)

        created_at = d.pop("created_at", UNSET)

        updated_at = d.pop("updated_at", UNSET)

        _config = d.pop("config", UNSET)
        config: FlowDetailConfig | Unset
        if isinstance(_config, Unset):
            config = UNSET
        else:
            config = FlowDetailConfig.from_dict(_config)

        _ui = d.pop("ui", UNSET)
        ui: FlowDetailUi | Unset
        if isinstance(_ui, Unset):
            ui = UNSET
        else:
            ui = FlowDetailUi.from_dict(_ui)

        internal_version = d.pop("internal_version", UNSET)

        flow_detail = cls(
            id=id,
            name=name,
            description=description,
            inputs=inputs,
            outputs=outputs,
            created_at=created_at,
            updated_at=updated_at,
            config=config,
            ui=ui,
            internal_version=internal_version,
        )

        flow_detail.additional_properties = d
        return flow_detail

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
