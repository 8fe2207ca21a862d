"""Server-Sent Events read from lines of text, as the WHATWG event-stream format defines them."""
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """One dispatched event: its type (`progress`, `status`, `end`), its id and its data decoded."""

    event: str
    id: str | None
    data: Any


def parse(lines: Iterable[str]) -> Iterator[Event]:
    """The events of an event stream given line by line (line endings kept or not)."""
    kind, data, last_id = "", list[str](), None
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:  # a blank line dispatches what came before it, if any data did
            if data:
                yield Event(kind or "message", last_id, _decoded("\n".join(data)))
            kind, data = "", []
            continue
        if line.startswith(":"):  # a comment: the server's keep-alive
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            kind = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            last_id = value  # kept for the events after it too, as the format says
    # An event not ended by a blank line when the stream closes is dropped (the format says so).


def _decoded(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
