"""The page in a real browser: headless Chromium driven by playwright, against the app launched
in-process with the tiny fixture model.

What an editor does: open the page, paste the example article, press Analyse and read the type;
upload a small CSV in the Batch tab and download the result; look at the Model and Corrections
tabs. The browser is Debian's ``chromium`` package (/usr/bin/chromium, installed by .ci/run);
nothing here downloads a browser (never run ``playwright install``). Screenshots (one per tab:
``artifacts/tab_*.png``) and the measured click-to-result time go to ``artifacts/`` (git-ignored).
"""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import time
import unicodedata
from pathlib import Path

import pytest

pytest.importorskip("gradio")
sync_api = pytest.importorskip("playwright.sync_api")

from browser_page import CHROMIUM, CHROMIUM_ARGS, LABEL_SHOWN  # noqa: E402
from conftest import SPORTS_TEXT  # noqa: E402
from serve.app import FONTS, MONO_FONTS, build_app, theme  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_ARTICLE = REPO.parent / "shared" / "examples" / "seed_article_ninhthuan.txt"
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium; "
                ".ci/run does this)", allow_module_level=True)

expect = sync_api.expect
expect.set_options(timeout=30_000)
ARTIFACTS = REPO / "artifacts"
TIMEOUT_MS = 30_000
SPORTS_LABEL = "Thể thao"  # the fixture model's sports type, as the page must show it

timings: dict[str, object] = {}  # written to artifacts/browser_timings.json


@pytest.fixture(scope="module")
def url(predictor):
    yield from serve(predictor)


def serve(predictor):
    """The app on ``predictor``, launched in this process; yields its URL (a generator: the fixtures' body)."""
    demo = build_app(predictor)
    demo.queue(default_concurrency_limit=4)
    _, local_url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True,
                                  quiet=True, theme=theme())
    try:
        yield local_url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    if timings:
        (ARTIFACTS / "browser_timings.json").write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")


@pytest.fixture
def page(browser, url):
    yield from open_page(browser, url)


def open_page(browser, url: str):
    """A fresh browser context with the page at ``url`` loaded (a generator: the fixtures' body)."""
    # device_scale_factor 2: screenshots sharp enough to check diacritics by eye.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=2)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    # Event streams in flight (gradio's /queue/data): a click during an on-load event waits for it.
    # (networkidle never comes: gradio keeps a heartbeat request open.)
    page.streams = set()
    page.on("request", lambda r: "/queue/data" in r.url and page.streams.add(r))
    for done in ("requestfinished", "requestfailed"):
        page.on(done, lambda r: page.streams.discard(r))
    page.goto(url, wait_until="domcontentloaded")
    try:
        yield page
    finally:
        context.close()


def wait_for_idle_queue(page, settle_ms: int = 300) -> None:
    """Until no gradio event stream has been open for ``settle_ms`` (on-load events are done)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    quiet_since = None
    while time.monotonic() < deadline:
        if page.streams:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= settle_ms / 1000:
            return
        page.wait_for_timeout(50)  # lets playwright deliver the request events
    raise AssertionError(f"gradio events still running after {TIMEOUT_MS} ms: {[r.url for r in page.streams]}")


def label_block(page, label: str):
    """The visible gr.Label whose block label reads ``label``."""
    return (page.get_by_test_id("label")
            .filter(has=page.get_by_test_id("block-label").filter(has_text=label))
            .filter(visible=True))


def block(page, label: str):
    """The visible component block (``.block``) whose block label reads ``label``."""
    return (page.locator(".block")
            .filter(has=page.get_by_test_id("block-label").filter(has_text=label))
            .filter(visible=True))


def open_tab(page, name: str) -> None:
    tab = page.get_by_role("tab", name=name, exact=True)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def analyse(page, text: str, expected: str) -> float:
    """Fill the article, click Analyse and wait for the type label; the click-to-label seconds, timed in the page."""
    article = page.get_by_label("Article", exact=True).filter(visible=True)
    expect(article).to_be_editable()
    article.fill(text)
    button = page.get_by_role("button", name="Analyse", exact=True)
    expect(button).to_be_enabled()
    output = label_block(page, "Article type").get_by_test_id("label-output-value")
    # The click time is taken by a capturing listener and the result time on the first animation
    # frame that shows the label, both with the page's clock (no polling-interval error).
    button.evaluate("b => b.addEventListener('click', () => {"
                    " window.__nlClick = performance.now(); window.__nlDone = undefined; },"
                    " {capture: true, once: true})")
    button.click()
    page.wait_for_function(LABEL_SHOWN, arg=[expected], polling="raf", timeout=TIMEOUT_MS)
    expect(output).to_have_text(expected)
    return page.evaluate("() => (window.__nlDone - window.__nlClick) / 1000")


def test_analyse_shows_the_predicted_type(page, predictor):
    expected = predictor.predict(SPORTS_TEXT).type.label
    assert expected == SPORTS_LABEL  # the fixture model gets its own sports text right
    # Let the page's on-load events finish first: a click during them waits for them.
    expect(page.get_by_label("Article", exact=True).filter(visible=True)).to_be_editable()
    wait_for_idle_queue(page)
    wall = time.perf_counter()
    first = analyse(page, SPORTS_TEXT, expected)
    wall = time.perf_counter() - wall
    output = label_block(page, "Article type").get_by_test_id("label-output-value")
    expect(output).to_have_text(expected)
    message = page.get_by_test_id("markdown").filter(has_text="topics:").filter(visible=True)
    expect(message).to_contain_text(expected)
    page.screenshot(path=str(ARTIFACTS / "analyse.png"), full_page=True)

    # Again, warm: Clear empties the label, so each wait sees this click's result.
    repeats = []
    for i in range(3):
        page.get_by_role("button", name="Clear", exact=True).click()
        expect(output).to_have_count(0)
        repeats.append(analyse(page, f"{SPORTS_TEXT} Trận {i + 1}.", expected))

    timings.update({
        "click_to_type_label_first_s": round(first, 3),
        "click_to_type_label_repeat_s": [round(r, 3) for r in repeats],
        "first_fill_click_and_wait_wall_s": round(wall, 3),
    })
    print(f"click to type label: first {first * 1000:.0f} ms, then "
          f"{', '.join(f'{r * 1000:.0f}' for r in repeats)} ms (first fill + click + wait, wall: {wall * 1000:.0f} ms)")
    assert all(0 < t < TIMEOUT_MS / 1000 for t in [first, *repeats])


def test_analyse_example_article(page, predictor):
    """The real example article (a long one, not written for the fixture model), pasted as is."""
    if not EXAMPLE_ARTICLE.is_file():
        pytest.skip(f"example article {EXAMPLE_ARTICLE} is missing (it lives in ../shared/examples beside the repo)")
    text = EXAMPLE_ARTICLE.read_text(encoding="utf-8")
    expected = predictor.predict(text).type.label
    expect(page.get_by_label("Article", exact=True).filter(visible=True)).to_be_editable()
    wait_for_idle_queue(page)
    analyse(page, text, expected)
    # The top row of the label is the predicted type, and the message names it too.
    expect(label_block(page, "Article type").locator("dt").first).to_have_text(expected)
    message = page.get_by_test_id("markdown").filter(has_text="topics:").filter(visible=True)
    expect(message).to_contain_text(expected)
    # The whole article reached the model: its last words are in the highlighted copy.
    last_words = " ".join(text.split()[-4:])
    expect(page.get_by_test_id("highlighted-text").filter(visible=True).first).to_contain_text(last_words)
    page.screenshot(path=str(ARTIFACTS / "tab_analyse.png"), full_page=True)


def test_batch_upload_and_download(page, predictor, tmp_path):
    rows = [
        {"id": "a1", "title": "Bóng đá", "text": SPORTS_TEXT},
        {"id": "a2", "title": "Bài trống", "text": ""},  # line 3 of the file: no text, reported and skipped
        {"id": "a3", "title": "Ngân hàng",
         "text": "Ngân hàng tăng lãi suất tiết kiệm; giá cổ phiếu trên sàn chứng khoán giảm."},
    ]
    upload = tmp_path / "bai_bao.csv"
    with open(upload, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "title", "text"])
        writer.writeheader()
        writer.writerows(rows)

    open_tab(page, "Batch")
    source = block(page, "CSV or JSONL")
    source.locator("input[type=file]").set_input_files(upload)
    expect(source).to_contain_text("bai_bao")  # uploaded: the file is listed in the block
    wait_for_idle_queue(page)
    page.get_by_role("button", name="Analyse file", exact=True).click()

    message = page.get_by_test_id("markdown").filter(has_text="Processed").filter(visible=True)
    expect(message).to_contain_text("Processed 2 article(s).")
    expect(message).to_contain_text("1 row(s) could not be read")
    expect(message).to_contain_text("line 3: text:")
    preview = page.get_by_role("grid", name="First rows").filter(visible=True)
    for r in (rows[0], rows[2]):
        expect(preview).to_contain_text(r["title"])

    link = block(page, "Results (CSV)").get_by_test_id("download-link")
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "newslens_results.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with open(saved, encoding="utf-8-sig", newline="") as f:
        got = list(csv.DictReader(f))
    assert [r["id"] for r in got] == ["a1", "a3"]
    assert {"id", "title", "type", "type_probability", "topics", "keywords", "summary"} <= set(got[0])
    for r, want in zip(got, (rows[0], rows[2])):
        assert r["title"] == want["title"]  # Vietnamese survives the round trip
        assert r["type"] == predictor.predict(want["text"], want["title"]).type.label
    assert got[0]["type"] == SPORTS_LABEL
    page.screenshot(path=str(ARTIFACTS / "tab_batch.png"), full_page=True)


def test_model_and_corrections_tabs(page, predictor):
    expected = predictor.predict(SPORTS_TEXT).type.label
    expect(page.get_by_label("Article", exact=True).filter(visible=True)).to_be_editable()
    wait_for_idle_queue(page)
    analyse(page, SPORTS_TEXT, expected)

    open_tab(page, "Model")
    overview = page.get_by_test_id("markdown").filter(has_text="Type labels").filter(visible=True)
    expect(overview).to_contain_text(f"version {predictor.info.version}")
    expect(overview).to_contain_text(SPORTS_LABEL)
    page.screenshot(path=str(ARTIFACTS / "tab_model.png"), full_page=True)

    # Corrections: start from the model's answer (nothing is saved here).
    open_tab(page, "Corrections")
    waiting = page.get_by_test_id("markdown").filter(has_text="correction(s) waiting").filter(visible=True)
    expect(waiting).to_be_visible()
    page.get_by_role("button", name="Start from the model's answer", exact=True).click()
    expect(page.get_by_label("Correct type").filter(visible=True)).to_have_value(expected)
    expect(page.get_by_label("Edited summary").filter(visible=True)).not_to_have_value("")
    page.screenshot(path=str(ARTIFACTS / "tab_corrections.png"), full_page=True)


def test_page_renders_vietnamese(page, predictor):
    expected = predictor.predict(SPORTS_TEXT).type.label
    analyse(page, SPORTS_TEXT, expected)
    block = label_block(page, "Article type")
    block.screenshot(path=str(ARTIFACTS / "article_type.png"))

    body = page.locator("body").inner_text()
    assert SPORTS_LABEL in body  # exactly, precomposed (NFC) as the model wrote it
    row_texts = block.locator("dt").all_inner_texts()
    assert SPORTS_LABEL in row_texts
    assert all(unicodedata.is_normalized("NFC", t) for t in row_texts)

    ours = {f.lower() for f in FONTS + MONO_FONTS}
    for locator in (block.locator("dt").first, block.get_by_test_id("label-output-value")):
        family = locator.evaluate("e => getComputedStyle(e).fontFamily")
        declared = [f.strip().strip("\"'").lower() for f in family.split(",")]
        assert ours & set(declared), f"font-family {declared} names none of {FONTS + MONO_FONTS}"

    # And the fonts chromium actually drew the rows with are ours (a system font from our stacks).
    for text, fonts in _platform_fonts(page, '[data-testid="label"] dt'):
        used = {f["familyName"].lower() for f in fonts}
        assert used and used <= ours, f"{text!r} drawn with {used}, not one of {FONTS + MONO_FONTS}"


def _fc_has(family: str) -> bool:
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, check=False).stdout
    return any(family.lower() == name.strip().lower() for line in out.splitlines() for name in line.split(","))


def test_mono_text_draws_one_glyph_per_letter(page, predictor):
    """A font without a precomposed Vietnamese letter makes chromium draw base + combining marks
    instead: more glyphs than characters, and the stacked marks land in the wrong place."""
    analyse(page, SPORTS_TEXT, predictor.predict(SPORTS_TEXT).type.label)
    expect(page.get_by_role("gridcell").first).to_be_visible()
    rows = _platform_fonts(page, '[data-testid="label"] dt, [role="gridcell"] span.text')
    assert any(text == SPORTS_LABEL for text, _ in rows)
    bad = {text: sum(f["glyphCount"] for f in fonts) for text, fonts in rows
           if sum(f["glyphCount"] for f in fonts) != len(text)}
    assert not bad, f"letters drawn decomposed ({{text: glyphs drawn}}): {bad}"


def _platform_fonts(page, selector: str) -> list[tuple[str, list[dict]]]:
    """(text, fonts chromium used to draw it) for each element matching ``selector``, via CDP."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        out = []
        for node_id in cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})["nodeIds"]:
            try:
                cdp.send("DOM.getBoxModel", {"nodeId": node_id})
            except sync_api.Error:  # not rendered (e.g. in a hidden tab)
                continue
            text = cdp.send("Runtime.callFunctionOn", {
                "objectId": cdp.send("DOM.resolveNode", {"nodeId": node_id})["object"]["objectId"],
                "functionDeclaration": "function() { return this.textContent; }", "returnByValue": True,
            })["result"]["value"]
            out.append((text, cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node_id})["fonts"]))
        return out
    finally:
        cdp.detach()


# --- a transformer bundle ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def transformer_predictor(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformer_helpers import tiny_transformer_bundle

    from model.predictor import Predictor

    return Predictor.load(tiny_transformer_bundle(tmp_path_factory))


@pytest.fixture(scope="module")
def transformer_url(transformer_predictor, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("NEWSLENS_HOME", str(tmp_path_factory.mktemp("transformer-home")))  # the corrections count reads it
    try:
        yield from serve(transformer_predictor)
    finally:
        mp.undo()


@pytest.fixture
def transformer_page(browser, transformer_url):
    yield from open_page(browser, transformer_url)


def test_transformer_bundle_analyses_in_the_browser(transformer_page, transformer_predictor):
    """A tiny random transformer bundle serves like any other: the page analyses an article with it."""
    page = transformer_page
    expected = transformer_predictor.predict(SPORTS_TEXT).type.label
    expect(page.get_by_label("Article", exact=True).filter(visible=True)).to_be_editable()
    wait_for_idle_queue(page)
    analyse(page, SPORTS_TEXT, expected)
    message = page.get_by_test_id("markdown").filter(has_text="topics:").filter(visible=True)
    expect(message).to_contain_text("(transformer, onnx-int8)")  # the runtime that answered
    expect(message).to_contain_text(expected)
    # The Corrections tab starts from the transformer's answer, with its own labels.
    open_tab(page, "Corrections")
    page.get_by_role("button", name="Start from the model's answer", exact=True).click()
    expect(page.get_by_label("Correct type").filter(visible=True)).to_have_value(expected)
    page.screenshot(path=str(ARTIFACTS / "transformer_corrections.png"), full_page=True)


def test_transformer_bundle_predict_api(transformer_url, transformer_predictor):
    gradio_client = pytest.importorskip("gradio_client")

    client = gradio_client.Client(transformer_url, verbose=False)
    result = json.loads(client.predict(SPORTS_TEXT, api_name="/predict"))
    assert result["model"]["kind"] == "transformer"
    assert result["model"]["path"] == Path(transformer_predictor.info.path).name  # no server folder
    assert result["type"]["label"] == transformer_predictor.predict(SPORTS_TEXT).type.label
    assert result["type"]["label"] in transformer_predictor.labels.types
