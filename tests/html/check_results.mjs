// Opens an HTML results page in headless chromium (Debian's /usr/bin/chromium, never a downloaded
// browser), fails on console errors, page errors, failed loads or any request that leaves the
// file, and writes a full-page screenshot for the caller to check.
// Usage: node check_results.mjs RESULTS.html SCREENSHOT.png   (CHROMIUM overrides the browser path)
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [htmlPath, screenshotPath] = process.argv.slice(2);
if (!htmlPath || !screenshotPath) {
  console.error('usage: node check_results.mjs RESULTS.html SCREENSHOT.png');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  console.error(`${executablePath} not found: install Debian's chromium (scripts/bootstrap.sh does)`);
  process.exit(2);
}

const problems = [];
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`failed to load ${request.url()}`));
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith('file:') && !url.startsWith('data:')) problems.push(`outside request: ${url}`);
  });
  const url = pathToFileURL(resolve(htmlPath)).href;
  const response = await page.goto(url, { waitUntil: 'load' });
  if (!response || !response.ok()) problems.push(`could not open ${url}`);
  await page.screenshot({ path: screenshotPath, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify({ problems }));
process.exit(problems.length > 0 ? 1 : 0);
