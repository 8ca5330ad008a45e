"""The one place the app adds CSS and browser behaviour of its own: a small `st.components.v2`
component mounted once per run at the end of the sidebar (app.py). Its only data are the texts
below from the app's own catalog, so nothing a user typed ever reaches it.

- Narrow screens (Streamlit's own breakpoint, below 768 px): Streamlit closes the sidebar after a
  page link is chosen only when the browser's user agent says "mobile" (its `isMobile()`); a narrow
  window, a tablet or a phone asking for the desktop site kept the sidebar open over the page. The
  script here closes it after any link in the sidebar, with Streamlit's own collapse button, when
  it is still open once Streamlit has handled the click (so a mobile browser never toggles twice),
  and when a dialog closes (the sidebar's "Log a call"), so that the page is what shows then.
- Touch and narrow screens: Streamlit's keyboard hints ("Press Enter to apply", "Press Ctrl+Enter
  to submit form") are hidden, as are ours (containers keyed `…_keyshint`).
- Narrow screens: the log form's "More details" (a container keyed `…_moredetails`) moves below
  its Save button (the overlap panel is just above Save), so a call is saved without
  scrolling past the extended parts; on wider screens the order is the page's own.
- Streamlit's file uploader speaks only English ("Drag and drop files here", "Limit … per file",
  "Upload"), with no locale option in Streamlit 1.67: its texts are hidden and ours, translated,
  shown under it (`uploader`, a container keyed `…_uploader` around `st.file_uploader`).
- Streamlit's own English texts that have no option to change them in 1.67 speak the user's
  language: the "Skip to main content" link, the "Page not found" message (a mistyped address),
  the uploader's "File must be … or smaller." and "… files are not allowed.", the emptied date
  box's "yyyy" (rrrr in Polish) and its "Choose date" button. The script rewrites them where they appear (`TEXTS`); what it
  cannot reach is listed in the README (Streamlit's connection and error screens).
- Lists: a page draws a wide table in a container keyed `…_onwide` and, on a narrow screen, the
  same rows as cards in one keyed `…_onphone` (pages/_ui/cards.py); narrow screens show the
  cards, wider ones the table, so no list scrolls sideways on a phone. The server cannot see the
  window, so the script reports whether it is narrow (state `narrow`, sent only when it differs
  from what the server last knew, `data.narrow`, and when the window crosses the breakpoint):
  the cards are drawn only for a narrow window, not hidden on every wide one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import streamlit as st

from pages._ui import core as ui

NARROW = "(max-width: 767.98px)"  # Streamlit's `md` breakpoint (768 px), as its sidebar measures it
WIDE = "(min-width: 768px)"
TOUCH = "(hover: none) and (pointer: coarse)"

CSS = f"""
@media {NARROW}, {TOUCH} {{
  [data-testid="InputInstructions"], [class*="_keyshint"] {{ display: none !important; }}
}}
@media {NARROW} {{
  [data-testid="stLayoutWrapper"]:has(> [class*="_moredetails"]) {{ order: 10; }}
  [data-testid="stMainBlockContainer"] {{ padding-top: 4.5rem; }}
  [class*="_onwide"], [data-testid="stLayoutWrapper"]:has(> [class*="_onwide"]) {{ display: none !important; }}
}}
@media {WIDE} {{
  [class*="_onphone"], [data-testid="stLayoutWrapper"]:has(> [class*="_onphone"]) {{ display: none !important; }}
}}
[class*="_uploader"] [data-testid="stFileUploaderDropzoneInstructions"],
[class*="_uploader"] [data-testid="stFileUploaderDropzone"] [data-testid="stMarkdownContainer"],
[class*="_uploader"] [data-testid="stFileUploaderDropzone"] > div:not(:has(button)):not(:has(input)) {{
  display: none !important;
}}
"""

# Streamlit's texts (as its frontend writes them) and the catalog key that replaces each; a
# `{x}` of the key is the part the pattern captured
TEXTS = {
    "skip": "chrome.skip",
    "not_found_title": "chrome.not_found_title",
    "not_found": "chrome.not_found",
    "not_found_any": "chrome.not_found_any",
    "error": "chrome.error",
    "too_large": "chrome.file_too_large",
    "wrong_type": "chrome.file_wrong_type",
    "year_letter": "chrome.year_letter",
    "choose_date": "chrome.choose_date",
}

JS = f"""
const PATTERNS = [
  [/^Page not found$/, "not_found_title"],
  [/^You have requested page \\/(.*), but no corresponding file was found in the app's pages\\/ directory\\. Running the app's main page\\.$/, "not_found"],
  [/^The page that you have requested does not seem to exist\\. Running the app's main page\\.$/, "not_found_any"],
  [/^Error:$/, "error"],
  [/^File must be (.*) or smaller\\.$/, "too_large"],
  [/^(.*) files are not allowed\\.$/, "wrong_type"],
];
function speak() {{
  const texts = window.__crmTexts || {{}};
  for (const link of document.querySelectorAll('[data-testid="stSkipToContent"]')) {{
    if (texts.skip && link.textContent !== texts.skip) link.textContent = texts.skip;
  }}
  const places = document.querySelectorAll('[role="dialog"], [data-testid="stFileUploader"], [data-baseweb="modal"]');
  for (const place of places) {{
    const walker = document.createTreeWalker(place, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {{
      const text = node.nodeValue.trim();
      for (const [pattern, key] of PATTERNS) {{
        const found = texts[key] && text.match(pattern);
        if (found) {{
          const [lead, tail] = [node.nodeValue.match(/^\\s*/)[0], node.nodeValue.match(/\\s*$/)[0]];
          node.nodeValue = lead + texts[key].replace("{{x}}", found[1] || "") + tail;
        }}
      }}
    }}
  }}
  const letter = texts.year_letter;
  if (letter) {{
    // an emptied date box shows its segments' placeholders (dd.mm.yyyy): the year's letter is
    // the language's (rrrr in Polish); the text node is changed in place, as React keeps it
    for (const segment of document.querySelectorAll('[data-testid="stDateInput"] [data-type="year"][data-placeholder]')) {{
      const node = segment.firstChild;
      if (!node || node.nodeType !== Node.TEXT_NODE) continue;
      const wanted = node.nodeValue.replace(/y/g, letter.toLowerCase()).replace(/Y/g, letter.toUpperCase());
      if (node.nodeValue !== wanted) node.nodeValue = wanted;
    }}
  }}
  for (const button of document.querySelectorAll('[data-testid="stDateInputCalendarButton"]')) {{
    if (texts.choose_date && button.getAttribute("aria-label") !== texts.choose_date) {{
      button.setAttribute("aria-label", texts.choose_date);
    }}
  }}
}}
export default function (component) {{
  const data = (component && component.data) || {{}};
  window.__crmTexts = data.texts || {{}};
  window.__crmComponent = component;
  speak();
  const narrowNow = window.matchMedia({json.dumps(NARROW)}).matches;
  if (component && data.narrow !== narrowNow) component.setStateValue("narrow", narrowNow);
  if (window.__crmChrome) return;
  window.__crmChrome = true;
  let queued = false;
  new MutationObserver(() => {{
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {{ queued = false; speak(); }});
  }}).observe(document.body, {{ childList: true, subtree: true, characterData: true }});
  const style = document.createElement("style");
  style.setAttribute("data-crm-chrome", "");
  style.textContent = {json.dumps(CSS)};
  document.head.appendChild(style);
  const narrow = window.matchMedia({json.dumps(NARROW)});
  narrow.addEventListener("change", () => {{
    const last = window.__crmComponent;
    if (last) last.setStateValue("narrow", narrow.matches);
  }});
  const closeSidebar = () => {{
    const sidebar = document.querySelector('[data-testid="stSidebar"]');
    if (!narrow.matches || !sidebar || sidebar.getAttribute("data-collapsed") !== "false") return;
    const collapse = sidebar.querySelector('[data-testid="stSidebarCollapseButton"] button');
    if (collapse) collapse.click();
  }};
  document.addEventListener("click", (event) => {{
    const link = event.target instanceof Element ? event.target.closest('[data-testid="stSidebar"] a[href]') : null;
    // after Streamlit has handled the click (on a mobile user agent it closes the sidebar itself)
    if (link) setTimeout(closeSidebar, 0);
  }});
  // a dialog closed (the sidebar's "Log a call") on a narrow screen shows the page, not the
  // sidebar; closed only then, as hiding the sidebar under an open dialog takes its focus away
  let dialogOpen = false;
  new MutationObserver(() => {{
    const open = document.querySelector('body > [data-testid="stDialog"]') !== null;
    if (dialogOpen && !open) closeSidebar();
    dialogOpen = open;
  }}).observe(document.body, {{ childList: true }});
}}
"""

_CHROME = st.components.v2.component("crm_chrome", js=JS)


def mount() -> None:
    """Add the app's CSS, narrow-screen behaviour and Streamlit's texts in the user's language
    (once per run, in the sidebar)."""
    f = ui.fmt()
    result = _CHROME(
        key="crm_chrome",
        height=0,
        data={"texts": {name: f.t(key) for name, key in TEXTS.items()}, "narrow": ui.narrow_screen()},
        on_narrow_change=lambda: None,
    )
    reported = result.get("narrow") if result is not None else None
    if isinstance(reported, bool):  # the browser's word, taken only as a yes or a no
        st.session_state[ui.NARROW_KEY] = reported


def uploader(
    label: str, *, key: str, max_mb: int | None = None, types: Sequence[str] | None = None, **options: Any
) -> Any:
    """`st.file_uploader` with our own hint in the user's language (what to do, the limit, the
    types) in place of Streamlit's English dropzone texts, which the CSS above hides. Without
    `max_mb` the server's limit (`server.maxUploadSize`) applies and is shown."""
    f = ui.fmt()
    key_name = "upload.hint" if options.get("accept_multiple_files") else "upload.hint_one"
    hint = f.t(key_name, limit=f.number(max_mb or st.get_option("server.maxUploadSize")))
    if types:
        hint += " · " + ", ".join(t.upper() for t in types)
    with st.container(key=f"{key}_uploader", gap=None):
        files = st.file_uploader(label, type=types, key=key, max_upload_size=max_mb, **options)
        st.caption(hint)
    return files
