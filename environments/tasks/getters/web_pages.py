"""Getters that read web pages: elements of the active tab, parts of its URL, and live pages
opened in a new tab (`page_info`, `info_from_website`, `pdf_from_url`, recreation.gov).

The active tab's elements are read from its serialized DOM with lxml (OSWorld queries the live
page through Playwright with the same selectors). Live-page getters need the sites to be reachable
and change with them, as OSWorld's do; without a browser they fail with a message naming it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from lxml import etree
from lxml import html as lxml_html

from environments.tasks.context import TaskContext
from environments.tasks.getters.desktop import in_cache
from environments.tasks.getters.params import (
    HtmlParseParams, PageParams, PdfFromUrlParams, RecreationPageParams, UrlDashPartParams,
    UrlPathParseParams, WebsiteInfoParams,
)
from environments.tasks.registry import getter
from environments.tasks.tabs import PAGE_TIMEOUT_MS, DevToolsTabs, PageTabs

T = TypeVar("T")
SELECTOR_TIMEOUT_MS = 10_000
FAILED = "__EVALUATION_FAILED__"
"""What OSWorld's recreation.gov getter gives for an element it cannot find."""


def _by_class(root: Any, name: str) -> list[Any]:
    """Elements of CSS class `name` (the `.name` selector), in document order."""
    return root.xpath("//*[contains(concat(' ', normalize-space(@class), ' '), $name)]", name=f" {name} ")


def _texts(root: Any, name: str) -> list[str]:
    return [element.text_content().strip() for element in _by_class(root, name)]


def _direct_texts(root: Any, name: str) -> list[str]:
    """The non-empty text nodes directly inside the first element of the class (`A<div/>B` → [A, B])."""
    found = _by_class(root, name)
    if not found:
        return []
    element = found[0]
    parts = [element.text] + [child.tail for child in element]
    return [part.strip() for part in parts if part and part.strip()]


def _child_h3_texts(root: Any, name: str) -> list[str]:
    found = [element.xpath(".//h3") for element in _by_class(root, name)]
    return [heads[0].text_content().strip() for heads in found if heads]


def _li_texts(root: Any, name: str) -> list[str]:
    texts = []
    for element in _by_class(root, name):
        query = ".//li[contains(concat(' ', normalize-space(@class), ' '), ' catAllProducts ')]"
        for item in element.xpath(query):
            spans = item.xpath(".//span")
            if spans:
                texts.append(spans[0].text_content().strip())
    return texts


def _by_index(texts: list[str], order: dict[str, str], into: dict[str, Any]) -> None:
    for index, key in order.items():
        position = int(index)
        into[key] = texts[position] if len(texts) > position else ""


def _first_xpath_text(root: Any, xpath: str) -> str:
    try:
        found = root.xpath(xpath)
    except etree.XPathError:  # OSWorld reads an unusable XPath as ""
        return ""
    first = found[0] if found else None
    if first is None:
        return ""
    text = first.text_content() if hasattr(first, "text_content") else str(first)
    return text.strip()


def _label_text(root: Any, label: str) -> str:
    """Playwright's `text=label`: the first innermost element whose text contains it, ignoring case."""
    wanted = " ".join(label.split()).lower()
    for element in root.iter():
        if not isinstance(element.tag, str) or element.tag in ("script", "style"):
            continue
        inner = any(wanted in " ".join(child.text_content().split()).lower()
                    for child in element if isinstance(child.tag, str))
        if not inner and wanted in " ".join(element.text_content().split()).lower():
            return element.text_content().strip()
    return ""


def _class_category(root: Any, params: HtmlParseParams, found: dict[str, Any]) -> None:
    for name, order in params.class_multiObject.items():
        positions = order if isinstance(order, dict) else {}
        _by_index(_texts(root, name), {k: str(v) for k, v in positions.items()}, found)
    for name, order in params.class_multiObject_child.items():
        _by_index(_direct_texts(root, name), order, found)
    for name, order in params.class_multiObject_only_child.items():
        _by_index(_child_h3_texts(root, name), order, found)
    for name, wanted in params.class_multiObject_search_exist.items():
        texts = _texts(root, name)
        for item in wanted:
            if item != "is_other_exist":
                found[item] = item in texts
        if "is_other_exist" in wanted:
            found["is_other_exist"] = any(text not in wanted for text in texts)
    for name, key in params.class_singleObject.items():
        texts = _texts(root, name)
        found[key] = texts[0] if texts else ""


def _presence(texts: list[str], wanted: list[str], found: dict[str, Any]) -> None:
    for key in wanted:
        if any(key.lower() == text.lower() for text in texts):
            found[key.lower()] = True
    if any(all(text.lower() not in item.lower() for item in wanted) for text in texts):
        found["is_other_exist"] = True
    found.setdefault("is_other_exist", False)


def _class_and_url_category(root: Any, url: str, params: HtmlParseParams, found: dict[str, Any]) -> None:
    for name, wanted in params.class_multiObject.items():
        if isinstance(wanted, list):  # `class&url` lists names; `class` maps positions to keys
            _presence(_texts(root, name), [str(item) for item in wanted], found)
    for name, wanted in params.class_multiObject_li.items():
        _presence(_li_texts(root, name), wanted, found)
    lowered = url.lower()
    for key in params.url_include_expected:
        found.setdefault(key.lower(), key.lower() in lowered)
    for part, key in params.url_include_expected_multichoice.items():
        found.setdefault(key.lower(), part.lower() in lowered)


@getter("active_tab_html_parse", HtmlParseParams)
def get_active_tab_html_parse(context: TaskContext, params: HtmlParseParams) -> dict[str, Any] | None:
    """Texts of elements of the active tab picked by class, label, XPath or input, as a dict keyed
    the way the task names them ("" for an element not found); None when no tab is open."""
    active = context.machine.tabs().active()
    if active is None:
        return None
    tab, page = active
    root = lxml_html.fromstring(page or "<html/>")
    found: dict[str, Any] = {}
    if params.category == "class":
        _class_category(root, params, found)
    elif params.category == "label":
        for label, key in params.labelObject.items():
            found[key] = _label_text(root, label)
    elif params.category == "xpath":
        for xpath, key in params.xpathObject.items():
            found[key] = _first_xpath_text(root, xpath)
    elif params.category == "input":
        # Typed text lives in the element, not in the serialized DOM: read it off the live page.
        found.update(with_active_page(context, lambda page: _input_values(page, params.inputObject)))
    elif params.category == "class&url":
        _class_and_url_category(root, unquote(tab.url), params, found)
    return found


def _active_url(context: TaskContext) -> str | None:
    active = context.machine.tabs().active()
    return active[0].url if active else None


@getter("url_dashPart", UrlDashPartParams)
def get_url_dash_part(context: TaskContext, params: UrlDashPartParams) -> str | dict[str, str] | None:
    """One "/"-separated part of the active URL (Python indexing), without its query with `needDeleteId`."""
    url = _active_url(context)
    if url is None:
        return None
    parts = url.split("/")
    if params.partIndex >= len(parts):
        return None
    part = parts[params.partIndex]
    if params.needDeleteId:
        part = part.split("?")[0]
    if params.returnType == "string":
        return part
    return {params.key: part} if params.returnType == "json" else None


@getter("url_path_parse", UrlPathParseParams)
def get_url_path_parse(context: TaskContext, params: UrlPathParseParams) -> dict[str, Any] | None:
    """Filters of a Macy's product-list URL (`/Key1,Key2/Value1,Value2` path pairs), OSWorld's reading."""
    url = _active_url(context)
    if url is None:
        return None
    path = unquote(urlsplit(url).path)
    parts = path.strip("/").split("/")
    pairs: dict[str, Any] = {}
    shirts, short_sleeve = "shirts" in path, "short-sleeve" in path
    for here, after in itertools.pairwise(parts):
        if "," in here and "," in after:
            keys, values = (k.strip() for k in here.split(",")), (v.strip() for v in after.split(","))
            for key, value in zip(keys, values):
                if key == "Price_discount_range":
                    pairs[key] = [item.strip() for item in value.split("|")] if value else None
                else:
                    pairs[key] = value or None
                shirts = shirts or (key == "Product_department" and value in ("shirts", "Shirts", "Shirt"))
                short_sleeve = short_sleeve or (key == "Sleeve_length"
                                                and value in ("short-sleeve", "Short Sleeve"))
            break
    for key in ("Men_regular_size_t", "Price_discount_range"):
        pairs.setdefault(key, None)
    found: dict[str, Any] = {"mens_clothing": True if "mens-clothing" in path else None,
                             "shirts": True if shirts else None,
                             "short_sleeve": True if short_sleeve else None}
    for key in params.parse_keys:
        if key not in pairs:
            continue
        if key == "Price_discount_range":
            ranges = pairs[key] or []
            only_half = "50_PERCENT_ off & more" in ranges and not {"30_PERCENT_ off & more",
                                                                    "20_PERCENT_ off & more"} & set(ranges)
            found[key] = "50_PERCENT_ off & more" if only_half else "not_50_PERCENT_ off & more"
        else:
            found[key] = pairs[key]
    return found


def _input_values(page: Any, inputs: dict[str, str]) -> dict[str, str]:
    """key → the stripped current value of the first input at each XPath ("" when none or unusable)."""
    from playwright.sync_api import Error

    values: dict[str, str] = {}
    for xpath, key in inputs.items():
        try:
            found = page.locator(f"xpath={xpath}")
            values[key] = (found.first.input_value() or "").strip() if found.count() else ""
        except Error:  # OSWorld reads an input it cannot query as ""
            values[key] = ""
    return values


@contextmanager
def _devtools_browser(tabs: DevToolsTabs) -> Iterator[Any]:
    """The machine's Chromium, connected over its DevTools endpoint for as long as the block runs."""
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.connect_over_cdp(tabs.endpoint, timeout=SELECTOR_TIMEOUT_MS)
        except Error as err:
            raise ConnectionError(f"no Chromium answers at {tabs.endpoint}: {err}") from None
        try:
            yield browser
        finally:
            browser.close()


def with_active_page(context: TaskContext, use: Callable[[Any], T]) -> T:
    """`use(page)` on the tab being looked at (the env's page, or over DevTools the visible one)."""
    tabs = context.machine.tabs()
    if isinstance(tabs, PageTabs):
        return use(tabs.active_page())
    if not isinstance(tabs, DevToolsTabs):
        raise ConnectionError("this machine's browser cannot be read by a getter")
    with _devtools_browser(tabs) as browser:
        pages = [page for c in browser.contexts for page in c.pages]
        visible = [page for page in pages if page.evaluate("document.visibilityState") == "visible"]
        if not visible:
            raise ConnectionError("no tab of the machine's browser is visible")
        return use(visible[0])


def with_new_page(context: TaskContext, use: Callable[[Any], T]) -> T:
    """`use(page)` on a new tab of the machine's browser, closed afterwards."""
    tabs = context.machine.tabs()
    if isinstance(tabs, PageTabs):
        return _on_new_page(tabs.context, use)
    if not isinstance(tabs, DevToolsTabs):
        raise ConnectionError("this machine's browser cannot open pages for a getter")
    with _devtools_browser(tabs) as browser:
        return _on_new_page(browser.contexts[0] if browser.contexts else browser.new_context(), use)


def _on_new_page(browser_context: Any, use: Callable[[Any], T]) -> T:
    page = browser_context.new_page()
    try:
        return use(page)
    finally:
        page.close()


@getter("page_info", PageParams)
def get_page_info(context: TaskContext, params: PageParams) -> dict[str, str]:
    """{"title", "url", "content"} of `url` loaded in a new tab (until the network is idle)."""
    def read(page: Any) -> dict[str, str]:
        page.goto(params.url, wait_until="networkidle", timeout=PAGE_TIMEOUT_MS)
        return {"title": page.title(), "url": page.url, "content": page.content()}

    return with_new_page(context, read)


@getter("pdf_from_url", PdfFromUrlParams)
def get_pdf_from_url(context: TaskContext, params: PdfFromUrlParams) -> str:
    """The page at `path` printed to PDF (Chromium's print, as OSWorld's `page.pdf`) into the cache."""
    target = in_cache(context, params.dest)

    def render(page: Any) -> None:
        page.goto(params.path, wait_until="networkidle", timeout=PAGE_TIMEOUT_MS)
        time.sleep(3)  # OSWorld waits this long for late rendering before printing
        page.pdf(path=str(target))

    with_new_page(context, render)
    return str(target)


@getter("info_from_website", WebsiteInfoParams)
def get_info_from_website(context: TaskContext, params: WebsiteInfoParams) -> Any:
    """Texts or attributes read off a live page (clicking through selectors first for `click_and_*`);
    the task's `backups` when the page or an element cannot be read, as OSWorld does."""
    from playwright.sync_api import Error

    def read(page: Any) -> list[str | None]:
        page.goto(params.url, wait_until="load")
        values: list[str | None] = []
        for info in params.infos:
            if page.url != params.url:
                page.goto(params.url, wait_until="load")
            selectors = info.selector if isinstance(info.selector, list) else [info.selector]
            if info.action.startswith("click_and_"):
                for selector in selectors[:-1]:
                    page.wait_for_selector(selector, state="attached", timeout=SELECTOR_TIMEOUT_MS).click()
                    page.wait_for_load_state("load")
            elif info.action not in ("inner_text", "attribute"):
                raise ValueError(f"info_from_website: action {info.action!r} is not supported")
            element = page.wait_for_selector(selectors[-1], state="attached", timeout=SELECTOR_TIMEOUT_MS)
            values.append(element.get_attribute(info.attribute or "") if info.action.endswith("attribute")
                          else element.inner_text())
        return values

    try:
        return with_new_page(context, read)
    except (Error, ConnectionError):
        return params.backups


@getter("gotoRecreationPage_and_get_html_content", RecreationPageParams)
def get_recreation_page_content(context: TaskContext, params: RecreationPageParams) -> dict[str, str]:
    """recreation.gov: search "Diamond", open the first result, and read element `order` of `class`
    ({"expected": {class: text}}, as OSWorld returns it)."""
    from playwright.sync_api import Error

    def read(page: Any) -> dict[str, str]:
        page.goto("https://www.recreation.gov/", wait_until="load", timeout=PAGE_TIMEOUT_MS)
        page.fill("input#hero-search-input", "Diamond")
        page.click("button.nav-search-button")
        page.wait_for_url("**/search**", timeout=PAGE_TIMEOUT_MS)
        result = ".search-result-highlight--success"
        page.wait_for_selector(result, state="attached", timeout=PAGE_TIMEOUT_MS)
        with page.expect_popup() as popup:
            page.click(result)
        opened = popup.value
        opened.wait_for_load_state("load", timeout=PAGE_TIMEOUT_MS)
        try:  # OSWorld goes on when the page has no "next available" button
            opened.click("button.next-available", timeout=SELECTOR_TIMEOUT_MS)
        except Error:
            pass
        if params.selector != "class" or params.class_ is None:
            raise ValueError(f"gotoRecreationPage: selector {params.selector!r} is not supported")
        elements = opened.query_selector_all("." + params.class_)
        if len(elements) <= params.order:
            return {"expected": {params.class_: FAILED}}
        text = (elements[params.order].text_content() or "").strip()
        return {"expected": {params.class_: text}}

    return with_new_page(context, read)
