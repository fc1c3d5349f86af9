"""What the browser test and bench/browser.py both need to drive the app in Chromium."""
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")  # Debian's chromium package
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]

# True once the "Article type" label shows ``expected``; stamps the first frame that shows it
# (in window.__nlDone), so a caller can time click -> result with the page's own clock.
LABEL_SHOWN = """([expected]) => {
    const el = [...document.querySelectorAll('[data-testid="label"]')]
        .find(b => b.querySelector('[data-testid="block-label"]')?.textContent.includes('Article type'));
    const out = el?.querySelector('[data-testid="label-output-value"]');
    if (!out || out.textContent.trim() !== expected) return false;
    window.__nlDone ??= performance.now();
    return true;
}"""
