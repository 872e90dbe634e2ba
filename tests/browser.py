"""Debian's Chromium driven by Playwright (no browser download: executable_path)."""

import contextlib
import shutil

from tests.conftest import require_system

CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium keeps trying to reach Google services that this
# closed network refuses, and startup gets slow and noisy.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium_page():
    require_system(shutil.which("chromium") is not None, "Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(locale="fr-FR", viewport={"width": 1366, "height": 768})
            page = context.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            yield page, problems
        finally:
            browser.close()
