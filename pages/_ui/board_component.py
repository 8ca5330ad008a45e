"""The pipeline board's drag-and-drop component: our own `st.components.v2` component, inline
HTML/CSS/JS with no build step. Native HTML5 drag and drop moves a card between columns; every
card also has a "move to stage" menu (a native <select> and a Move button: keyboard and phone
friendly).

Everything it shows arrives as data and is drawn with `textContent` only (never innerHTML), so
a thread titled `<img onerror=...>` is shown as typed. It reports back through trigger values:
`move` {thread_id, stage_id, version}, `open` {thread_id}, `more` {stage_id}, `toggle` {stage_id}.
The page handles each in the run that follows; `rev` in the data changes after every move, so a
refused card is drawn back in its column."""

from __future__ import annotations

from typing import Any

import streamlit as st

CSS = """
:host { display: block; }
.crm-board { font-family: var(--st-font, sans-serif); color: var(--st-text-color, #31333f); }
.lanes { display: flex; gap: 0.6rem; overflow-x: auto; padding-bottom: 0.5rem; align-items: flex-start;
         scroll-snap-type: x proximity; }
.lane { flex: 1 0 9.5rem; max-width: 20rem; min-width: 0; background: var(--st-secondary-background-color, #f0f2f6);
        border-radius: 0.6rem; border: 2px solid transparent; display: flex; flex-direction: column;
        max-height: 75vh; scroll-snap-align: start; }
.lane.closed { flex: 0 0 6.5rem; }
.lane.closed.expanded { flex: 1 0 9.5rem; }
.lane.over { border-color: var(--st-primary-color, #ff4b4b); }
.lane.won .lane-head { border-top: 4px solid #21a366; }
.lane.lost .lane-head { border-top: 4px solid #d43c3c; }
.lane-head { padding: 0.5rem 0.6rem 0.4rem; border-radius: 0.6rem 0.6rem 0 0; }
.lane-name { font-weight: 600; font-size: 0.95rem; overflow-wrap: break-word; }
.lane-meta { font-size: 0.78rem; opacity: 0.8; margin-top: 0.1rem; overflow-wrap: break-word; }
.lane-toggle, .more { font: inherit; font-size: 0.78rem; margin-top: 0.3rem; background: none; cursor: pointer;
        border: 1px solid var(--st-border-color, #d5d7de); border-radius: 0.4rem; padding: 0.15rem 0.5rem;
        color: inherit; }
.lane-body { padding: 0 0.45rem 0.45rem; overflow-y: auto; display: flex; flex-direction: column; gap: 0.45rem;
             min-height: 3rem; }
.empty { font-size: 0.8rem; opacity: 0.6; padding: 0.6rem 0.2rem; text-align: center; }
.card { background: var(--st-background-color, #fff); border-radius: 0.5rem; padding: 0.5rem 0.55rem;
        border: 1px solid var(--st-border-color, #d5d7de); box-shadow: 0 1px 2px rgba(0,0,0,0.06); }
.card[draggable="true"] { cursor: grab; }
.card.dragging { opacity: 0.45; }
.card.rotting { border-left: 4px solid #e8a317; }
.title { font: inherit; font-weight: 600; font-size: 0.9rem; text-align: left; background: none; border: none;
         padding: 0; color: inherit; cursor: pointer; overflow-wrap: break-word; width: 100%; }
.title:hover, .title:focus-visible { text-decoration: underline; }
.line { font-size: 0.78rem; margin-top: 0.15rem; overflow-wrap: break-word; }
.row { display: flex; align-items: center; flex-wrap: wrap; gap: 0.2rem 0.4rem; margin-top: 0.3rem; }
.avatar { flex: 0 0 auto; width: 1.6rem; height: 1.6rem; border-radius: 50%; display: inline-flex;
          align-items: center; justify-content: center; font-size: 0.7rem; font-weight: 700; color: #fff; }
.value { font-weight: 600; font-size: 0.85rem; margin-left: auto; white-space: nowrap; }
.muted { opacity: 0.75; }
.flag { font-size: 0.75rem; border-radius: 0.3rem; padding: 0.05rem 0.35rem; display: inline-block; margin-top: 0.3rem; }
.flag.no-next { background: #fdecea; color: #a12622; }
.flag.rot { background: #fff4d6; color: #7a5200; }
.flag.late { background: #fdecea; color: #a12622; }
.closing { display: flex; gap: 0.3rem; align-items: center; font-size: 0.75rem; color: inherit; width: 100%; min-width: 0; }
input.close { font: inherit; font-size: 0.75rem; padding: 0.05rem 0.2rem; flex: 1 1 auto; min-width: 0; width: 100%; box-sizing: border-box; }
.line.late { color: #a12622; font-weight: 600; }
.picker { display: flex; flex-wrap: wrap; gap: 0.3rem; margin-top: 0.35rem; }
.move { font: inherit; font-size: 0.78rem; flex: 1 1 100%; min-width: 0; padding: 0.2rem;
        border-radius: 0.35rem; border: 1px solid var(--st-border-color, #d5d7de);
        background: var(--st-background-color, #fff); color: inherit; }
.go { font: inherit; font-size: 0.78rem; flex: 1 1 100%; padding: 0.2rem 0.5rem; border-radius: 0.35rem;
      border: 1px solid var(--st-primary-color, #ff4b4b); background: var(--st-primary-color, #ff4b4b);
      color: #fff; cursor: pointer; }
.go[hidden] { display: none; }
@media (max-width: 640px) {
  .lane, .lane.closed.expanded { flex: 0 0 78vw; max-width: none; }
  .lane.closed { flex: 0 0 7.5rem; }
  .move, .go { font-size: 1rem; padding: 0.35rem 0.6rem; }
}
"""

JS = """
const COLORS = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#9d755d", "#e45756", "#72b7b2", "#6f5aa8"];

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!data) return;
  let root = parentElement.querySelector(".crm-board");
  // every rerun hands the data again: draw only when it changed (no flicker, no lost scroll,
  // no card replaced under the pointer); `rev` changes after every move, so a refused card is redrawn
  const signature = JSON.stringify(data);
  if (root && root.dataset.signature === signature) return;
  const scroll = root ? root.querySelector(".lanes")?.scrollLeft || 0 : 0;
  if (!root) {
    root = el("div", "crm-board");
    parentElement.appendChild(root);
  }
  root.dataset.signature = signature;
  const labels = data.labels;
  const lanes = el("div", "lanes");
  lanes.setAttribute("data-testid", "board-lanes");
  let dragged = null;

  for (const column of data.columns) {
    const lane = el("section", "lane " + column.kind + (column.closes ? " closed" : "") + (column.expanded ? " expanded" : ""));
    lane.dataset.stageId = String(column.id);
    lane.setAttribute("aria-label", column.name);
    const head = el("div", "lane-head");
    head.appendChild(el("div", "lane-name", column.name + " · " + column.percent_text));
    const count = el("div", "lane-meta lane-count", column.count_text);
    head.appendChild(count);
    const value = head.appendChild(el("div", "lane-meta", column.value_text));
    value.title = column.value_title;
    if (!column.closes) head.appendChild(el("div", "lane-meta", column.weighted_text)).title = column.weighted_title;
    if (column.closes) {
      const toggle = el("button", "lane-toggle", column.expanded ? labels.collapse : labels.expand);
      toggle.type = "button";
      toggle.setAttribute("aria-expanded", column.expanded ? "true" : "false");
      toggle.addEventListener("click", () => setTriggerValue("toggle", { stage_id: column.id }));
      head.appendChild(toggle);
    }
    lane.appendChild(head);
    const body = el("div", "lane-body");
    if (!column.closes || column.expanded) {
      if (!column.cards.length) body.appendChild(el("div", "empty", labels.empty));
      for (const card of column.cards) body.appendChild(drawCard(card, column));
      if (column.has_more) {
        const more = el("button", "more", labels.show_more + " (" + column.shown_text + ")");
        more.type = "button";
        more.addEventListener("click", () => setTriggerValue("more", { stage_id: column.id }));
        body.appendChild(more);
      }
    } else {
      body.appendChild(el("div", "empty", labels.drop_here));
    }
    lane.appendChild(body);

    lane.addEventListener("dragover", (event) => {
      if (!dragged || dragged.stageId === column.id) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      lane.classList.add("over");
    });
    lane.addEventListener("dragleave", (event) => {
      if (!lane.contains(event.relatedTarget)) lane.classList.remove("over");
    });
    lane.addEventListener("drop", (event) => {
      event.preventDefault();
      lane.classList.remove("over");
      if (!dragged || dragged.stageId === column.id) return;
      const move = { thread_id: dragged.id, stage_id: column.id, version: dragged.version };
      // drawn at once where it was dropped; the page's answer redraws the board either way
      if (!column.closes || column.expanded) body.insertBefore(dragged.node, body.firstChild);
      else dragged.node.remove();
      dragged = null;
      setTriggerValue("move", move);
    });
    lanes.appendChild(lane);
  }

  function drawCard(card, column) {
    const node = el("article", "card" + (card.rotting_text ? " rotting" : ""));
    node.dataset.threadId = String(card.id);
    node.setAttribute("data-testid", "board-card");
    const title = el("button", "title", card.title);
    title.type = "button";
    title.addEventListener("click", () => setTriggerValue("open", { thread_id: card.id }));
    node.appendChild(title);
    node.appendChild(el("div", "line muted", card.client));
    const row = el("div", "row");
    const avatar = el("span", "avatar", card.initials);
    avatar.style.background = COLORS[card.owner_id % COLORS.length];
    avatar.title = card.owner_text;
    avatar.setAttribute("aria-label", card.owner_text);
    row.appendChild(avatar);
    row.appendChild(el("span", "line muted", card.days_text));
    row.appendChild(el("span", "value", card.value_text));
    node.appendChild(row);
    if (card.next_text) node.appendChild(el("div", card.next_late ? "line late" : "line", card.next_text));
    if (card.no_next) node.appendChild(el("span", "flag no-next", labels.no_next));
    if (card.rotting_text) node.appendChild(el("span", "flag rot", card.rotting_text));
    if (card.late_text) node.appendChild(el("span", "flag late", card.late_text));
    if (card.movable) {
      node.draggable = true;
      node.addEventListener("dragstart", (event) => {
        dragged = { id: card.id, version: card.version, stageId: column.id, node };
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", String(card.id));
        node.classList.add("dragging");
      });
      node.addEventListener("dragend", () => node.classList.remove("dragging"));
      const menu = el("select", "move");
      menu.setAttribute("aria-label", card.menu_label);
      menu.appendChild(el("option", "", labels.move_to)).value = "";
      for (const target of data.targets) {
        if (target.id === column.id) continue;
        menu.appendChild(el("option", "", target.name)).value = String(target.id);
      }
      // choosing only picks (arrow keys on a closed <select> fire "change" at every step); the
      // Move button that then appears under it moves
      const go = el("button", "go", labels.move);
      go.type = "button";
      go.hidden = true;
      go.setAttribute("aria-label", card.go_label);
      menu.addEventListener("change", () => { go.hidden = !menu.value; });
      go.addEventListener("click", () => {
        if (!menu.value) return;
        setTriggerValue("move", { thread_id: card.id, stage_id: Number(menu.value), version: card.version });
      });
      const picker = el("div", "picker");
      picker.appendChild(menu);
      picker.appendChild(go);
      node.appendChild(picker);
      // the expected close date: picked, then set with its own button (typing a date fires
      // "change" at every complete date on the way)
      const closing = el("label", "closing", labels.closes);
      const day = el("input", "close");
      day.type = "date";
      day.value = card.close_value || "";
      day.setAttribute("aria-label", card.close_label);
      const set = el("button", "go", labels.set_close);
      set.type = "button";
      set.hidden = true;
      set.setAttribute("aria-label", card.set_label);
      day.addEventListener("change", () => { set.hidden = !day.value || day.value === (card.close_value || ""); });
      set.addEventListener("click", () => {
        if (!day.value) return;
        setTriggerValue("close", { thread_id: card.id, date: day.value, version: card.version });
      });
      closing.appendChild(day);
      const when = el("div", "picker");
      when.appendChild(closing);
      when.appendChild(set);
      node.appendChild(when);
    }
    return node;
  }

  root.replaceChildren(lanes);
  lanes.scrollLeft = scroll;
}
"""

_BOARD = st.components.v2.component("crm_board", css=CSS, js=JS)


def draw(data: dict[str, Any], key: str) -> Any:
    """Mount the board; returns its result (trigger values `move`, `open`, `more`, `toggle`)."""
    noop = lambda: None  # noqa: E731 - a callback per trigger registers it; the page reads the result
    return _BOARD(
        key=key,
        data=data,
        on_move_change=noop,
        on_open_change=noop,
        on_more_change=noop,
        on_toggle_change=noop,
        on_close_change=noop,
    )
