#!/usr/bin/env python3
"""Opens a local HTML file in headless Chromium with the network blocked and
prints what a reader would see, as JSON on stdout:

  {"title": …, "text": …, "images": [{"src": …, "loaded": bool}],
   "outside": [every request that left the folder tree, blocked],
   "inside": [every file asked for within it, relative to ROOT],
   "console": [console messages], "errors": [page errors]}

Usage: open_offline.py FILE [ROOT] [NAME]   (ROOT: the folder requests may read;
default the file's folder). With ARCHIVER_SCREENSHOTS=DIR in the environment and a
NAME, the whole page is also saved as DIR/NAME.png, as a reader sees it. Needs
Debian's chromium (or CHROMIUM=/path) and PyPI's playwright; exits 3 when either
is missing, so callers can say they skipped.
"""
import json
import os
import pathlib
import sys

from harness import SCROLL_THROUGH, chromium, keep_inside


def main() -> int:
    executable = chromium()
    if not executable:
        return 3
    from playwright.sync_api import sync_playwright

    page_path = pathlib.Path(sys.argv[1]).resolve()
    root = pathlib.Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else page_path.parent
    outside, inside, console, errors = [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        # Scripts of the harness itself must run whatever the page's policy says.
        context = browser.new_context(bypass_csp=True, offline=True)
        keep_inside(context, page_path, root, inside, outside)
        page = context.new_page()
        page.on("console", lambda m: console.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.as_uri(), wait_until="load")
        # Lazy images load as they scroll into view: scroll through the page.
        page.evaluate(SCROLL_THROUGH)
        page.wait_for_load_state("load")
        shots = os.environ.get("ARCHIVER_SCREENSHOTS")
        if shots and len(sys.argv) > 3:
            page.evaluate("() => window.scrollTo(0, 0)")
            page.screenshot(path=str(pathlib.Path(shots) / f"{sys.argv[3]}.png"), full_page=True)
        images = page.evaluate(
            """() => Array.from(document.images).map(i => ({
                src: i.getAttribute('src'),
                loaded: i.complete && i.naturalWidth > 0,
            }))"""
        )
        result = {
            "title": page.title(),
            "text": page.evaluate("() => document.body ? document.body.innerText : ''"),
            "images": images,
            "outside": outside,
            "inside": sorted(set(inside)),
            "console": console,
            "errors": errors,
        }
        browser.close()
    json.dump(result, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
