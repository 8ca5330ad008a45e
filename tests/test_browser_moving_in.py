"""Moving in through a real Chromium (issue 23): an admin uploads a Salesforce-style export of
deals and activities, maps the one stage the guess cannot place, previews, imports; the same
files uploaded again have nothing to import. AppTest cannot upload a file; a browser can. Each
step's screenshot goes to CRM_SCREENS when set (for looking at), else to the test's folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crm_data import clock, setup
from crm_data.db import Database
from tests.export_sample import make_export
from tests.helpers import PASSWORD, sign_in, wait_idle

pytestmark = pytest.mark.browser


def prepare(db: Database) -> None:
    setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)


def upload(page, label: str, path: Path) -> None:
    box = page.locator('[data-testid="stFileUploader"]').filter(has_text=label)
    box.locator('input[type="file"]').set_input_files(str(path))
    wait_idle(page)


@pytest.mark.parametrize(("width", "height"), [(1400, 1000), (390, 844)])
def test_an_admin_moves_in_deals_and_activities(browser, server_factory, tmp_path, width: int, height: int) -> None:
    shots = Path(os.environ.get("CRM_SCREENS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    deals, activities = make_export(21, 40, 60, clock.now().date())
    deals.loc[0, "Stage"] = "Prospecting"  # the one stage no name here matches
    deals_csv, activities_csv = tmp_path / "opportunities.csv", tmp_path / "activities.csv"
    deals.to_csv(deals_csv, index=False)
    activities.to_csv(activities_csv, index=False)
    server = server_factory(prepare)
    page = browser.new_page(viewport={"width": width, "height": height})
    sign_in(page, server.url, "admin")
    page.goto(f"{server.url}/moving_in")
    wait_idle(page)
    page.get_by_text("Upload the deals file to begin").wait_for()
    upload(page, "Deals (opportunities)", deals_csv)
    upload(page, "Activities", activities_csv)
    page.get_by_text("40 deals, 60 activities in the files.").wait_for()
    # the unmapped stage makes its deals errors, shown first, with the reason in words
    page.get_by_text("With errors (skipped)").first.wait_for()
    page.get_by_role("heading", name="Preview").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"moving-in-unmapped-{width}.png"), full_page=True)
    # the rows with errors can be taken back to the spreadsheet they came from
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="CSV").first.click()
    errors_csv = Path(download.value.path()).read_text("utf-8-sig")
    assert "Prospecting" in errors_csv
    assert (
        errors_csv.count("\n") - 1
        == (deals["Stage"] == "Prospecting").sum()
        + activities["Opportunity ID"].isin(deals.loc[deals["Stage"] == "Prospecting", "Opportunity ID"]).sum()
    )
    wait_idle(page)
    page.get_by_label("Prospecting", exact=True).click()
    page.keyboard.type("Lead")  # the list is searched as typed
    page.get_by_role("option", name="Sales · Lead (10 %)").click()
    wait_idle(page)
    page.get_by_role("button", name="Import 100 rows").wait_for()
    # the mapping is kept for the next export from the same system
    page.get_by_label("Save this mapping as").fill("Salesforce")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("The mapping “Salesforce” is saved.").wait_for()
    wait_idle(page)
    page.get_by_role("heading", name="Preview").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"moving-in-preview-{width}.png"), full_page=True)
    page.get_by_role("button", name="Import 100 rows").click()
    wait_idle(page)
    page.get_by_text("Imported: 40 new threads, 0 updated, 60 activities").wait_for()
    page.get_by_role("link", name="Funnel").last.wait_for()  # where to look at what came in
    page.screenshot(path=str(shots / f"moving-in-done-{width}.png"), full_page=True)
    # the same files again, with the saved mapping: every row unchanged, nothing to import
    page.reload()
    wait_idle(page)
    upload(page, "Deals (opportunities)", deals_csv)
    upload(page, "Activities", activities_csv)
    page.get_by_label("Use a saved mapping").click()
    page.get_by_role("option", name="Salesforce").click()
    wait_idle(page)
    page.get_by_text("Nothing to import: every row is unchanged or has errors.").wait_for()
    page.close()


def test_columns_the_guess_cannot_place_are_asked_for_by_name(browser, server_factory, tmp_path) -> None:
    """A spreadsheet of the team's own: the required columns it could not guess are named in
    words (not as keys), and the column panel is open to choose them."""
    sheet = tmp_path / "nasze-szanse.csv"
    sheet.write_text("Numer;Firma;Etap sprzedaży;Kiedy\n17;Okna Łódź;Oferta;2025-03-31\n", "utf-8")
    server = server_factory(prepare)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(page, server.url, "admin")
    page.goto(f"{server.url}/moving_in")
    wait_idle(page)
    upload(page, "Deals (opportunities)", sheet)
    for field in ("Deal id", "Stage", "Created"):
        page.get_by_text(f"{field}: choose the column of the file that holds it.").wait_for()
    assert page.get_by_text("mapping.").count() == 0
    page.get_by_label("Deal id *").wait_for()  # the panel is open
    page.close()
