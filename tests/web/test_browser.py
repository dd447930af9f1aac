"""The web UI in a real headless Chromium (issue 11 §7): list → run → steps, resume a hook
from its form and watch the run complete, cancel a run. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from web_support import run_status


def status_on_page(browser) -> str:
    return browser.find_element(By.CSS_SELECTOR, "h1 .badge").get_attribute("data-status")


def test_runs_list_then_a_run_and_its_steps(site, browser, shot):
    browser.get(site["url"] + "/")
    rows = browser.find_elements(By.CSS_SELECTOR, "#runs tr.run-row")
    assert {r.get_attribute("data-run-id") for r in rows} >= {site["done"], site["waiting"]}
    shot("runs")
    browser.find_element(By.CSS_SELECTOR, f'tr[data-run-id="{site["done"]}"] a.run-link').click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "steps")))
    assert site["done"] in browser.title
    assert status_on_page(browser) == "completed"
    steps = browser.find_elements(By.CSS_SELECTOR, "#steps tr.step-row")
    assert [s.find_elements(By.TAG_NAME, "td")[1].text for s in steps] == ["add", "add"]
    assert browser.find_element(By.ID, "output").text == "7"
    logs = browser.find_element(By.ID, "logs").text
    assert "begin 5" in logs and "adding 5 + 1" in logs
    timeline = browser.find_element(By.ID, "timeline").text
    assert "sleep until" in timeline
    shot("run")

    # the status filter
    browser.get(site["url"] + "/?status=failed")
    ids = [
        r.get_attribute("data-run-id") for r in browser.find_elements(By.CSS_SELECTOR, "tr.run-row")
    ]
    assert ids == [site["failed"]]


def test_failed_run_shows_exception_and_traceback(site, browser, shot):
    browser.get(f"{site['url']}/runs/{site['failed']}")
    box = browser.find_element(By.ID, "failure").text
    assert "failed at step lookup" in box
    assert "KeyError: 'b'" in box
    assert "Traceback (most recent call last)" in box and "in _dig" in box
    shot("failed")


def test_resume_a_hook_from_the_form_and_see_the_run_complete(site, browser, shot):
    browser.get(f"{site['url']}/runs/{site['waiting']}")
    assert status_on_page(browser) == "running"
    assert "waiting on hook approve:77" in browser.find_element(By.ID, "waiting").text
    area = browser.find_element(By.CSS_SELECTOR, "form.resume-form textarea")
    area.clear()
    area.send_keys('{"approved": true, "by": "selenium"}')
    shot("before-resume")
    browser.find_element(By.CSS_SELECTOR, "form.resume-form button.resume").click()
    # the page reloads itself as the run moves on (a little JS polls the run's state)
    WebDriverWait(browser, 30).until(lambda b: status_on_page(b) == "completed")
    output = browser.find_element(By.ID, "output").text
    assert '"approved": true' in output and '"b": 79' in output, output
    assert run_status(site["data_dir"], site["waiting"]) == "completed"
    shot("resumed")


def test_cancel_a_run(site, browser, shot):
    browser.get(f"{site['url']}/runs/{site['napping']}")
    assert status_on_page(browser) == "running"
    browser.find_element(By.ID, "cancel").click()
    WebDriverWait(browser, 5).until(ec.alert_is_present())
    browser.switch_to.alert.accept()
    WebDriverWait(browser, 15).until(lambda b: status_on_page(b) == "cancelled")
    assert run_status(site["data_dir"], site["napping"]) == "cancelled"
    assert not browser.find_elements(By.ID, "cancel")
    shot("cancelled")
