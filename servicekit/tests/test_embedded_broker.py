"""The embedded broker: kombu's filesystem transport with message files that appear only when whole."""

from __future__ import annotations

from pathlib import Path

from kombu import Connection, Queue

from servicekit.config import load_bus_settings


def test_messages_appear_whole_and_half_written_files_are_never_taken(tmp_path, monkeypatch):
    monkeypatch.delenv("BROKER_URL", raising=False)
    bus = load_bus_settings(tmp_path)
    assert bus.url.startswith("localfs://") and bus.embedded
    data = Path(bus.transport_options["data_folder_in"])
    data.mkdir(parents=True)
    Path(bus.transport_options["control_folder"]).mkdir(parents=True)
    with Connection(bus.url, transport_options=bus.transport_options) as connection:
        queue = Queue("q", routing_key="q")(connection.default_channel)
        queue.declare()
        # What a writer in another process leaves while it is still writing.
        (data / ".partial-1_x.q.msg").write_bytes(b'{"body": "half')
        connection.Producer().publish({"n": 1}, exchange="", routing_key="q", declare=[])
        assert [p.name for p in data.iterdir() if not p.name.startswith(".partial-")][0].endswith(".q.msg")
        message = queue.get(no_ack=True)
        assert message.payload == {"n": 1}
        assert queue.get(no_ack=True) is None
