"""Presenting Meeting mode on a projector: a small `st.components.v2` component that, while
presenting, hides the sidebar and Streamlit's header, widens the page to the screen and enlarges
the type, and turns the arrow keys (and Page Up / Page Down, what a presenter's clicker sends)
into "previous" and "next" section. Its data are a flag; what it sends back is a step, -1 or 1,
taken only as one of those two."""

from __future__ import annotations

import json

import streamlit as st

CSS = """
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
[data-testid="stExpandSidebarButton"] { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 1.5rem 3rem 2rem !important; }
[data-testid="stMain"] { font-size: 1.35rem; }
[data-testid="stMarkdownContainer"] p, [data-testid="stCaptionContainer"] { font-size: 1.25rem; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] p { font-size: 3.4rem !important; line-height: 1.15; }
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] p { font-size: 1.35rem !important; }
[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] p { font-size: 1.2rem !important; }
[data-testid="stHeadingWithActionElements"] h2 { font-size: 2.4rem; }
"""

JS = f"""
const KEYS = {{ ArrowRight: 1, ArrowDown: 1, PageDown: 1, ArrowLeft: -1, ArrowUp: -1, PageUp: -1 }};
export default function (component) {{
  const on = Boolean(component && component.data && component.data.on);
  window.__crmPresent = component;
  let style = document.head.querySelector("style[data-crm-present]");
  if (on && !style) {{
    style = document.createElement("style");
    style.setAttribute("data-crm-present", "");
    style.textContent = {json.dumps(CSS)};
    document.head.appendChild(style);
  }} else if (!on && style) {{
    style.remove();
  }}
  window.__crmPresentOn = on;
  if (window.__crmPresentKeys) return;
  window.__crmPresentKeys = true;
  document.addEventListener("keydown", (event) => {{
    if (!window.__crmPresentOn || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    // keys typed into a field, a box or a grid are theirs
    if (target instanceof Element && target.closest('input, textarea, select, [contenteditable], [role="grid"], [role="listbox"], [role="combobox"], [role="spinbutton"], [role="slider"]')) return;
    const step = KEYS[event.key];
    if (!step || !window.__crmPresent) return;
    event.preventDefault();
    window.__crmPresent.setTriggerValue("step", step);
  }});
}}
"""

_PRESENT = st.components.v2.component("crm_present", js=JS)


def mount(on: bool, key: str) -> int:
    """Present (or stop presenting) and return the step a key asked for in this run: -1, 1 or 0."""
    result = _PRESENT(key=key, height=0, data={"on": on}, on_step_change=lambda: None)
    step = result.get("step") if result is not None else None
    return step if step in (-1, 1) and not isinstance(step, bool) else 0
