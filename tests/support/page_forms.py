"""The POST forms of a page as a browser would send them, and the same forms filled in so that a save changes
something.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

from tests.support.unit_world import TODAY


@dataclass
class FormField:
    name: str
    value: str
    kind: str          # the input's type, or "textarea" / "select"
    options: tuple[str, ...] = ()   # a select's choices


class _FormParser(HTMLParser):
    """The POST forms of a page with the values a browser would send unchanged (no buttons, no files)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str | None, list[FormField]]] = []
        self._fields: list[FormField] | None = None
        self._radios: dict[str, str] = {}
        self._textarea: FormField | None = None
        self._select: dict | None = None
        self._option: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self._fields, self._radios = [], {}
            if (attributes.get("method") or "get").lower() == "post":
                self.forms.append((attributes.get("action"), self._fields))
            return
        if self._fields is None or "disabled" in attributes:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attributes:
                    self._fields.append(FormField(name, attributes.get("value", "on"), kind))
                    self._radios[name] = ""
                elif kind == "radio":
                    self._radios.setdefault(name, attributes.get("value", "on"))
                return
            self._fields.append(FormField(name, attributes.get("value", ""), kind))
        elif tag == "textarea" and name:
            self._textarea = FormField(name, "", "textarea")
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in attributes, "options": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": attributes.get("value"), "text": "", "selected": "selected" in attributes}

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data
        if self._option is not None:
            self._option["text"] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            self._fields.append(self._textarea)
            self._textarea = None
        elif tag == "option" and self._option is not None:
            option = self._option
            self._select["options"].append((option["text"] if option["value"] is None else option["value"],
                                            option["selected"]))
            self._option = None
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._select["options"] if selected]
            if not chosen and not self._select["multiple"] and self._select["options"]:
                chosen = [self._select["options"][0][0]]
            options = tuple(value for value, _selected in self._select["options"])
            self._fields += [FormField(self._select["name"], value, "select", options) for value in chosen]
            self._select = None
        elif tag == "form" and self._fields is not None:
            self._fields += [FormField(name, value, "radio") for name, value in self._radios.items() if value]
            self._fields = None


def post_forms(html: str, page_url: str) -> dict[str, list[FormField]]:
    """The page's POST forms by the path they post to (the first form for a path)."""
    parser = _FormParser()
    parser.feed(html)
    found: dict[str, list[FormField]] = {}
    for action, fields in parser.forms:
        found.setdefault(urlsplit(action or page_url).path, fields)
    return found


# What an empty field gets, by its name, and the free text a write would change: the form as shown, posted
# back unchanged, would often save nothing even where the write is allowed, and "nothing changed" would
# prove nothing.
CHANGED_TEXT = "Adgangstest"
FILLED = {
    **dict.fromkeys(("reason", "body", "note", "text", "justification", "participants", "citizen_view",
                     "contact_name", "name", "citizen_name"), CHANGED_TEXT),
    "cpr": "010190-4321",
    "description": "Døgntakst", "unit_price": "2.450,00", "quantity": "1",
    "earliest_start": (TODAY + timedelta(days=60)).strftime("%d-%m-%Y"),
    "started_on": (TODAY - timedelta(days=1)).strftime("%d-%m-%Y"),
}


def filled(fields: list[FormField]) -> list[tuple[str, str]]:
    """The form's values with its free text changed and its empty fields filled (or, when that changes
    nothing, its first choice turned to the next), without the CSRF token of whoever was shown it."""
    values, changed = [], False
    for item in fields:
        value, short = item.value, item.name.rsplit("-", 1)[-1]
        if item.kind == "textarea":
            value = f"{value.strip()} {CHANGED_TEXT}".strip()
        elif item.kind in ("text", "email", "tel", "number") and not value and short in FILLED:
            value = FILLED[short]
        elif item.kind == "select" and not value and any(item.options):
            value = next(option for option in item.options if option)   # past the "Choose …" placeholder
        changed = changed or value != item.value
        if item.name != "csrf_token":
            values.append((item.name, value))
    choice = next((item for item in fields if item.kind == "select" and len(set(item.options)) > 1), None)
    if not changed and choice is not None:
        turned = choice.options[(choice.options.index(choice.value) + 1) % len(choice.options)]
        values = [(name, turned if name == choice.name else value) for name, value in values]
    return values
