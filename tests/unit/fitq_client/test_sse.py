"""The event-stream parser, on literal text as a server sends it."""
from fitq_client.sse import Event, parse

STREAM = """: keep-alive
id: 1
event: progress
data: {"step": 100, "steps": 200, "loss": 12.5}

id: 2
event: progress
data: {"step": 200,
data:  "steps": 200, "loss": 3.25}

: another comment

event: status
data: {"id": "j1", "status": "succeeded"}

retry: 1000
id: 3
event: end
data: {}

"""


def test_events_come_with_their_type_id_and_decoded_data():
    events = list(parse(STREAM.splitlines(keepends=True)))
    assert events == [
        Event("progress", "1", {"step": 100, "steps": 200, "loss": 12.5}),
        # data lines join with a newline; one leading space after the colon is dropped, not two
        Event("progress", "2", {"step": 200, "steps": 200, "loss": 3.25}),
        # an event without an id line keeps the last id seen, as the format says
        Event("status", "2", {"id": "j1", "status": "succeeded"}),
        Event("end", "3", {}),
    ]


def test_crlf_lines_plain_text_data_and_an_unfinished_event():
    text = "data:no space\r\n\r\nevent: note\r\ndata: not json\r\n\r\nid: 9\r\ndata: {\"cut\": 1}\r\n"
    # the last event has no blank line after it: the stream ended mid-event, so it is not dispatched
    assert list(parse(text.splitlines(keepends=True))) == [Event("message", None, "no space"),
                                                           Event("note", None, "not json")]


def test_comments_and_lines_without_data_dispatch_nothing():
    assert list(parse([": ping\n", "\n", "event: progress\n", "id: 4\n", "\n", ": ping\n"])) == []
