// The explorer in a real browser: playwright-core drives Debian's Chromium (headless) over
// explore.html built from two fixture runs, toggles a server, switches metric, scenario and
// run, hovers a point, reloads from the URL fragment, and checks that every value the page
// shows equals the one in the fixture's results.json.
//
//   node browser_test.js                 the test (ctest: explore_browser, label browser)
//   node browser_test.js --check PAGE.html   every run, scenario and metric of a page draws
//   node browser_test.js --screenshot OUT.png PAGE.html#fragment   a picture for the README
"use strict";
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { chromium } = require("playwright-core");

const HERE = __dirname;
const ROOT = path.resolve(HERE, "..", "..");
const FIXTURES = path.join(ROOT, "scripts", "tests", "fixtures");
const CHROMIUM = process.env.LAB_CHROMIUM || "/usr/bin/chromium";

// results.fmt_num: 3 significant digits, thousands separators from 1,000 on.
function fmt(v) {
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  return String(Number(v.toPrecision(3)));
}

function scenarioKey(rec) {
  const pipeline = rec.pipeline || 1;
  const key = pipeline === 1 ? rec.scenario : `${rec.scenario} (pipeline ${pipeline})`;
  return rec.load === "open" ? `${key} (open loop)` : key;
}

function levelOf(rec) {
  return rec.load === "open" ? (rec.rate ?? rec.offered_rate_rps) : rec.connections;
}

function findAggregate(results, server, scenario, x) {
  return results.aggregates.find(a => a.server === server && scenarioKey(a) === scenario
                                      && String(levelOf(a)) === String(x));
}

async function launch() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: ./lab test installs it (apt install chromium)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true,
                           args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
}

async function openPage(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", e => errors.push(e.message));
  page.on("console", m => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
  return { page, errors };
}

// Rows of the values table: {server, x, median, ratio, medianB}.
async function tableRows(page) {
  return page.$$eval("#values tr[data-server]", rows => rows.map(r => ({
    server: r.dataset.server, x: r.dataset.x,
    median: r.querySelector(".median")?.textContent,
    medianB: r.querySelector(".median-b")?.textContent,
    ratio: r.querySelector(".ratio")?.textContent,
  })));
}

// Every row shown equals results.json: median × the metric's display scale, as fmt_num writes it.
async function checkValues(page, results, scenario, metric, label) {
  const scale = await page.evaluate(m => window.labExplorer.data.metrics[m].scale, metric);
  const rows = await tableRows(page);
  assert.ok(rows.length > 0, `${label}: the table is empty`);
  for (const row of rows) {
    const agg = findAggregate(results, row.server, scenario, row.x);
    assert.ok(agg, `${label}: no aggregate for ${row.server} @ ${row.x} in results.json`);
    assert.equal(row.median, fmt(agg[metric].median * scale),
                 `${label}: ${row.server} @ ${row.x}`);
  }
  return rows;
}

async function select(page, id, value) {
  await page.selectOption(`#${id}`, value, { timeout: 5000 });
  await page.waitForSelector('body[data-ready="1"]');
}

async function test() {
  const started = Date.now();
  const serviceRun = path.join(FIXTURES, "service_run");
  const openRun = path.join(FIXTURES, "open_loop_run");
  const service = JSON.parse(fs.readFileSync(path.join(serviceRun, "results.json"), "utf8"));
  const open = JSON.parse(fs.readFileSync(path.join(openRun, "results.json"), "utf8"));
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "explore-")), "explore.html");
  execFileSync("/usr/bin/python3", [path.join(HERE, "explore.py"), serviceRun, openRun,
                                    "--no-published", "-o", out], { stdio: "inherit" });
  const html = fs.readFileSync(out, "utf8");
  assert.ok(!/(src|href)=["']?(https?:|\/\/)/.test(html), "the page references the network");

  const browser = await launch();
  try {
    const { page, errors } = await openPage(browser, "file://" + out);
    // 1. the default view: first run, first scenario, throughput
    assert.equal(await page.inputValue("#run-a"), "service_run");
    assert.equal(await page.inputValue("#scenario"), "plaintext");
    assert.equal(await page.inputValue("#metric"), "requests_per_s");
    let rows = await checkValues(page, service, "plaintext", "requests_per_s", "throughput");
    const servers = [...new Set(rows.map(r => r.server))];
    assert.ok(servers.includes("thread_pool") && servers.length >= 3, servers.join(","));
    // client-bound points are listed with their flag
    const cbRow = await page.$eval('#values tr[data-server="event_loop"][data-x="256"] .flags',
                                   td => td.textContent);
    assert.match(cbRow, /Client-bound/);

    // 2. hover a point: the tooltip names the server and its median
    const target = await page.evaluate(() => {
      const u = window.labExplorer.plots()[0];
      const si = u.labMeta.servers.indexOf("event_loop");
      const i = u.labMeta.meta[si].findIndex(p => p && p.x === 256);
      const r = u.over.getBoundingClientRect();
      return { x: r.left + u.valToPos(u.data[0][i], "x"), y: r.top + u.valToPos(u.data[si + 1][i], "y") };
    });
    await page.mouse.move(target.x, target.y);
    const tip = await page.textContent("#tooltip");
    const agg = findAggregate(service, "event_loop", "plaintext", 256);
    assert.ok(tip.includes("event_loop") && tip.includes(fmt(agg.requests_per_s.median)), tip);
    assert.ok(tip.includes(`repetitions ${agg.repetitions}`) && tip.includes("Client-bound"), tip);

    // 3. toggle a server off: gone from the table, the chart and the fragment
    await page.click('#servers label[data-server="thread_pool"] input');
    await page.waitForSelector('body[data-ready="1"]');
    rows = await tableRows(page);
    assert.ok(!rows.some(r => r.server === "thread_pool"), "thread_pool still in the table");
    const drawn = await page.evaluate(() => window.labExplorer.plots()[0].labMeta.servers);
    assert.ok(!drawn.includes("thread_pool") && drawn.length === servers.length - 1, drawn.join());
    assert.match(await page.evaluate(() => location.hash), /hide=thread_pool/);

    // 4. switch the metric: p99 in ms (stored in µs)
    await select(page, "metric", "latency_p99_us");
    await checkValues(page, service, "plaintext", "latency_p99_us", "p99");
    assert.match(await page.textContent("#values tr"), /ms, median/);

    // 5. a whole model off and on again
    const groups = await page.$$eval("#groups button", bs => bs.map(b => b.dataset.group));
    assert.ok(groups.includes("model:event loop") && groups.includes("language:go"), groups.join());
    await page.click('#groups button[data-group="language:go"]');
    await page.waitForSelector('body[data-ready="1"]');
    assert.ok(!(await tableRows(page)).some(r => r.server === "go_nethttp"), "go still shown");
    await page.click('#groups button[data-group="language:go"]');
    await page.waitForSelector('body[data-ready="1"]');
    assert.ok((await tableRows(page)).some(r => r.server === "go_nethttp"), "go not back");

    // every server off: a message, not an empty (or hanging) chart; then all back
    const names = await page.$$eval("#servers label:not(.off)", ls => ls.map(l => l.dataset.server));
    for (const n of names) await page.click(`#servers label[data-server="${n}"] input`);
    assert.match(await page.textContent("#charts"), /No server selected/);
    await page.click('#groups button[data-group="all"]');
    assert.equal(await page.evaluate(() => window.labExplorer.plots().length), 1);
    await page.click('#servers label[data-server="thread_pool"] input');   // off again

    // 6. a second run beside the first: its values and the ratios
    await select(page, "metric", "requests_per_s");
    await select(page, "run-b", "open_loop_run");
    rows = await checkValues(page, service, "plaintext", "requests_per_s", "run A beside B");
    assert.equal(await page.locator(".panel").count(), 2);
    let compared = 0;
    for (const row of rows) {
      const b = findAggregate(open, row.server, "plaintext", row.x);
      if (!b) { assert.equal(row.medianB, "–"); continue; }
      const a = findAggregate(service, row.server, "plaintext", row.x);
      assert.equal(row.medianB, fmt(b.requests_per_s.median), `B ${row.server} @ ${row.x}`);
      assert.equal(row.ratio, (b.requests_per_s.median / a.requests_per_s.median).toFixed(2) + "×");
      compared++;
    }
    assert.ok(compared >= 2, `only ${compared} points in both runs`);

    // 7. switch the run: the open-loop fixture, latency vs offered load
    await select(page, "run-b", "");
    await select(page, "run-a", "open_loop_run");
    await select(page, "scenario", "plaintext_latency (open loop)");
    await select(page, "metric", "latency_p99_us");
    assert.match(await page.textContent("#values tr"), /offered requests\/s/);
    await page.click('#servers label[data-server="thread_pool"] input');   // back on
    await page.waitForSelector('body[data-ready="1"]');
    rows = await checkValues(page, open, "plaintext_latency (open loop)", "latency_p99_us",
                             "open loop p99");
    assert.ok(rows.some(r => r.server === "thread_pool"), "thread_pool did not come back");
    const overloaded = await page.$eval('#values tr[data-server="thread_pool"][data-x="40000"] .flags',
                                        td => td.textContent);
    assert.match(overloaded, /Overloaded/);

    // 8. the fragment keeps the view: a fresh page from the same URL shows the same
    const url = page.url();
    assert.match(url, /a=open_loop_run/);
    const again = await openPage(browser, url);
    assert.equal(await again.page.inputValue("#run-a"), "open_loop_run");
    assert.equal(await again.page.inputValue("#scenario"), "plaintext_latency (open loop)");
    assert.equal(await again.page.inputValue("#metric"), "latency_p99_us");
    assert.deepEqual(await tableRows(again.page), rows);
    assert.deepEqual(errors.concat(again.errors), [], "errors in the page");
  } finally {
    await browser.close();
  }
  console.log(`explore_browser: ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// Every run × scenario × metric of a page draws without an error and fills its table.
async function checkAll(file) {
  const browser = await launch();
  let views = 0;
  try {
    const { page, errors } = await openPage(browser, "file://" + path.resolve(file));
    const runs = await page.evaluate(() => window.labExplorer.data.runs.map(
      r => ({ id: r.id, scenarios: r.scenarios.map(s => ({ key: s.key, metrics: Object.keys(s.views) })) })));
    for (const run of runs) {
      await select(page, "run-a", run.id);
      for (const scen of run.scenarios) {
        await select(page, "scenario", scen.key);
        for (const metric of scen.metrics) {
          await select(page, "metric", metric);
          const rows = await tableRows(page);
          const drawn = await page.evaluate(() => window.labExplorer.plots().length);
          assert.ok(rows.length > 0 && drawn === 1, `${run.id} / ${scen.key} / ${metric}: ` +
                    `${rows.length} rows, ${drawn} charts`);
          views++;
        }
      }
    }
    assert.deepEqual(errors, [], "errors in the page");
  } finally {
    await browser.close();
  }
  console.log(`explore: ${views} views drawn without an error`);
}

async function screenshot(out, url) {
  const browser = await launch();
  try {
    const { page, errors } = await openPage(browser, url.includes("://") ? url : "file://" + path.resolve(url));
    await page.setViewportSize({ width: 1200, height: 760 });
    await page.waitForTimeout(200);
    await page.screenshot({ path: out, clip: { x: 0, y: 0, width: 1200, height: 760 } });
    if (errors.length) throw new Error(errors.join("; "));
  } finally {
    await browser.close();
  }
}

const args = process.argv.slice(2);
(args[0] === "--screenshot" ? screenshot(args[1], args[2])
  : args[0] === "--check" ? checkAll(args[1]) : test()).catch(e => {
  console.error(e.stack || String(e));
  process.exit(1);
});
