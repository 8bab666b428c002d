"""The test helpers themselves: a written video decodes back to the frames it was given."""

import av

from media import frame_number, numbered_frames, write_video


def test_numbered_video_round_trip(tmp_path):
    frames = numbered_frames(30)
    path = write_video(tmp_path / "n.mp4", frames)
    with av.open(str(path)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert [frame_number(f) for f in decoded] == list(range(30))
