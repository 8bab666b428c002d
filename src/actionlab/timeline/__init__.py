"""Long videos as a timeline: a run's own input window slid over the whole file, one sequential decode.

    from actionlab.timeline import TimelineOptions, predict_timeline, write_outputs
    tl = predict_timeline("runs/clip3d", "long.mp4", TimelineOptions.build({"stride": 0.5}))
    tl.segments      # [Segment(label, start, end, score), ...] after smoothing, background under the threshold
    write_outputs(tl, "tl.json", "tl.csv", "tl.png", top_k=5)

engine (geometry, batching), inputs (each reader kind fed a window's frames), stream (decode + ring buffer),
segments (smoothing, threshold, merging), result (Timeline, JSON/CSV), plot (PNG); progress on stderr is
training.progress.Bar (a bar on a terminal, plain lines elsewhere).
"""

from actionlab.timeline.engine import DEFAULT_WINDOW, TimelineOptions, predict_timeline
from actionlab.timeline.result import Timeline, write_outputs
from actionlab.timeline.segments import Segment, coverage

__all__ = ["DEFAULT_WINDOW", "Segment", "Timeline", "TimelineOptions", "coverage", "predict_timeline", "write_outputs"]
