/**
 * Driving the real Node-RED editor with playwright-core and Debian's chromium. Everything that runs inside the
 * page is written without named inner functions (tsx would wrap them in a `__name` helper the page lacks).
 */
import fs from "node:fs";
import type { Browser, Locator, Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_MISSING = "Debian's chromium is not installed: apt-get install -y chromium";

export function chromiumInstalled(): boolean {
  return fs.existsSync(CHROMIUM);
}

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-dev-shm-usage",
      "--font-render-hinting=none",
      "--hide-scrollbars",
    ],
  });
}

/** Opens the editor in a fresh context (its own empty profile) and waits until the given node types are known. */
export async function openEditor(browser: Browser, url: string, types: string[]): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1, reducedMotion: "reduce" });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(url, { waitUntil: "domcontentloaded" });
  await page.waitForFunction(
    (wanted) => {
      const RED = (globalThis as any).RED;
      return !!(RED && RED.nodes && RED.view && RED.workspaces && RED.workspaces.active() && wanted.every((t: string) => RED.nodes.getType(t)));
    },
    types,
    { timeout: 30_000 },
  );
  await page.locator("#red-ui-loading-progress").waitFor({ state: "hidden" });
  // No jQuery animations: trays and palette sections open at once (faster, and screenshots are stable).
  await page.evaluate(() => {
    (globalThis as any).$.fx.off = true;
  });
  await page.locator("#red-ui-workspace-chart").waitFor({ state: "visible" });
  return page;
}

/** Adds nodes to the active flow (as an import would, with the type's defaults) and returns their ids. */
export async function addNodes(page: Page, nodes: object[]): Promise<string[]> {
  return page.evaluate((list) => {
    const RED = (globalThis as any).RED;
    const z = RED.workspaces.active();
    RED.view.importNodes(
      list.map((n: any) => ({ ...n, z })),
      { touchImport: true, generateIds: false, applyNodeDefaults: true, notify: false },
    );
    return list.map((n: any) => n.id);
  }, nodes);
}

export async function removeNodes(page: Page, ids: string[]): Promise<void> {
  await page.evaluate((list) => {
    const RED = (globalThis as any).RED;
    for (const id of list) {
      if (RED.nodes.node(id)) RED.nodes.remove(id);
    }
    RED.view.select({ nodes: [] });
    RED.view.redraw(true);
  }, ids);
}

/**
 * The control a user opens a sidebar tab with, found by the name they read or hear: on Node-RED 4.1 the tab itself,
 * a link labelled with the tab's name (after its icon's glyph, so not an exact match); on Node-RED 5 an icon button
 * in the tab bar under the workspace, named exactly by its aria-label (a palette category of the same name is a
 * button too, named after its glyph).
 */
export function sidebarTab(page: Page, name: string): Locator {
  return page.getByRole("link", { name }).or(page.getByRole("button", { name, exact: true }));
}

/** The node's shape on the canvas. */
export function nodeShape(page: Page, id: string): Locator {
  return page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] rect.red-ui-flow-node`);
}

/** Opens a node's edit dialog by double-clicking it on the canvas. */
export async function openDialog(page: Page, id: string): Promise<void> {
  await nodeShape(page, id).dblclick();
  await page.locator("#node-dialog-ok").waitFor({ state: "visible" });
  await waitForTray(page);
}

/**
 * Waits until the newest edit tray is built and has finished sliding in: the editor fills the form (and runs
 * oneditprepare) before it starts the CSS transition that brings the tray to `right: 0`.
 */
export async function waitForTray(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const $ = (globalThis as any).$;
    const tray = $("#red-ui-editor-stack .red-ui-tray").last();
    if (!tray.length || tray.find(".form-row").length === 0) return false;
    return parseFloat((globalThis as any).getComputedStyle(tray[0]).right) === 0;
  });
}

/** Done: closes the dialog, keeping the edits. */
export async function closeDialog(page: Page, button: "#node-dialog-ok" | "#node-dialog-cancel"): Promise<void> {
  await page.locator(button).click();
  await page.locator(button).waitFor({ state: "detached" });
}

/** Cancels whatever dialog a failed test left open, so the next test starts from a clear editor. */
export async function cancelOpenDialogs(page: Page): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const open = page.locator("#node-config-dialog-cancel:visible, #node-dialog-cancel:visible, #red-ui-clipboard-dialog-cancel:visible, #node-dialog-confirm-deploy-cancel:visible");
    if ((await open.count()) === 0) return;
    await open.first().click();
    await page.waitForTimeout(400);
  }
}

/** Types a value into a dialog field as a user would; a TypedInput's hidden input is set through its widget. */
export async function typeInto(page: Page, selector: string, value: string): Promise<void> {
  const field = page.locator(selector);
  if (await field.isVisible()) {
    await field.fill(value);
    await field.press("End"); // a real key event: the editor validates on change/keyup/paste
    return;
  }
  await page.evaluate(
    ({ selector: sel, value: v }) => {
      const el = (globalThis as any).$(sel);
      if (el.next(".red-ui-typedInput-container").length) el.typedInput("value", v);
      else el.val(v).trigger("change");
    },
    { selector, value },
  );
}

export async function hasInputError(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((sel) => {
    const el = (globalThis as any).$(sel);
    return el.hasClass("input-error") || el.next(".red-ui-typedInput-container").hasClass("input-error");
  }, selector);
}

/**
 * The message the editor shows when the pointer rests on an invalid field (the tooltip the editor attached with
 * its validate function's answer), opened at once instead of after the 750 ms hover delay.
 */
export async function validationMessage(page: Page, selector: string): Promise<string> {
  const opened = await page.evaluate((sel) => {
    const tooltip = (globalThis as any).$(sel).data("tooltip");
    if (!tooltip) return false;
    tooltip.open(true);
    return true;
  }, selector);
  if (!opened) return "";
  const popover = page.locator(".red-ui-popover:visible .red-ui-popover-content").last();
  await popover.waitFor({ state: "visible", timeout: 5_000 });
  const text = (await popover.innerText()).trim();
  await page.evaluate((sel) => (globalThis as any).$(sel).data("tooltip").close(true), selector);
  return text;
}

/** Drags a palette entry onto the canvas at (x, y) relative to the chart, and returns the new node's id. */
export async function dragFromPalette(page: Page, type: string, x: number, y: number): Promise<string> {
  const entry = page.locator(`#red-ui-palette .red-ui-palette-node[data-palette-type="${type}"]`);
  await entry.scrollIntoViewIfNeeded();
  const from = await entry.boundingBox();
  const chart = await page.locator("#red-ui-workspace-chart").boundingBox();
  if (!from || !chart) throw new Error(`palette entry ${type} or the workspace is not on screen`);
  const before = await page.evaluate(() => {
    const ids: string[] = [];
    (globalThis as any).RED.nodes.eachNode((n: any) => {
      ids.push(n.id);
    });
    return ids;
  });
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(from.x + from.width / 2 + 60, from.y + from.height / 2 + 10, { steps: 5 });
  await page.mouse.move(chart.x + x, chart.y + y, { steps: 15 });
  await page.mouse.up();
  const handle = await page.waitForFunction(
    ({ t, known }) => {
      const found: string[] = [];
      (globalThis as any).RED.nodes.eachNode((n: any) => {
        if (n.type === t && known.indexOf(n.id) < 0) found.push(n.id);
      });
      return found.length === 1 ? found[0] : null;
    },
    { t: type, known: before },
  );
  return (await handle.jsonValue()) as string;
}

/** Wires node `from`'s first output to node `to`'s input by dragging between the ports. */
export async function wire(page: Page, from: string, to: string): Promise<void> {
  const out = await page.locator(`g.red-ui-flow-node-group[id="${from}"] .red-ui-flow-port-output .red-ui-flow-port`).boundingBox();
  const inp = await page.locator(`g.red-ui-flow-node-group[id="${to}"] .red-ui-flow-port-input .red-ui-flow-port`).boundingBox();
  if (!out || !inp) throw new Error(`ports of ${from} -> ${to} not on screen`);
  await page.mouse.move(out.x + out.width / 2, out.y + out.height / 2);
  await page.mouse.down();
  await page.mouse.move(inp.x + inp.width / 2, inp.y + inp.height / 2, { steps: 12 });
  await page.mouse.up();
  await page.waitForFunction(
    ({ a, b }) => {
      const RED = (globalThis as any).RED;
      return RED.nodes.filterLinks({ source: RED.nodes.node(a), target: RED.nodes.node(b) }).length === 1;
    },
    { a: from, b: to },
  );
}

/** Clicks Deploy (confirming "unused/invalid nodes" if asked) and waits until the editor reports it deployed. */
export async function deployFromUi(page: Page): Promise<void> {
  await page.locator("#red-ui-header-button-deploy").click();
  const confirm = page.locator("#node-dialog-confirm-deploy-deploy");
  const done = page.waitForFunction(() => !(globalThis as any).RED.nodes.dirty(), undefined, { timeout: 20_000 });
  const outcome = await Promise.race([
    done.then(() => "deployed"),
    confirm.waitFor({ state: "visible", timeout: 20_000 }).then(
      () => "confirm",
      () => "no confirmation asked",
    ),
  ]);
  if (outcome === "confirm") await confirm.click();
  await done;
  await page.locator(".red-ui-notification-success").first().waitFor({ state: "visible" });
}
