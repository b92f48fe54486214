#!/usr/bin/env python3
"""Opens `archiver report --format html`'s page in headless Chromium with the
network blocked and prints what it shows, as JSON on stdout:

  {"verdicts": {verdict: count shown}, "changes": {change: count},
   "runs": [data-run of every point of the health chart],
   "failing": [every URL listed as failing or recovered, all pages],
   "failure_rows": [{"url", "at", "verdict", "history", "copy", "note", "note_href"}],
   "gallery": [{"kind", "text", "href"}], "images": [{"src", "loaded"}],
   "text": the page's text, "outside": [requests blocked], "inside": [files read
   under ROOT], "dialogs": [...], "console_errors": [...], "errors": [...],
   "load_ms": time to the load event, "focusable": controls reached by Tab}

Usage: report_page.py FILE [ROOT] [--screenshots PREFIX] [--timing]
  ROOT: the folder requests may read (default: the file's folder).
  --screenshots PREFIX: also writes PREFIX-light.png and PREFIX-dark.png.
  --timing: only opens the page and prints {"load_ms": …}.
Needs Debian's chromium (or CHROMIUM=/path) and PyPI's playwright; exits 3 when
either is missing, so callers can say they skipped.
"""
import json
import pathlib
import sys

from harness import SCROLL_THROUGH, chromium, keep_inside


def args():
    rest, shots, timing = [], None, False
    it = iter(sys.argv[1:])
    for a in it:
        if a == "--screenshots":
            shots = next(it)
        elif a == "--timing":
            timing = True
        else:
            rest.append(a)
    page = pathlib.Path(rest[0]).resolve()
    root = pathlib.Path(rest[1]).resolve() if len(rest) > 1 else page.parent
    return page, root, shots, timing


def open_page(browser, page_path, root, scheme, record):
    context = browser.new_context(offline=True, color_scheme=scheme,
                                  viewport={"width": 1200, "height": 900})
    keep_inside(context, page_path, root, record["inside"], record["outside"])
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and record["console_errors"].append(m.text))
    page.on("pageerror", lambda e: record["errors"].append(str(e)))

    def dialog(d):
        record["dialogs"].append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    page.goto(page_path.as_uri(), wait_until="load")
    return context, page


def read(page, record):
    record["load_ms"] = page.evaluate(
        "() => performance.getEntriesByType('navigation')[0].loadEventEnd")
    record["verdicts"] = page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('[data-verdict]'))
              .map(e => [e.dataset.verdict, Number(e.textContent.trim())]))""")
    record["changes"] = page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('[data-change]'))
              .map(e => [e.dataset.change, Number(e.textContent.trim())]))""")
    record["runs"] = page.evaluate(
        "() => Array.from(document.querySelectorAll('#health-chart [data-run]')).map(e => e.dataset.run)")
    # Every page of the failures, by the Next button.
    rows = []
    while True:
        rows += page.evaluate(
            """() => Array.from(document.querySelectorAll('#failure-list tr.failure')).map(tr => ({
                  url: tr.querySelector('.url').textContent,
                  at: tr.querySelector('.at').textContent,
                  verdict: tr.querySelector('.verdict').textContent,
                  history: tr.querySelector('[class*=h-]').className.replace('badge h-', ''),
                  history_words: tr.querySelector('[class*=h-]').textContent,
                  copy: tr.querySelector('td:last-child a')?.getAttribute('href') ?? null,
                  note: tr.closest('section.note').querySelector('h3').textContent,
                  note_href: tr.closest('section.note').querySelector('h3 a')?.getAttribute('href') ?? null,
              }))""")
        nxt = page.locator("#failure-pager button", has_text="Next")
        if nxt.count() == 0 or nxt.is_disabled() or not nxt.is_visible():
            break
        nxt.click()
    record["failure_rows"] = rows
    record["failing"] = sorted({r["url"] for r in rows})
    record["gallery"] = page.evaluate(
        """() => Array.from(document.querySelectorAll('#gallery-list li')).map(li => ({
              kind: li.className.replace('item ', ''), text: li.textContent,
              href: li.querySelector('a')?.getAttribute('href') ?? null}))""")
    # Lazy thumbnails load as they scroll into view.
    page.evaluate(SCROLL_THROUGH)
    page.wait_for_load_state("load")
    page.wait_for_timeout(200)
    record["images"] = page.evaluate(
        """() => Array.from(document.images).map(i => ({
            src: i.getAttribute('src'), loaded: i.complete && i.naturalWidth > 0}))""")
    record["text"] = page.evaluate("() => document.body.innerText")
    record["title"] = page.title()
    # The controls a keyboard reaches.
    page.evaluate("() => window.scrollTo(0, 0)")
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(page.evaluate(
            "() => { const e = document.activeElement; return e ? (e.id || e.tagName + ':' + (e.textContent || e.value || '').trim().slice(0, 20)) : '' }"))
    record["focusable"] = sorted(reached)


def main() -> int:
    executable = chromium()
    if not executable:
        return 3
    from playwright.sync_api import sync_playwright

    page_path, root, shots, timing = args()
    record = {"outside": [], "inside": [], "dialogs": [], "console_errors": [], "errors": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        context, page = open_page(browser, page_path, root, "light", record)
        if timing:
            record["load_ms"] = page.evaluate(
                "() => performance.getEntriesByType('navigation')[0].loadEventEnd")
            json.dump({"load_ms": record["load_ms"], "outside": record["outside"],
                       "errors": record["errors"]}, sys.stdout)
            browser.close()
            return 0
        read(page, record)
        context.close()
        if shots:
            for scheme in ("light", "dark"):
                context, page = open_page(browser, page_path, root, scheme, record)
                # Through the page and back, so the lazy thumbnails are there.
                page.evaluate(SCROLL_THROUGH)
                page.evaluate("() => window.scrollTo(0, 0)")
                page.wait_for_timeout(300)
                height = min(page.evaluate("() => document.body.scrollHeight"), 4400)
                page.screenshot(path=f"{shots}-{scheme}.png", full_page=True,
                                clip={"x": 0, "y": 0, "width": 1200, "height": height})
                context.close()
        browser.close()
    record["inside"] = sorted(set(record["inside"]))
    json.dump(record, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
