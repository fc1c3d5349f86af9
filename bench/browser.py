"""What an editor waits for in the browser: click Analyse -> the article type shows.

    python bench/browser.py                        # the default model (model.paths.default_model_dir())
    python bench/browser.py --model models/bench-baseline

Launches the app in-process with a real model (as ``newslens serve --model DIR`` would: same
queue, theme and CSS), opens it in headless Chromium (Debian's /usr/bin/chromium, the launch
arguments of tests/test_browser.py), pastes the example article and measures click-to-type-label
time over 1 cold run (the first Analyse of a fresh server and page, after the page's on-load
events) and 5 warm runs (Clear between runs, the same article pasted again). Times are taken in
the page with its own clock: the click by a capturing listener, the result on the first
animation frame that shows the type label. Prints them, writes bench/results/browser.json and
saves a screenshot of the Analyse tab with the result to serve/screenshot.png (1280 px wide,
device scale factor 1, full page, kept under ~500 KB).

``--screenshot-scale 2`` takes the screenshot at device scale factor 2 instead (in a second page,
untimed) and shrinks it to 1280 px wide: at scale 1 chromium hints the tilde of the big bold
"Xã" in the type label nearly flat, so that it reads as "Xā"; supersampled, it is a tilde.
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import RESULTS, write_report  # noqa: E402
from tests.browser_page import CHROMIUM, CHROMIUM_ARGS, LABEL_SHOWN  # noqa: E402

EXAMPLE_ARTICLE = REPO.parent / "shared" / "examples" / "seed_article_ninhthuan.txt"
SCREENSHOT = REPO / "serve" / "screenshot.png"
MAX_PNG_BYTES = 500_000
TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1280, "height": 900}


def wait_for_idle_queue(page, streams: set, settle_ms: int = 300) -> None:
    """Until no gradio event stream (/queue/data) has been open for ``settle_ms``."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    quiet_since = None
    while time.monotonic() < deadline:
        if streams:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= settle_ms / 1000:
            return
        page.wait_for_timeout(50)
    raise RuntimeError(f"gradio events still running after {TIMEOUT_MS} ms")


def analyse_once(page, expect, text: str, expected: str) -> dict:
    """Paste, click Analyse, wait for the type label. Click-to-label seconds (page clock) and more."""
    article = page.get_by_label("Article", exact=True).filter(visible=True)
    expect(article).to_be_editable()
    article.fill(text)
    button = page.get_by_role("button", name="Analyse", exact=True)
    expect(button).to_be_enabled()
    button.evaluate("b => b.addEventListener('click', () => {"
                    " window.__nlClick = performance.now(); window.__nlDone = undefined; },"
                    " {capture: true, once: true})")
    wall = time.perf_counter()
    button.click()
    page.wait_for_function(LABEL_SHOWN, arg=[expected], polling="raf", timeout=TIMEOUT_MS)
    wall = time.perf_counter() - wall
    seconds = page.evaluate("() => (window.__nlDone - window.__nlClick) / 1000")
    # The message line says how long the model itself took ("· 12 ms ·").
    message = page.get_by_test_id("markdown").filter(has_text="topics:").filter(visible=True)
    expect(message).to_contain_text(expected)
    found = re.search(r"·\s*([\d.,]+)\s*ms\s*·", message.inner_text())
    return {"click_to_label_s": seconds, "wall_s": wall,
            "model_ms": float(found.group(1).replace(",", "")) if found else None}


def save_png(png: bytes, path: Path, width: int = VIEWPORT["width"], limit: int = MAX_PNG_BYTES) -> dict:
    """Write ``png`` ``width`` pixels wide, optimized; quantized to a 256-colour palette if it is
    still over ``limit``."""
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    image.load()
    if image.width != width:  # a supersampled screenshot
        image = image.convert("RGB").resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    quantized = False
    if out.tell() > limit:
        out = io.BytesIO()
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            out, format="PNG", optimize=True)
        quantized = True
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return {"path": str(path), "bytes": out.tell(), "size": list(image.size), "quantized": quantized}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="bundle folder (default: model.paths.default_model_dir())")
    parser.add_argument("--article", default=str(EXAMPLE_ARTICLE), help="article text file to paste (default: %(default)s)")
    parser.add_argument("--warm", type=int, default=5, help="warm runs after the cold one (default: %(default)s)")
    parser.add_argument("--out", default=str(RESULTS / "browser.json"))
    parser.add_argument("--screenshot", default=str(SCREENSHOT))
    parser.add_argument("--screenshot-scale", type=int, default=1, choices=(1, 2, 3),
                        help="device scale factor of the screenshot, shrunk back to 1280 px wide (default: %(default)s)")
    args = parser.parse_args()

    if not CHROMIUM.exists():
        parser.error(f"{CHROMIUM} is missing: install Debian's chromium package (never `playwright install`)")
    article_path = Path(args.article)
    if not article_path.is_file():
        parser.error(f"article file {article_path} is missing")
    text = article_path.read_text(encoding="utf-8")

    import gradio as gr
    from playwright.sync_api import expect, sync_playwright

    from model.paths import default_model_dir
    from model.predictor import Predictor
    from serve.app import CSS, build_app, theme
    from serve.documents import MAX_UPLOAD_BYTES

    model_dir = Path(args.model) if args.model else default_model_dir()
    start = time.perf_counter()
    predictor = Predictor.load(model_dir)
    load_s = time.perf_counter() - start
    expected = predictor.predict(text).type.label
    print(f"model {model_dir} ({predictor.info.name} {predictor.info.version}) loaded in {load_s:.2f} s; "
          f"expected type for {article_path.name}: {expected}")

    demo = build_app(predictor)
    demo.queue(default_concurrency_limit=4, max_size=64)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True,
                            theme=theme(), css=CSS, max_file_size=MAX_UPLOAD_BYTES)
    expect.set_options(timeout=TIMEOUT_MS)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
                context.set_default_timeout(TIMEOUT_MS)
                page = context.new_page()
                streams: set = set()
                page.on("request", lambda r: "/queue/data" in r.url and streams.add(r))
                for done in ("requestfinished", "requestfailed"):
                    page.on(done, lambda r: streams.discard(r))
                t0 = time.perf_counter()
                page.goto(url, wait_until="domcontentloaded")
                expect(page.get_by_label("Article", exact=True).filter(visible=True)).to_be_editable()
                page_ready_s = time.perf_counter() - t0
                wait_for_idle_queue(page, streams)  # the Model tab's on-load event: a click now would wait for it
                page_idle_s = time.perf_counter() - t0

                runs = [analyse_once(page, expect, text, expected)]
                type_block = page.get_by_test_id("label").filter(
                    has=page.get_by_test_id("block-label").filter(has_text="Article type"))
                output = type_block.get_by_test_id("label-output-value")
                for _ in range(args.warm):
                    page.get_by_role("button", name="Clear", exact=True).click()
                    expect(output).to_have_count(0)
                    runs.append(analyse_once(page, expect, text, expected))

                if args.screenshot_scale != 1:  # a second page, untimed, at that scale
                    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=args.screenshot_scale)
                    context.set_default_timeout(TIMEOUT_MS)
                    page = context.new_page()
                    page.goto(url, wait_until="domcontentloaded")
                    analyse_once(page, expect, text, expected)
                page.mouse.move(0, 0)  # no hover effects in the picture
                page.evaluate("() => window.scrollTo(0, 0)")
                shot = save_png(page.screenshot(full_page=True, animations="disabled"), Path(args.screenshot))
                shot["device_scale_factor"] = args.screenshot_scale
                chromium_version = browser.version
            finally:
                browser.close()
    finally:
        demo.close()

    cold, warm = runs[0], runs[1:]
    warm_s = [r["click_to_label_s"] for r in warm]
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "chromium": chromium_version, "gradio": gr.__version__},
        "model": str(model_dir), "model_version": predictor.info.version, "model_load_s": round(load_s, 3),
        "article": str(article_path), "article_chars": len(text), "type_label": expected,
        "page_ready_s": round(page_ready_s, 3), "page_idle_s": round(page_idle_s, 3),
        "cold_click_to_type_label_s": round(cold["click_to_label_s"], 4),
        "warm_click_to_type_label_s": [round(s, 4) for s in warm_s],
        "warm_median_s": round(statistics.median(warm_s), 4) if warm_s else None,
        "runs": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in runs],
        "screenshot": shot,
    }
    print(f"page ready {page_ready_s * 1000:.0f} ms, on-load events done {page_idle_s * 1000:.0f} ms after goto")
    print(f"{'run':8} {'click→type label':>17} {'wall':>9} {'model':>9}")
    for i, r in enumerate(runs):
        model_ms = f"{r['model_ms']:.0f} ms" if r["model_ms"] is not None else "?"
        name = "cold" if i == 0 else f"warm {i}"
        print(f"{name:8} {r['click_to_label_s'] * 1000:14.0f} ms {r['wall_s'] * 1000:6.0f} ms {model_ms:>9}")
    if warm_s:
        print(f"warm median {statistics.median(warm_s) * 1000:.0f} ms "
              f"(min {min(warm_s) * 1000:.0f}, max {max(warm_s) * 1000:.0f})")
    print(f"screenshot {shot['path']}: {shot['size'][0]}x{shot['size'][1]}, {shot['bytes'] / 1000:.0f} KB"
          f"{' (quantized to 256 colours)' if shot['quantized'] else ''}")
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
