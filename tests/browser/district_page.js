// Loads the relay's /district page in headless Chromium (playwright-core) with a session cookie
// and prints, as one JSON line, what the page shows: the table's rows, the chart's bars with
// their drawn heights, the versions table, and every URL the page requested.
// Usage: NODE_PATH=.../node_modules node district_page.js PAGE_URL SESSION_TOKEN
// Run by tests/tests/district.rs (the_district_page_shows_the_table_and_chart_in_a_browser).
const { chromium } = require('playwright-core');

async function main() {
  const [url, token] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const context = await browser.newContext();
    const host = new URL(url).hostname;
    await context.addCookies([
      { name: 'carebank_district', value: token, domain: host, path: '/district' },
    ]);
    const page = await context.newPage();
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    const response = await page.goto(url, { timeout: 30000 });
    const rows = await page.$$eval('table#figures tbody tr', (trs) =>
      trs.map((tr) => ({
        class: tr.className,
        circle: tr.dataset.circle || '',
        name: tr.querySelector('td') ? tr.querySelector('td').textContent : '',
        kinds: Object.fromEntries(
          [...tr.querySelectorAll('td[data-kind]')].map((td) => [td.dataset.kind, Number(td.textContent)]),
        ),
      })),
    );
    const bars = await page.$$eval('svg#chart rect.bar', (rects) =>
      rects.map((r) => ({
        circle: r.dataset.circle,
        kind: r.dataset.kind,
        value: Number(r.dataset.value),
        height: r.getBoundingClientRect().height,
      })),
    );
    const versions = await page.$$eval('table#versions tbody tr', (trs) => trs.map((tr) => tr.className));
    const summary = await page.textContent('#summary');
    console.log(JSON.stringify({ status: response.status(), summary, rows, bars, versions, requests }));
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
