"""The one place the app adds CSS and browser behaviour of its own: a small `st.components.v2`
component mounted once per run at the end of the sidebar (app.py). It carries no data at all, so
nothing a user typed ever reaches it.

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
- Lists: a page draws a wide table in a container keyed `…_onwide` and the same rows as cards in
  one keyed `…_onphone` (pages/_ui/cards.py); narrow screens show the cards, wider ones the table,
  so no list scrolls sideways on a phone."""

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

JS = f"""
export default function () {{
  if (window.__crmChrome) return;
  window.__crmChrome = true;
  const style = document.createElement("style");
  style.setAttribute("data-crm-chrome", "");
  style.textContent = {json.dumps(CSS)};
  document.head.appendChild(style);
  const narrow = window.matchMedia({json.dumps(NARROW)});
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
    """Add the app's CSS and narrow-screen behaviour (once per run, in the sidebar)."""
    _CHROME(key="crm_chrome", height=0)


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
