"""The dashboard as a user sees it: real headless Chromium (Debian's, /usr/bin/chromium) driven by Playwright,
against the dashboard on a real socket, over a real koppeling against the CCV Shop, Twinfield and VIES
simulators. One browser per test session (per xdist worker); a fresh context per test.

Skipped only when Chromium is not installed (CI installs it: .ci/run). Playwright's own browser download is
never used: the launch names Debian's executable.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from clients.koppeling.web import DashboardServer

# KOPPELSIM_CHROMIUM names another Chromium (or a missing one, to see the skip).
CHROMIUM = os.environ.get("KOPPELSIM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"Chromium is not installed at {CHROMIUM} (Debian package 'chromium'; .ci/run installs it)",
                allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402 - only with a browser

# What works on these machines: no sandbox as root, no GPU, and none of Chromium's own calls home (the
# network is closed, and each refused connection only slows the start).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
WAIT_MS = 15_000  # real I/O: a page load, a click that posts to Twinfield
PLAIN = {"country": "NL", "b2b": False, "shipping": 0, "payment_option": 0, "extra_costs": 0,
         "credit_points": 0, "coupon": 0, "paymethod_id": 11}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # Playwright makes a fresh, empty --user-data-dir for every launch and removes it afterwards.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                             timeout=60_000)
        yield browser
        browser.close()


@pytest.fixture
def koppeling(world):
    koppeling = world.koppeling()
    yield koppeling
    koppeling.close()


@pytest.fixture
def dialogs() -> list[str]:
    """Every alert() the page opened: any at all would be markup from the data that ran."""
    return []


@pytest.fixture
def page(browser: Browser, koppeling, dialogs: list[str]) -> Iterator[Page]:
    with DashboardServer(koppeling) as server:
        context = browser.new_context(base_url=server.url)
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        yield page
        context.close()
    assert dialogs == []


def reject(world, number: str, msg: str) -> dict:
    return world.runtime.rules.add("twinfield", {"when": {"kind": "transaction", "invoicenumber": number},
                                                 "reject": {"msg": msg}})


def test_a_posted_order_is_under_reporting_with_its_twinfield_number(world, koppeling, page):
    order = world.order(rows=[{"price": 121.00, "tax": 21}], **PLAIN)
    assert koppeling.sync()["posted"] == 1
    number = world.bookings(invoicenumber=order["ordernumber_full"])[0]["number"]

    page.goto("/")
    expect(page.get_by_role("link", name="Reporting (1)")).to_have_attribute("aria-current", "page")
    row = page.locator(f"#order-{order['id']}")
    expect(row.get_by_role("rowheader")).to_have_text(order["ordernumber_full"])
    expect(row.locator(".twinfield")).to_have_text(f"transaction {number}")
    expect(row.locator(".payment")).to_have_text("not posted")
    page.get_by_role("link", name="Errors (0)").click()
    expect(page.locator("#errors-empty")).to_be_visible()


def test_a_failing_check_is_under_errors(world, koppeling, page):
    vies = world.runtime.simulators["vies"].model
    vies.set_available("DE", False)
    order = world.order(**{**PLAIN, "country": "DE", "icp": True, "vat_number": "DE136695976",
                           "rows": [{"price": 50.00}]})
    assert koppeling.sync()["errors"] == 1

    page.goto("/reporting")
    expect(page.locator("#reporting-empty")).to_be_visible()
    page.get_by_role("link", name="Errors (1)").click()
    row = page.locator(f"#order-{order['id']}")
    expect(row.locator(".check")).to_have_text("vies")
    expect(row.locator(".reason")).to_contain_text("VIES could not check DE136695976 now")
    expect(row.locator(".retry")).to_have_text("yes, at every run")

    vies.set_available("DE", True)  # VIES is back: process again posts it
    row.get_by_role("button", name="Process again").click()
    expect(page.locator("#outcome")).to_contain_text("Posted.")
    expect(page.get_by_role("link", name="Reporting (1)")).to_be_visible()
    assert len(world.bookings(invoicenumber=order["ordernumber_full"])) == 1


def test_more_info_then_process_again_after_the_twinfield_rule_is_gone(world, koppeling, page):
    order = world.order(rows=[{"price": 121.00, "tax": 21, "product_name": "Racefiets"}], **PLAIN)
    rule = reject(world, order["ordernumber_full"], "Periode 2026/11 is afgesloten.")
    assert koppeling.sync()["errors"] == 1
    error_id = f"order-{order['id']}"

    page.goto("/errors")
    page.locator(f"#{error_id}").get_by_role("link", name="More info").click()
    expect(page.locator("#summary .check")).to_have_text("twinfield")
    expect(page.locator("#summary .reason")).to_contain_text("Twinfield refused the transaction")
    expect(page.locator("#messages")).to_contain_text("Periode 2026/11 is afgesloten.")
    expect(page.locator("#request")).to_contain_text('<transaction destiny="temporary"')
    expect(page.locator("#sale-lines")).to_contain_text("Racefiets")
    expect(page.locator("#summary .attempts")).to_have_text("1")

    page.get_by_role("button", name="Process again").click()  # the rule is still there
    expect(page.locator("#outcome")).to_contain_text("Still an error")
    expect(page.locator("#outcome .reason")).to_contain_text("Periode 2026/11 is afgesloten.")
    assert world.bookings() == []

    world.runtime.rules.remove(rule["id"])
    page.goto("/errors")
    page.locator(f"#{error_id}").get_by_role("button", name="Process again").click()
    expect(page.locator("#outcome")).to_contain_text("Posted.")
    page.get_by_role("link", name="Reporting", exact=True).click()
    bookings = world.bookings(invoicenumber=order["ordernumber_full"])
    assert len(bookings) == 1
    expect(page.locator(f"#{error_id} .twinfield")).to_have_text(f"transaction {bookings[0]['number']}")
    page.get_by_role("link", name="Errors (0)").click()
    expect(page.locator("#errors-empty")).to_be_visible()

    again = page.request.post(f"/errors/{error_id}/process-again")  # pressed again (a reload, a double click)
    assert again.status == 404
    assert koppeling.sync()["posted"] == 0
    assert len(world.bookings(invoicenumber=order["ordernumber_full"])) == 1


def test_report_problem_records_it_and_marks_the_error(world, koppeling, page):
    order = world.order(rows=[{"price": 121.00, "tax": 21}], **PLAIN)
    reject(world, order["ordernumber_full"], "Boekjaar 2026 is niet open.")
    koppeling.sync()
    error_id = f"order-{order['id']}"

    page.goto("/errors")
    page.locator(f"#{error_id}").get_by_role("button", name="Report problem").click()
    expect(page.locator("#reported")).to_contain_text("nothing was sent anywhere")
    expect(page.locator("#report")).to_contain_text("Boekjaar 2026 is niet open.")
    page.get_by_role("link", name="Back to Errors").click()
    expect(page.locator(f"#{error_id}").get_by_role("link", name="reported")).to_be_visible()
    assert koppeling.store.meta(f"problem-report:{error_id}")


def test_hostile_product_name_and_reason_are_shown_as_text(world, koppeling, page, dialogs):
    name = '<img src=x onerror="alert(1)">'
    msg = '<script>alert(2)</script><b>gesloten</b>'
    order = world.order(rows=[{"price": 121.00, "tax": 21, "product_name": name}], **PLAIN)
    reject(world, order["ordernumber_full"], msg)
    koppeling.sync()
    error_id = f"order-{order['id']}"

    page.goto("/errors")
    expect(page.locator(f"#{error_id} .reason")).to_contain_text(msg)
    page.locator(f"#{error_id}").get_by_role("link", name="More info").click()
    expect(page.locator("#messages")).to_contain_text(msg)
    expect(page.locator("#sale-lines")).to_contain_text(name)
    expect(page.locator("#request")).to_contain_text("&lt;img src=x")  # the XML's own escape, shown as text
    assert page.locator("main img, main script, main b").count() == 0
    page.goto("/errors")  # once more after the detail page: nothing ran on either
    assert dialogs == []
