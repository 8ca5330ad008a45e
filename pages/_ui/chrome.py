"""The one place the app adds CSS and browser behaviour of its own: a small `st.components.v2`
component mounted once per run at the end of the sidebar (app.py). It carries no data at all, so
nothing a user typed ever reaches it.

- Narrow screens (Streamlit's own breakpoint, below 768 px): Streamlit closes the sidebar after a
  page link is chosen only when the browser's user agent says "mobile" (its `isMobile()`); a narrow
  window, a tablet or a phone asking for the desktop site kept the sidebar open over the page. The
  script here closes it after any link in the sidebar, with Streamlit's own collapse button, when
  it is still open once Streamlit has handled the click (so a mobile browser never toggles twice).
- Touch and narrow screens: Streamlit's keyboard hints ("Press Enter to apply", "Press Ctrl+Enter
  to submit form") are hidden, as are ours (containers keyed `…_keyshint`).
- Narrow screens: the log form's "More details" (a container keyed `…_moredetails`) moves below
  its Save button (the overlap panel is just above Save), so a call is saved without
  scrolling past the extended parts; on wider screens the order is the page's own.
- Streamlit's file uploader speaks only English ("Drag and drop files here", "Limit … per file",
  "Upload"): its texts are hidden and ours, translated, are shown instead (pickers around
  `st.file_uploader` in containers keyed `…_uploader`; see `uploader_hint`)."""

from __future__ import annotations

import json

import streamlit as st

NARROW = "(max-width: 767.98px)"  # Streamlit's `md` breakpoint (768 px), as its sidebar measures it
TOUCH = "(hover: none) and (pointer: coarse)"

CSS = f"""
@media {NARROW}, {TOUCH} {{
  [data-testid="InputInstructions"], [class*="_keyshint"] {{ display: none !important; }}
}}
@media {NARROW} {{
  [data-testid="stLayoutWrapper"]:has(> [class*="_moredetails"]) {{ order: 10; }}
  [data-testid="stMainBlockContainer"] {{ padding-top: 4.5rem; }}
}}
[class*="_uploader"] [data-testid="stFileUploaderDropzoneInstructions"],
[class*="_uploader"] [data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] span,
[class*="_uploader"] [data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] p {{
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
  document.addEventListener("click", (event) => {{
    const link = event.target instanceof Element ? event.target.closest('[data-testid="stSidebar"] a[href]') : null;
    if (!link || !window.matchMedia({json.dumps(NARROW)}).matches) return;
    // after Streamlit has handled the click (on a mobile user agent it closes the sidebar itself)
    setTimeout(() => {{
      const sidebar = document.querySelector('[data-testid="stSidebar"]');
      if (!sidebar || sidebar.getAttribute("data-collapsed") !== "false") return;
      const collapse = sidebar.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (collapse) collapse.click();
    }}, 0);
  }});
}}
"""

_CHROME = st.components.v2.component("crm_chrome", js=JS)


def mount() -> None:
    """Add the app's CSS and narrow-screen behaviour (once per run, in the sidebar)."""
    _CHROME(key="crm_chrome", height=0)
