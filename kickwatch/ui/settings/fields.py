"""Form fields bound to setting keys, each with its inline validation message.

A `SettingField` turns a widget's content into the text `Settings` parses, shows the rule a
value breaks right under the widget as it is typed, and knows whether it was changed since it
was loaded. `SettingsForm` lays fields out and validates them together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from kickwatch.domain.errors import ValidationError
from kickwatch.store.settings import format_value

Validator = Callable[[str, str], Any]
ERROR_STYLE = "color: #c0392b;"


class SettingField:
    """One setting: its key, its widget, its inline message."""

    def __init__(
        self, key: str, label: str, widget: QLineEdit | QCheckBox | QComboBox, hint: str = ""
    ) -> None:
        self.key = key
        self.label = label
        self.widget = widget
        self.message = QLabel()
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        self.loaded = ""
        self._validator: Validator | None = None
        if hint:
            widget.setToolTip(hint)
        if isinstance(widget, QLineEdit):
            widget.textChanged.connect(lambda _text: self.validate())
        elif isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(lambda _index: self.validate())
        else:
            widget.toggled.connect(lambda _on: self.validate())

    def bind(self, validator: Validator) -> None:
        """Validate with `validator(key, text)` (normally `Settings.validate`)."""
        self._validator = validator

    def text(self) -> str:
        """The value as the text `Settings` parses."""
        if isinstance(self.widget, QCheckBox):
            return "true" if self.widget.isChecked() else "false"
        if isinstance(self.widget, QComboBox):
            return str(self.widget.currentData())
        return self.widget.text()

    def load(self, value: Any) -> None:
        """Show a stored value (not a change)."""
        text = format_value(value)
        if isinstance(self.widget, QCheckBox):
            self.widget.setChecked(text == "true")
        elif isinstance(self.widget, QComboBox):
            self.widget.setCurrentIndex(max(0, self.widget.findData(text)))
        else:
            self.widget.setText(text)
        self.loaded = self.text()
        self.validate()

    @property
    def changed(self) -> bool:
        """Whether the value differs from what was loaded."""
        return self.text() != self.loaded

    def validate(self) -> str | None:
        """Check the value; show and return the broken rule, or None."""
        error = None
        if self._validator is not None:
            try:
                self._validator(self.key, self.text())
            except ValidationError as exc:
                error = f"{self.label}: {exc.rule}"
        self.message.setText(error or "")
        self.message.setVisible(error is not None)
        return error


class SettingsForm(QWidget):
    """A tab of setting fields, each with its message below it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields: dict[str, SettingField] = {}
        self.outer = QVBoxLayout(self)
        self.form = QFormLayout()
        self.outer.addLayout(self.form)

    def add_line(self, key: str, label: str, hint: str = "", password: bool = False) -> QLineEdit:
        """A text field for `key`."""
        edit = QLineEdit()
        edit.setObjectName(key)
        if password:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self._add(SettingField(key, label, edit, hint), label)
        return edit

    def add_check(self, key: str, label: str, hint: str = "") -> QCheckBox:
        """A checkbox for `key`."""
        box = QCheckBox(label)
        box.setObjectName(key)
        self._add(SettingField(key, label, box, hint), "")
        return box

    def add_combo(self, key: str, label: str, choices: dict[str, str], hint: str = "") -> QComboBox:
        """A drop-down for `key`: each choice's stored value and the words shown for it."""
        combo = QComboBox()
        combo.setObjectName(key)
        for value, words in choices.items():
            combo.addItem(words, value)
        combo.view().setAccessibleName(f"{label} choices")  # the drop-down's own list
        self._add(SettingField(key, label, combo, hint), label)
        return combo

    def _add(self, field: SettingField, label: str) -> None:
        self.fields[field.key] = field
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(field.widget)
        column.addWidget(field.message)
        # A row of a layout gets no buddy: name the field for screen readers here.
        field.widget.setAccessibleName(field.label)
        if field.widget.toolTip():
            field.widget.setAccessibleDescription(field.widget.toolTip())
        if label:
            caption = QLabel(label)
            caption.setBuddy(field.widget)
            self.form.addRow(caption, column)
        else:
            self.form.addRow("", column)

    def bind(self, validator: Validator) -> None:
        """Validate every field with `validator`."""
        for field in self.fields.values():
            field.bind(validator)

    def load(self, values: dict[str, Any]) -> None:
        """Show stored values."""
        for key, field in self.fields.items():
            if key in values:
                field.load(values[key])

    def errors(self) -> dict[str, str]:
        """Every broken rule, by key (and shown inline)."""
        found = {}
        for key, field in self.fields.items():
            error = field.validate()
            if error is not None:
                found[key] = error
        return found

    def changes(self) -> dict[str, str]:
        """The values that differ from those loaded, as text."""
        return {key: f.text() for key, f in self.fields.items() if f.changed}
