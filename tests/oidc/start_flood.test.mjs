// Strangers start sign-ins for one account from many addresses, more than the 1000 per
// account that earlier versions kept in the store, and an employee then signs in through the
// real provider (oidc-provider) in a real browser (Chromium). Starting a sign-in stores
// nothing, so the flood neither fills the store nor keeps anyone from signing in.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, withScreenshot } from './lib/browser.mjs';
import {
    initiateUrl, provisionUser, startStack, stopStack, tableEntries, tail,
} from './lib/stack.mjs';

const ALICE = { login: 'alice@acme.test', sub: 'okta-sub-alice', email: 'alice@acme.test',
    name: 'Alice Example' };

// 17 IPv4 addresses and 17 IPv6 /64 networks of one /56, each below the default limit of 60
// starts per minute and address: 2040 starts in all.
const STARTS_PER_ADDRESS = 60;
const ADDRESSES = [
    ...Array.from({ length: 17 }, (_, i) => `198.51.100.${i + 1}`),
    ...Array.from({ length: 17 }, (_, i) => `2001:db8:0:${(i + 1).toString(16)}::1`),
];

describe('sign-in after a flood of starts', () => {
    let stack;
    let browser;
    let alice;

    before(async () => {
        // 127.0.0.1 is a trusted proxy, so each start counts for its X-Forwarded-For address.
        // The browser sends none, so its starts count for 127.0.0.1.
        stack = await startStack({ provider: 'real', users: [ALICE],
            config: { http: { trusted_proxies: '127.0.0.1' } } });
        browser = await launchBrowser({ trustCert: stack.ca.cert });
        alice = await provisionUser(stack, { userName: ALICE.login, externalId: ALICE.sub,
            displayName: ALICE.name });
    });

    after(async () => {
        await browser?.close();
        await stopStack(stack);
    });

    // Starts STARTS_PER_ADDRESS sign-ins from `address`, ten at a time, and counts their
    // statuses into `statuses`.
    async function flood(address, statuses) {
        const url = initiateUrl(stack, { loginHint: ALICE.login, target: '/app' });
        for (let sent = 0; sent < STARTS_PER_ADDRESS; sent += 10) {
            const batch = await Promise.all(Array.from({ length: 10 }, () => fetch(url, {
                redirect: 'manual',
                headers: { 'X-Forwarded-For': address },
                signal: AbortSignal.timeout(10000),
            })));
            for (const res of batch) {
                statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
                await res.arrayBuffer();
            }
        }
    }

    test('real sign-in completes after flood', async () => {
        const statuses = new Map();
        for (const address of ADDRESSES) {
            await flood(address, statuses);
        }
        const storedByFlood = tableEntries(stack, 'logins');

        const context = await browser.newContext();
        const page = await context.newPage();
        await withScreenshot(page, 'signin-after-flood', async () => {
            await page.goto(initiateUrl(stack, { loginHint: ALICE.login, target: '/app' }));
            await page.waitForURL((url) => url.href.startsWith(`${stack.issuer}/interaction/`));
            await page.fill('#login', ALICE.login);
            await page.click('#submit');
            await page.waitForURL((url) => url.origin === new URL(stack.baseUrl).origin
                && url.pathname === '/app');
        });
        const res = await context.request.get(`${stack.baseUrl}/session`,
            { failOnStatusCode: false, maxRedirects: 0 });
        assert.equal(res.status(), 200, `GET /session returned ${res.status()}\n`
            + tail(stack.srv.logs()));
        assert.equal((await res.json()).id, alice.id);
        await context.close();

        assert.equal(statuses.get(302), ADDRESSES.length * STARTS_PER_ADDRESS,
            `statuses of the flood: ${JSON.stringify([...statuses])}`);
        assert.equal(storedByFlood, 0, 'starting a sign-in stored a record');
        assert.equal(tableEntries(stack, 'logins'), 1, 'the used state was not recorded');
    });
});
