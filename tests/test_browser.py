"""The web page in a real browser: headless Chromium (Debian's ``chromium`` + ``chromium-driver``) driven by
Selenium against ``stance serve`` running the smoke checkpoint. Selenium Manager is never asked for
anything: the browser and driver paths are given explicitly (and SE_OFFLINE is set).

Install the browser with ``apt-get install -y chromium chromium-driver`` (``.ci/run`` does it)."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("STANCE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("STANCE_CHROMEDRIVER", "/usr/bin/chromedriver")

pytest.importorskip("selenium")
pytest.importorskip("fastapi")
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip(f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install -y chromium chromium-driver)",
                allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from stance.bench_serve import _free_port, start_server  # noqa: E402


@pytest.fixture(scope="module")
def server(smoke_run):
    port = _free_port()
    # STANCE_BROWSER_MODEL=outputs/latest (with STANCE_SCREENSHOT) runs the page on a real checkpoint for the README image
    proc = start_server(os.environ.get("STANCE_BROWSER_MODEL") or str(smoke_run["model_dir"]), port, [])
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=15)


@pytest.fixture
def browser(tmp_path):
    os.environ["SE_OFFLINE"] = "true"  # belt and braces: Selenium Manager must not download anything
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1900",
                "--disable-extensions", "--no-first-run", "--disable-background-networking"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.downloads = downloads
    yield driver
    driver.quit()


def _wait_for_file(folder: Path, suffix: str, timeout: float = 15.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.name.endswith(suffix)]
        if done and not any(p.name.endswith(".crdownload") for p in folder.iterdir()):
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} download in {folder}: {list(folder.iterdir())}")


def test_page_highlights_the_statements_the_api_finds(server, browser, tmp_path):
    import httpx

    article = (ROOT / "data" / "raw" / "article.txt").read_text(encoding="utf-8")
    api = httpx.post(server + "/v1/articles", json={"text": article}, timeout=60).json()["statements"]
    assert len(api) >= 10

    d = browser
    d.get(server + "/")
    WebDriverWait(d, 15).until(lambda d: "model" in d.find_element(By.ID, "model-info").text
                               and "loading" not in d.find_element(By.ID, "model-info").text)
    d.find_element(By.ID, "title").send_keys("Russia rejects Trump call")
    box = d.find_element(By.ID, "article")
    box.send_keys(article)  # typed as a user would (paste has no headless clipboard)
    assert box.get_property("value") == article
    d.find_element(By.ID, "analyse").click()
    WebDriverWait(d, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#rendered .stmt"))

    spans = d.find_elements(By.CSS_SELECTOR, "#rendered .stmt")
    assert len(spans) == len(api)
    assert [s.get_attribute("data-speaker") for s in spans] == [s["speaker"] for s in api]
    assert [s.get_attribute("data-label") for s in spans] == [s["label"] for s in api]
    for span, st in zip(spans, api):
        assert st["label"] in span.get_attribute("class").split()
        assert st["speaker"] in span.get_attribute("title")  # hover text: speaker and probabilities
        assert span.text.replace("\n", " ") in article.replace("\n", " ")

    # click: the detail panel shows the speaker and every label's probability
    spans[-1].click()
    detail = d.find_element(By.ID, "detail").text
    assert api[-1]["speaker"] in detail and "%" in detail

    # table, filters, chart
    rows = d.find_elements(By.CSS_SELECTOR, "#statements tbody tr")
    assert len(rows) == len(api)
    label = api[0]["label"]
    Select(d.find_element(By.ID, "filter-stance")).select_by_value(label)
    shown = d.find_elements(By.CSS_SELECTOR, "#statements tbody tr")
    assert len(shown) == sum(s["label"] == label for s in api)
    assert {r.get_attribute("data-label") for r in shown} == {label}
    Select(d.find_element(By.ID, "filter-stance")).select_by_value("")
    speaker = api[0]["speaker"]
    Select(d.find_element(By.ID, "filter-speaker")).select_by_value(speaker)
    assert len(d.find_elements(By.CSS_SELECTOR, "#statements tbody tr")) == sum(s["speaker"] == speaker for s in api)
    Select(d.find_element(By.ID, "filter-speaker")).select_by_value("")
    chart = {r.get_attribute("data-speaker") for r in d.find_elements(By.CSS_SELECTOR, "#chart .row")}
    assert chart == {s["speaker"] or "unknown" for s in api}

    # downloads hold the same rows as the API
    d.find_element(By.ID, "download-csv").click()
    rows_csv = list(csv.DictReader(io.StringIO(_wait_for_file(d.downloads, ".csv").read_text(encoding="utf-8"))))
    d.find_element(By.ID, "download-jsonl").click()
    rows_jsonl = [json.loads(x) for x in _wait_for_file(d.downloads, ".jsonl").read_text(encoding="utf-8").splitlines()]
    for rows_ in (rows_csv, rows_jsonl):
        assert len(rows_) == len(api)
        for row, st in zip(rows_, api):
            assert (row["speaker"], row["stance"], row["text"], int(row["start"]), int(row["end"])) == \
                   (st["speaker"], st["label"], st["text"], st["start"], st["end"])
            assert float(row["score"]) == pytest.approx(st["score"], abs=1e-6)

    results = d.find_element(By.ID, "results")
    d.execute_script("arguments[0].scrollIntoView(true)", results)  # scroll the results into view, as a reader would
    assert results.is_displayed()
    shot = tmp_path / "serve.png"
    d.execute_script("window.scrollTo(0, 0)")
    d.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("STANCE_SCREENSHOT"):  # e.g. STANCE_SCREENSHOT=docs/serve.png to refresh the README image
        shutil.copy(shot, os.environ["STANCE_SCREENSHOT"])


def test_dropped_txt_files_are_analysed_as_documents(server, browser, tmp_path):
    a = tmp_path / "first.txt"
    b = tmp_path / "second.txt"
    a.write_text("“We will respond with force to any attack on our ships,” the admiral said.\n", encoding="utf-8")
    b.write_text("“Nobody in the region needs to fear these drills,” Maria Zakharova told reporters.\n", encoding="utf-8")
    d = browser
    d.get(server + "/")
    d.find_element(By.ID, "files").send_keys(f"{a}\n{b}")  # the file picker; drag-and-drop uses the same reader
    WebDriverWait(d, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#statements tbody tr")) == 2)
    opts = [o.text for o in Select(d.find_element(By.ID, "doc-select")).options]
    assert [o.split(" (")[0] for o in opts] == ["first.txt", "second.txt"]
    assert "Maria Zakharova" in d.find_element(By.ID, "statements").text
