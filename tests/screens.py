"""Screenshots of every page, for looking at (not a test, not part of the test run):

    python -m tests.screens OUT_DIR [--events 20000] [--langs en,pl] [--sizes 1400x1000,390x844]
                                    [--pages forecast,threads]

For each language it builds (once, then reuses, in OUT_DIR) a database with the sample generator
in that language (`crm_data.demo`, the users' locale is the language) and the first admin, starts
`streamlit run app.py` on it, and in Chromium at each size signs in through the HTML form and
takes a full-page screenshot of every page of the navigation: as a manager every page (the
hidden client card and thread page of the member's most recent thread included, Log event with
"More details" open, the calendar in week view for the whole team and its day schedule, the
team's workload), as the member Today, Log event and the quick-call dialog opened from the
sidebar, as the admin each tab of Administration; and the sign-in form. Each shot waits until
Streamlit is idle. Files: OUT_DIR/<lang>-<width>x<height>/NN-<role>-<page>.png; a shot that
failed is listed at the end (the run goes on). About 8 minutes on a busy 2-core machine.
`--pages` takes only those pages of the manager (no sign-in form, member or admin shots).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crm_data import demo, setup, users  # noqa: E402
from crm_data.config import config_for  # noqa: E402
from crm_data.db import Database  # noqa: E402
from crm_data.i18n import translate  # noqa: E402
from tests.helpers import CHROMIUM_ARGS, PASSWORD, chromium_path, sign_in, start_streamlit, stop_streamlit, wait_idle  # noqa: E402

NAV_PAGES = [
    "today",
    "log_event",
    "threads",
    "board",
    "clients",
    "client",
    "thread",
    "calendar",
    "resources",
    "meeting",
    "forecast",
    "funnel",
    "money",
    "products",
    "timelines",
    "account",
    "admin",
]


@dataclass(frozen=True)
class Sample:
    path: Path
    lang: str
    admin: str
    manager: str
    member: str
    client_id: int
    client_name: str
    thread_id: int


def build(folder: Path, lang: str, events: int) -> Sample:
    """The sample database of `lang` (made once, then reused) and who and what to show."""
    path = folder / f"sample-{lang}-{events}.duckdb"
    marker = path.with_suffix(".ready")
    if not marker.exists():
        for stale in (path, path.with_name(path.name + ".wal")):
            stale.unlink(missing_ok=True)
        db = Database.open(config_for(path))
        setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD, lang=lang)
        started = time.perf_counter()
        result = demo.generate(db, events, lang=lang, password=PASSWORD)
        print(f"{lang}: {result.events} events in {time.perf_counter() - started:.1f} s", flush=True)
        db.close()
        marker.write_text("ready\n")
    db = Database.open(config_for(path))
    try:
        people = users.list_users(db)
        manager = next(u for u in people if u.role == "manager")
        member = next(u for u in people if u.role == "member")
        with db.read() as tx:
            # the member's most recently active open thread: its page and its client's card have data
            thread_id, client_id, client_name = tx.one(
                "SELECT t.id, c.id, c.name FROM threads t JOIN clients c ON c.id = t.client_id"
                " WHERE t.owner_id = ? AND t.status = 'open' ORDER BY t.last_event_at DESC NULLS LAST LIMIT 1",
                [member.id],
            )
    finally:
        db.close()
    return Sample(path, lang, "admin", manager.login, member.login, client_id, client_name, thread_id)


def full_page(page, target: Path) -> None:
    """A screenshot of the whole page: Streamlit scrolls its main area, not the document, so the
    window is made as tall as the content for the shot (and its width kept)."""
    size = page.viewport_size
    height = page.evaluate(
        """() => Math.max(document.documentElement.scrollHeight,
            ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"],'
                + '[data-testid="stSidebar"][data-collapsed="false"] [data-testid="stSidebarContent"],'
                + '[data-testid="stDialog"] [role="dialog"]')]
               .map(e => e.scrollHeight))"""
    )
    if height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 12_000)})
        wait_idle(page)
    page.screenshot(path=str(target), full_page=True)
    page.set_viewport_size(size)


SIDEBAR_OPEN = '[data-testid="stSidebar"][data-collapsed="false"]'


def open_sidebar(page) -> None:
    """On a phone the sidebar starts collapsed: open it with its own button."""
    if page.locator(SIDEBAR_OPEN).count():
        return
    page.locator(
        '[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button'
    ).first.click()
    page.locator(SIDEBAR_OPEN).wait_for(timeout=10_000)
    page.wait_for_timeout(600)  # its slide-in animation


def close_sidebar_on_phone(page) -> None:
    """A sidebar left open on a phone covers the page (Streamlit remembers it across page loads)."""
    if page.viewport_size["width"] >= 600 or not page.locator(SIDEBAR_OPEN).count():
        return
    page.locator(
        '[data-testid="stSidebarCollapseButton"] button, [data-testid="stSidebarCollapseButton"]'
    ).first.click()
    page.wait_for_timeout(600)


def rendered(page) -> None:
    """Idle, and no element still drawn as a loading placeholder."""
    wait_idle(page)
    with contextlib.suppress(Exception):
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=30_000)


class Shooter:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.n = 0
        self.failed: list[str] = []
        self.taken: list[Path] = []

    def shot(self, page, name: str, prepare: Callable[[], None] | None = None) -> None:
        self.n += 1
        target = self.out / f"{self.n:02d}-{name}.png"
        try:
            rendered(page)
            if prepare is not None:
                prepare()
            rendered(page)
            problems = page.get_by_test_id("stException").count()
            full_page(page, target)
            self.taken.append(target)
            print(
                f"  {target.relative_to(self.out.parent)}" + (f"  ({problems} exception(s) shown)" if problems else "")
            )
        except Exception as exc:  # one failed shot does not end the run
            self.failed.append(f"{target.name}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
            traceback.print_exc()
            with contextlib.suppress(Exception):
                page.screenshot(path=str(target.with_name(target.stem + "-FAILED.png")))


def shoot(
    browser, url: str, sample: Sample, width: int, height: int, out: Path, only: frozenset[str] = frozenset()
) -> Shooter:
    lang = sample.lang
    t = lambda key: translate(key, lang)  # noqa: E731
    shooter = Shooter(out)
    locale = "pl-PL" if lang == "pl" else "en-US"

    def context():
        return browser.new_context(
            viewport={"width": width, "height": height},
            timezone_id="Europe/Warsaw",
            locale=locale,
            is_mobile=width < 600,
            has_touch=width < 600,
            device_scale_factor=1,
        )

    if not only:  # the sign-in form
        ctx = context()
        page = ctx.new_page()
        page.goto(f"{url}/?lang={lang}")
        page.get_by_label(t("field.login")).wait_for(timeout=60_000)
        shooter.shot(page, "anyone-signin")
        ctx.close()

    # the manager: every page
    ctx = context()
    page = ctx.new_page()
    sign_in(page, url, sample.manager, lang=lang)
    for name in NAV_PAGES:
        if name == "admin" or (only and name not in only):
            continue
        query = {"client": f"?id={sample.client_id}", "thread": f"?id={sample.thread_id}"}.get(name, "")
        page.goto(f"{url}/{'' if name == 'today' else name}{query}")  # Today is the default page: "/"
        wait_idle(page)
        prepare = None
        if name == "log_event":

            def prepare(page=page) -> None:
                page.get_by_text(t("log.more_details")).first.click()
                wait_idle(page)

        elif name == "forecast":

            def prepare(page=page) -> None:
                page.get_by_text(t("forecast.targets")).first.click()
                wait_idle(page)

        elif name == "calendar":

            def prepare(page=page) -> None:
                page.get_by_role("button", name=t("calendar.everyone")).first.click()
                wait_idle(page)
                group = page.get_by_test_id("stButtonGroup")
                group.get_by_text(t("calendar.layout_grid"), exact=True).first.click()
                wait_idle(page)
                frame = page.frame_locator("iframe[title*='calendar']").first
                frame.locator(".fc-timegrid, .fc-view").first.wait_for(timeout=60_000)
                page.wait_for_timeout(1500)  # FullCalendar draws its events after the grid

        shooter.shot(page, f"manager-{name}", prepare)
    if only:
        ctx.close()
        return shooter
    # the other views of a page: the calendar's day schedule, the team's workload
    page.goto(f"{url}/calendar")
    wait_idle(page)
    shooter.shot(page, "manager-calendar-day", lambda: page.get_by_role("tab", name=t("calendar.tab_day")).click())
    page.goto(f"{url}/timelines")
    wait_idle(page)
    shooter.shot(
        page,
        "manager-timelines-workload",
        lambda: page.get_by_test_id("stButtonGroup").get_by_text(t("timelines.view_workload"), exact=True).click(),
    )
    if width < 600:
        page.goto(url)
        wait_idle(page)
        shooter.shot(page, "manager-sidebar-open", lambda: open_sidebar(page))
    ctx.close()

    # the member: the day's pages and the quick call
    ctx = context()
    page = ctx.new_page()
    sign_in(page, url, sample.member, lang=lang)
    shooter.shot(page, "member-today")

    def quick_call() -> None:
        open_sidebar(page)
        box = page.get_by_test_id("stSidebar").get_by_role("combobox", name=t("quick.open"))
        box.click()
        page.keyboard.type(sample.client_name[:8])
        page.wait_for_timeout(500)
        page.keyboard.press("Enter")
        wait_idle(page)
        page.get_by_test_id("stDialog").wait_for(timeout=60_000)

    shooter.shot(page, "member-quickcall", quick_call)
    page.goto(f"{url}/log_event?client={sample.client_id}")
    wait_idle(page)
    close_sidebar_on_phone(page)

    def more_details() -> None:
        page.get_by_text(t("log.more_details")).first.click()
        wait_idle(page)

    shooter.shot(page, "member-log_event-client", more_details)
    ctx.close()

    # the admin: Administration
    ctx = context()
    page = ctx.new_page()
    sign_in(page, url, sample.admin, lang=lang)
    page.goto(f"{url}/admin")
    shooter.shot(page, "admin-admin")
    for tab in ("users", "settings", "audit", "backup"):
        close_sidebar_on_phone(page)
        shooter.shot(
            page, f"admin-admin-{tab}", lambda tab=tab: page.get_by_role("tab", name=t(f"admin.tab_{tab}")).click()
        )
    ctx.close()
    return shooter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--langs", default="en,pl")
    parser.add_argument("--sizes", default="1400x1000,390x844")
    parser.add_argument("--pages", default="", help="only these pages of the manager, comma-separated")
    args = parser.parse_args()
    only = frozenset(p for p in args.pages.split(",") if p)
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    path = chromium_path()
    if path is None:
        sys.exit("Chromium not found (apt-get install chromium, or set CRM_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    failed: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        for lang in args.langs.split(","):
            sample = build(args.out, lang, args.events)
            log = (args.out / f"server-{lang}.log").open("w")
            process, url = start_streamlit(sample.path, log)
            try:
                for width, height in sizes:
                    out = args.out / f"{lang}-{width}x{height}"
                    out.mkdir(exist_ok=True)
                    print(f"{lang} {width}x{height}:", flush=True)
                    shooter = shoot(browser, url, sample, width, height, out, only)
                    failed += [f"{out.name}/{f}" for f in shooter.failed]
            finally:
                stop_streamlit(process, log)
        browser.close()
    if failed:
        print("failed shots:\n  " + "\n  ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
