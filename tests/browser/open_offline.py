#!/usr/bin/env python3
"""Opens a local HTML file in headless Chromium with the network blocked and
prints what a reader would see, as JSON on stdout:

  {"title": …, "text": …, "images": [{"src": …, "loaded": bool}],
   "outside": [every request that left the folder tree, blocked],
   "inside": [every file asked for within it, relative to ROOT],
   "console": [console messages], "errors": [page errors]}

Usage: open_offline.py FILE [ROOT] [NAME]   (ROOT: the folder requests may read;
default the file's folder). With ARCHIVER_SCREENSHOTS=DIR in the environment and a
NAME, the whole page is also saved as DIR/NAME.png, as a reader sees it. Needs Debian's chromium (or CHROMIUM=/path) and PyPI's
playwright; exits 3 when either is missing, so callers can say they skipped.
"""
import json
import os
import pathlib
import shutil
import sys


def main() -> int:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright is not installed (pip install playwright)", file=sys.stderr)
        return 3
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 3
    page_path = pathlib.Path(sys.argv[1]).resolve()
    root = pathlib.Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else page_path.parent
    root_url = root.as_uri() + "/"
    outside, inside, console, errors = [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        # Scripts of the harness itself must run whatever the page's policy says.
        context = browser.new_context(bypass_csp=True, offline=True)
        page = context.new_page()

        def route(r):
            url = r.request.url
            if url.startswith(root_url) or url.startswith("data:") or url == page_path.as_uri():
                if url.startswith(root_url):
                    inside.append(url[len(root_url):])
                r.continue_()
            else:
                outside.append(url)
                r.abort()

        context.route("**/*", route)
        page.on("console", lambda m: console.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.as_uri(), wait_until="load")
        # Lazy images load as they scroll into view: scroll through the page.
        page.evaluate(
            """async () => {
                for (let y = 0; y < document.body.scrollHeight; y += 400) {
                    window.scrollTo(0, y);
                    await new Promise(r => setTimeout(r, 20));
                }
            }"""
        )
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
