"""A real Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by Selenium, for
the web console's browser tests. Missing browser: skipped, except under CI=true, where
it is a failure (scripts/bootstrap installs both)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = ("chromedriver",)


def _which(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name) or (
            f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
        )
        if found:
            return found
    return None


def require_browser() -> tuple[str, str]:
    browser, driver = _which(CHROMIUM), _which(DRIVER)
    if browser and driver:
        return browser, driver
    message = "the browser tests need Debian's chromium and chromium-driver (scripts/bootstrap)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def chrome(width: int = 1280, height: int = 800) -> Iterator[Any]:
    """A headless Chromium with a ``width`` x ``height`` viewport."""
    browser, driver_path = require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    arguments = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--window-size={width},{height}", "--disable-extensions", "--no-first-run",
                 "--password-store=basic"]  # fmt: skip
    for argument in arguments:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        driver.set_window_size(width, height)
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
