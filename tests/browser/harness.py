"""What the browser scripts share: finding Debian's chromium and playwright,
keeping a page's requests inside one folder, and scrolling through a page so
its lazy images load."""
import os
import shutil
import sys

# Scrolls through the page, a screen at a time, so lazy images load.
SCROLL_THROUGH = """async () => {
    for (let y = 0; y < document.body.scrollHeight; y += 400) {
        window.scrollTo(0, y);
        await new Promise(r => setTimeout(r, 30));
    }
}"""


def chromium():
    """The path of chromium (CHROMIUM, or Debian's on PATH), once playwright is
    known to import; None, with the reason on stderr, when either is missing
    (the scripts then exit 3, so callers can say they skipped)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        print("playwright is not installed (pip install playwright)", file=sys.stderr)
        return None
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        print("chromium is not installed (apt-get install chromium)", file=sys.stderr)
    return found


def keep_inside(context, page_path, root, inside, outside):
    """Lets the context's pages read `page_path`, files under `root` (listed in
    `inside`, relative to it) and data: URLs; every other request is blocked
    and listed in `outside`."""
    root_url = root.as_uri() + "/"

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
