"""EncodedFrames: an event frame is encoded once per server process, whoever it goes to."""

import json

from eim.chat.consumers import EncodedFrames


def _frame(seq: int, body: str = "hi") -> dict:
    return {"type": "message.new", "conversation": 7, "seq": seq, "message": {"body": body}}


def test_a_frame_is_encoded_once_for_every_socket(monkeypatch):
    frames = EncodedFrames()
    encoded: list[int] = []
    real_dumps = json.dumps

    def counted_dumps(value: object) -> str:
        encoded.append(1)
        return real_dumps(value)

    monkeypatch.setattr("eim.chat.consumers.json.dumps", counted_dumps)

    texts = {frames.text(_frame(1)) for _ in range(10)}

    assert len(encoded) == 1
    assert [json.loads(text) for text in texts] == [_frame(1)]


def test_the_oldest_frames_are_forgotten_beyond_the_size():
    frames = EncodedFrames(size=2)
    for seq in (1, 2, 3):
        frames.text(_frame(seq, body=f"first {seq}"))

    again = [json.loads(frames.text(_frame(seq, body=f"second {seq}"))) for seq in (1, 3)]

    assert [f["message"]["body"] for f in again] == ["second 1", "first 3"]
