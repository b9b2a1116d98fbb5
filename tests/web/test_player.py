"""The player in a real browser: upload a synthesized file, see its waveform once ingested, zoom
(a new window queried from the server), run an analysis and watch it until done, with its
tracks drawn under the audio player; add an analysis track from the catalogue and compute it;
the similar items and the audio analysis' lanes; logging in; no request leaves the server."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
import pytest
import soundfile as sf
from playwright.sync_api import Page, expect
from sqlmodel import Session

from tests.jobs.live import STRUCTURE, run_presets, upload
from tests.web.conftest import Site, Traffic
from timeside_gql.core import samples
from timeside_gql.core.pieces import Part, render
from timeside_gql.db import auth

pytestmark = pytest.mark.slow

SAMPLERATE = 22050
SECONDS = 4.0
AMPLITUDE = 0.5
UUID = "[0-9a-f-]{36}"
#: Keeps every (status, progress) the task panel shows, as the subscription updates it.
RECORD_PROGRESS = """task => {
  task.seen = [];
  const bar = task.querySelector("progress");
  const record = () => task.seen.push([task.dataset.status, bar.value]);
  new MutationObserver(record).observe(task, {attributes: true, childList: true, subtree: true});
}"""


def sign_in(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/")
    page.fill("header input[name=token]", site.token)
    page.click("header form.token button")
    expect(page.locator("header .who")).to_contain_text("signed in as owner-")


def test_player_uploads_shows_the_waveform_zooms_and_follows_an_analysis(
    site: Site, page: Page, traffic: Traffic, tmp_path: Path
):
    sine = samples.sine(440.0, SECONDS, SAMPLERATE, AMPLITUDE)
    audio = samples.write(tmp_path / "la.wav", sine, SAMPLERATE)
    sign_in(page, site)

    page.set_input_files("form.upload input[type=file]", str(audio))
    page.fill("form.upload input[name=title]", "uploaded la")
    page.click("form.upload button")
    expect(page.locator(".item h2")).to_have_text("uploaded la")
    expect(page.locator(".item .meta")).to_contain_text("ingest done", timeout=60_000)
    waveform = page.locator(".lane-waveform canvas")  # drawn anew once the ingest is done
    expect(waveform).to_have_attribute("data-window", f"0-{SECONDS:g}")
    assert float(waveform.get_attribute("data-peak") or 0) == pytest.approx(AMPLITUDE, abs=0.01)
    assert int(waveform.get_attribute("data-columns") or 0) > 100
    signed = re.compile(rf"/media/items/{UUID}/source\?sig=")
    expect(page.locator(".item audio")).to_have_attribute("src", signed)

    page.click(".toolbar button[name=zoom-in]")  # around the middle: [1, 3] s, queried anew
    expect(waveform).to_have_attribute("data-window", "1-3")
    expect(page.locator(".toolbar .range")).to_have_text("0:01.00 \N{EN DASH} 0:03.00")

    # The audio streams from its signed URL; a click three quarters along the lanes seeks to
    # 1 + 0.75 x 2 = 2.5 s and the playhead stands there.
    page.wait_for_function("document.querySelector('.item audio').readyState >= 1")
    assert page.eval_on_selector(".item audio", "a => a.duration") == pytest.approx(
        SECONDS, abs=0.05
    )
    box = page.locator(".lanes").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + 10)
    page.wait_for_function(
        "Math.abs(document.querySelector('.item audio').currentTime - 2.5) < 0.05"
    )
    left = page.eval_on_selector(".lanes .cursor", "c => parseFloat(c.style.left)")
    assert left == pytest.approx(75, abs=1)

    task = page.locator("form.analysis .task")
    task.evaluate(RECORD_PROGRESS)
    page.click("form.analysis button[type=submit]")
    expect(task).to_have_attribute("data-status", "DONE", timeout=120_000)
    seen = task.evaluate("t => t.seen")
    statuses = [status for status, _ in seen]
    assert statuses[0] == "STARTING" and "RUNNING" in statuses and statuses[-1] == "DONE"
    progress = [value for _, value in seen]
    assert progress == sorted(progress) and progress[-1] == 1.0  # moves forward, ends full
    pitch = page.locator(".lane-line", has_text="pitch")
    expect(pitch.first).to_have_attribute("data-ready", "true", timeout=30_000)
    onsets = page.locator(".lane-events")
    expect(onsets.first).to_have_attribute("data-ready", "true")
    segments = page.locator(".lane-segments canvas").first  # silence: one "active" segment
    expect(segments).to_have_attribute("data-points", "1")
    expect(waveform).to_have_attribute("data-window", "1-3")  # the window survives the reload
    spectrogram = page.locator(".lane-image img").first
    expect(spectrogram).to_have_attribute("src", re.compile(rf"/media/results/{UUID}/visual.png\?"))
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=spectrogram.element_handle()
    )

    assert traffic.hosts() == {"127.0.0.1"}, traffic.urls
    assert traffic.errors == []


def graphql(site: Site, query: str, **variables: object) -> dict:
    """One operation as the world's owner, over the live server's HTTP API."""
    response = httpx.post(
        f"{site.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {site.token}"},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def public_analysis(site: Site, pid: str, output: str, title: str) -> str:
    """A public Analysis of `output` of `pid`'s default preset, as a curator would make it."""
    processors = graphql(
        site, "query($pid: String) { processors(pid: $pid) { nodes { id } } }", pid=pid
    )
    processor = processors["processors"]["nodes"][0]["id"]
    preset = graphql(
        site,
        "mutation($p: UUID!) { createPreset(processorId: $p) { ... on Preset { id } } }",
        p=processor,
    )["createPreset"]["id"]
    created = graphql(
        site,
        """mutation($input: AnalysisInput!) { createAnalysis(input: $input) {
          __typename ... on Analysis { id } ... on Error { message }
        } }""",
        input={
            "presetId": preset,
            "outputId": output,
            "renderType": "VECTOR",
            "isPublic": True,
            "title": title,
        },
    )["createAnalysis"]
    assert created["__typename"] == "Analysis", created
    return created["id"]


#: Pixels of the lane's canvas within a few levels of the track's colour (#00a000).
GREEN_PIXELS = """c => {
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4)
    if (d[i + 3] > 200 && d[i] < 20 && Math.abs(d[i + 1] - 160) < 20 && d[i + 2] < 20) n++;
  return n;
}"""


def test_player_adds_an_analysis_track_computes_it_and_draws_it_in_its_colour(
    site: Site, page: Page, traffic: Traffic
):
    title = "Momentary loudness"
    public_analysis(site, "loudness_itu", "loudness_itu.momentary", title)
    sign_in(page, site)
    page.locator(".items button").first.click()  # a synthesized sine of the world
    catalogue = page.locator(".catalogue")
    expect(catalogue.locator("select[name=analysis] option", has_text=title)).to_have_count(1)
    catalogue.locator("select[name=analysis]").select_option(label=f"{title} (vector)")
    catalogue.locator("input[name=color]").fill("#00a000")
    catalogue.locator("button[name=add-track]").click()
    track = catalogue.locator(".analysis-tracks li", has_text=title)
    expect(track).to_have_attribute("data-status", "NONE")  # listed, nothing computed yet
    assert page.locator(".lane[data-key^='track:']").count() == 0

    catalogue.locator("button[name=compute-tracks]").click()
    expect(catalogue.locator(".task")).to_have_attribute("data-status", "DONE", timeout=120_000)
    expect(track).to_have_attribute("data-status", "DONE")
    lane = page.locator(".lane-line[data-key^='track:']")
    expect(lane).to_have_attribute("data-ready", "true", timeout=30_000)
    expect(lane.locator(".caption")).to_contain_text(title)
    canvas = lane.locator("canvas")
    assert int(canvas.get_attribute("data-points") or 0) >= 5  # frames in the window
    assert canvas.evaluate(GREEN_PIXELS) > 50  # the line, drawn in the track's colour

    # A second compute has nothing left to do: a typed refusal, shown, and nothing redrawn.
    catalogue.locator("button[name=compute-tracks]").click()
    expect(catalogue.locator(".task")).to_have_attribute("data-status", "ERROR")
    expect(catalogue.locator(".task-status")).to_contain_text("done or under way")
    assert traffic.hosts() == {"127.0.0.1"}, traffic.urls
    assert traffic.errors == []


#: Two 8-bar sections at 120 BPM in 4/4 (C major on an organ, then G major on a saw).
PIECE = (Part(16.0, bpm=120, timbre="organ"), Part(16.0, bpm=120, key=7, timbre="saw"))


def test_player_lists_similar_items_and_draws_the_audio_analysis(
    site: Site, page: Page, traffic: Traffic
):
    buffer = io.BytesIO()
    sf.write(buffer, render(PIECE, sr=SAMPLERATE, seed=1), SAMPLERATE, format="WAV")
    piece = upload(site.url, site.token, "two parts", buffer.getvalue())
    sign_in(page, site)
    page.goto(f"{site.url}/#item={piece}")
    similar = page.locator(".item .similar")
    expect(similar).to_have_attribute("data-state", "none")
    expect(similar).to_contain_text("No descriptors yet")
    assert page.locator(".lane-sections").count() == 0

    sines = [str(i) for i in site.world.item_ids]
    run_presets(site.url, site.token, STRUCTURE, [piece, *sines], public=True)
    page.reload()
    expect(similar).to_have_attribute("data-state", "listed", timeout=30_000)
    entries = similar.locator("li")
    expect(entries).to_have_count(3)  # the world's sines: the only others with descriptors
    assert sorted(entries.evaluate_all("es => es.map(e => e.dataset.id)")) == sorted(sines)
    distances = [float(d) for d in similar.locator(".distance").all_inner_texts()]
    assert distances == sorted(distances) and distances[0] > 0

    sections = page.locator(".lane-sections")
    expect(sections).to_have_attribute("data-ready", "true", timeout=30_000)
    expect(sections.locator(".caption")).to_contain_text("120 BPM")
    expect(sections.locator(".caption")).to_contain_text("4/4")
    assert int(sections.locator("canvas").get_attribute("data-points") or 0) >= 2
    bars, beats = page.locator(".lane-bars canvas"), page.locator(".lane-beats canvas")
    for lane in (".lane-beats", ".lane-bars"):  # each lane asks for its own part
        expect(page.locator(lane)).to_have_attribute("data-ready", "true")
    assert int(beats.get_attribute("data-points") or 0) == pytest.approx(64, abs=2)
    assert int(bars.get_attribute("data-points") or 0) == pytest.approx(16, abs=1)
    # Zoomed twice around the middle, [12, 20] s: the window is queried anew, its beats only.
    page.click(".toolbar button[name=zoom-in]")
    page.click(".toolbar button[name=zoom-in]")
    expect(page.locator(".toolbar .range")).to_have_text("0:12.00 \N{EN DASH} 0:20.00")
    expect(beats).to_have_attribute("data-points", re.compile("^1[5-7]$"))

    link = entries.first.locator("a")  # opens that item
    nearest, title = entries.first.get_attribute("data-id"), link.inner_text()
    link.click()
    expect(page.locator(".item h2")).to_have_text(title)
    expect(page).to_have_url(re.compile(f"#item={nearest}$"))
    assert traffic.hosts() == {"127.0.0.1"}, traffic.urls
    assert traffic.errors == []


def test_login_makes_a_token_the_playground_shares(site: Site, page: Page, traffic: Traffic):
    with Session(site.engine) as session:
        auth.create_user(session, "grace", "correct horse battery")
        session.commit()
    page.goto(f"{site.url}/")
    expect(page.locator("header .who")).to_have_text("anonymous")
    login = page.locator("header form.login")
    login.locator("input[name=username]").fill("grace")
    login.locator("input[name=password]").fill("wrong")
    login.locator("button").click()
    expect(page.locator("header .who")).to_contain_text("password")  # refused, and said so
    login.locator("input[name=password]").fill("correct horse battery")
    login.locator("button").click()
    expect(page.locator("header .who")).to_have_text("signed in as grace")

    page.goto(f"{site.url}/graphql")  # same origin, same localStorage: same token
    expect(page.locator(".token-state")).to_have_text("authenticated requests")
    assert traffic.hosts() == {"127.0.0.1"}, traffic.urls
    assert traffic.errors == []
