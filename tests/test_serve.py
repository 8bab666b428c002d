"""serve: the JSON API through a TestClient (good, bad, oversized, concurrent uploads) and the page in Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from actionlab.cli import main
from actionlab.methods import get_method

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def run(tiny, tmp_path_factory):
    run = tmp_path_factory.mktemp("run") / "frame"
    get_method("frame-cnn").train(tiny, run, {"epochs": 1, "frames": 4, "size": 32, "width": 8, "workers": 0})
    return run


@pytest.fixture(scope="module")
def served(run, tmp_path_factory):
    """(TestClient, upload folder) over the run, uploads limited to 1 MB."""
    from fastapi.testclient import TestClient

    from actionlab.serve import create_app

    workdir = tmp_path_factory.mktemp("uploads")
    with TestClient(create_app(run, workdir, max_mb=1)) as client:
        yield client, workdir


def upload(client, name, data, url="/predict"):
    return client.post(url, files={"file": (name, data, "video/mp4")})


def expected_top(run, video):
    """The top label `actionlab predict` gives for the video."""
    from actionlab.predict import predict_paths, top_k

    return top_k(predict_paths(run, [video]), 1)[str(video)][0][0]


def test_health_and_classes(served, tiny):
    client, _ = served
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/classes").json() == {"classes": tiny.classes}


def test_good_file_gives_the_same_top5_as_predict(served, run, tiny):
    client, workdir = served
    video = tiny.test[0].path
    r = upload(client, video.name, video.read_bytes())
    assert r.status_code == 200
    body = r.json()
    assert body["file"] == video.name and len(body["top"]) == 5
    assert body["top"][0]["label"] == expected_top(run, video)
    scores = [t["score"] for t in body["top"]]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1 + 1e-6
    assert list(workdir.iterdir()) == []  # the upload was removed


def test_bad_files_are_4xx_with_one_line_and_the_server_goes_on(served, tiny):
    client, workdir = served
    video = tiny.test[1].path
    data = video.read_bytes()
    for name, payload, status in [
        ("notes.mp4", b"this is not a video\n" * 50, 422),
        ("cut.mp4", data[:200], 422),
        ("empty.mp4", b"", 400),
        ("big.mp4", os.urandom(3 << 20), 413),
    ]:
        r = upload(client, name, payload)
        assert r.status_code == status, (name, r.text)
        detail = r.json()["detail"]
        assert "\n" not in detail and (name in detail or "too large" in detail)
        assert str(workdir) not in detail  # the temporary path is not shown
    r = client.post("/predict", data={"other": "field"})
    assert r.status_code == 400 and "'file'" in r.json()["detail"]
    assert upload(client, video.name, data).status_code == 200  # still serving
    assert list(workdir.iterdir()) == []


def test_concurrent_requests(served, tiny):
    client, workdir = served
    videos = [s.path for s in tiny.test[:3]] * 2
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda v: upload(client, v.name, v.read_bytes()), videos))
    assert [a.status_code for a in answers] == [200] * len(videos)
    tops = [a.json()["top"][0]["label"] for a in answers]
    assert tops[:3] == tops[3:]  # the same file gets the same answer under concurrency
    assert list(workdir.iterdir()) == []


def test_page_shows_top5_bars_and_errors(served, run, tiny):
    client, _ = served
    page = client.get("/")
    assert page.status_code == 200 and 'type="file"' in page.text and "1 MB" in page.text
    video = tiny.test[2].path
    r = upload(client, video.name, video.read_bytes(), url="/")
    assert r.status_code == 200
    assert f'id="top-label">{expected_top(run, video)}<' in r.text and r.text.count('class="fill"') == 5
    bad = upload(client, "broken.mp4", b"\x00" * 300, url="/")
    assert bad.status_code == 422 and 'class="error"' in bad.text and "broken.mp4" in bad.text


def test_long_video_gets_the_timeline_plot(served, tiny, tmp_path):
    pytest.importorskip("actionlab.timeline")
    import av
    import numpy as np

    from media import write_video

    # 12 s made of the test clips' own frames, one action after another
    frames = []
    for s in tiny.test[:6]:
        with av.open(str(s.path)) as c:
            frames += [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    while len(frames) < 300:
        frames += frames
    long = write_video(tmp_path / "long.mp4", np.stack(frames[:300]), fps=25)
    client, workdir = served
    r = upload(client, long.name, long.read_bytes(), url="/")
    assert r.status_code == 200, r.text[-500:]
    assert "<h3>Timeline</h3>" in r.text and 'alt="Timeline" src="data:image/png;base64,' in r.text
    assert list(workdir.iterdir()) == []


def test_serve_rejects_bad_options(run, capsys):
    assert main(["serve", str(run), "--max-mb", "0"]) == 2
    assert "--max-mb" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, seconds: float = 300) -> None:
    import httpx

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(url + "/health", timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise AssertionError("server did not start")


def test_browser_uploads_a_clip_and_sees_its_top_label(run, tiny, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "actionlab", "serve", str(run), "--port", str(port)], stderr=subprocess.PIPE, env=env
    )
    try:
        wait_healthy(url, proc)
        video = tiny.test[0].path
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            page = browser.new_page()
            page.goto(url + "/")
            page.set_input_files("#file", str(video))
            page.click("#submit")
            page.wait_for_selector("#top-label", timeout=60_000)
            shown = page.inner_text("#top-label")
            assert page.locator("#top5 tr").count() == 5
            browser.close()
        assert shown == expected_top(run, video)
    finally:
        proc.terminate()
        proc.wait(30)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("actionlab-serve-")]  # cleaned on exit
