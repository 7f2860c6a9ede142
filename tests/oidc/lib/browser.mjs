// Debian's Chromium driven by playwright-core for the sign-in tests. Each launch gets a fresh
// profile folder, and each context has its own cookies. The browser trusts the test
// provider's certificate by its public key hash alone.
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_FLAGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
];

let screenshotDir;

// Console errors per page (CSP violations, blocked requests), quoted in failure messages.
const consoleErrors = new WeakMap();

function recordConsoleErrors(page) {
    const errors = [];
    consoleErrors.set(page, errors);
    page.on('console', (message) => {
        if (message.type() === 'error' && errors.length < 20) {
            errors.push(message.text());
        }
    });
}

/** Returns the folder that failure screenshots go to, created on first use. */
export function screenshotFolder() {
    if (!screenshotDir) {
        screenshotDir = mkdtempSync(join(tmpdir(), 'idgate-screenshots-'));
    }
    return screenshotDir;
}

function spkiHash(certPem) {
    const der = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
    return createHash('sha256').update(der).digest('base64');
}

/**
 * Launches Chromium. Playwright gives the browser a fresh temporary profile folder
 * (--user-data-dir) and removes it on close. options.trustCert: PEM of the server certificate
 * the browser accepts although its CA is not in the system store.
 *
 * Throws with an install hint when Chromium is missing: the tests must fail, not skip.
 * Returns { browser, newContext(), newPage(), close() }. Each context has its own cookies, so
 * a test that needs a signed-out user with no provider session takes a new context.
 */
export async function launchBrowser({ trustCert } = {}) {
    if (!existsSync(CHROMIUM_PATH)) {
        throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install the Debian package `
            + '"chromium" (apt-get install chromium) or set CHROMIUM_PATH');
    }
    const args = [...CHROMIUM_FLAGS];
    if (trustCert) {
        args.push(`--ignore-certificate-errors-spki-list=${spkiHash(trustCert)}`);
    }
    const browser = await chromium.launch({
        executablePath: CHROMIUM_PATH,
        headless: true,
        args,
        timeout: 30000,
    });
    async function newContext() {
        const context = await browser.newContext();
        context.on('page', recordConsoleErrors);
        context.setDefaultTimeout(15000);
        context.setDefaultNavigationTimeout(15000);
        return context;
    }
    return {
        browser,
        newContext,
        async newPage() {
            const context = await newContext();
            return context.newPage();
        },
        async close() {
            await browser.close();
        },
    };
}

/**
 * Runs fn(page) and, when it throws, saves a screenshot of the page and adds its path and the
 * page's URL to the error message.
 */
export async function withScreenshot(page, name, fn) {
    try {
        return await fn(page);
    } catch (err) {
        const file = join(screenshotFolder(), `${name.replace(/[^a-z0-9_-]+/gi, '-')}.png`);
        let note = '';
        try {
            await page.screenshot({ path: file, fullPage: true });
            note = `\n  screenshot: ${file}\n  page URL: ${page.url()}`;
            for (const text of consoleErrors.get(page) ?? []) {
                note += `\n  console error: ${text}`;
            }
        } catch (shotErr) {
            note = `\n  (no screenshot: ${shotErr.message})`;
        }
        err.message += note;
        // The stack was rendered when the error was made, and test reporters print it.
        if (typeof err.stack === 'string') {
            err.stack += note;
        }
        throw err;
    }
}

/** Returns the visible text of the page body. */
export async function pageText(page) {
    return page.evaluate(() => document.body?.innerText ?? '');
}
