// Sessions of an account that loses its identity provider: an operator moving the issuer to
// another account, or the account disconnecting it, signs out everyone who came through it.
// Runs the real provider in a real browser.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { adminClient, adminToken } from '../integration/admin_helpers.mjs';
import { launchBrowser, withScreenshot } from './lib/browser.mjs';
import { initiateUrl, provisionUser, startStack, stopStack, tail } from './lib/stack.mjs';

const HANA = { login: 'hana@acme.test', sub: 'okta-sub-hana', email: 'hana@acme.test',
    name: 'Hana Example' };

async function sessionStatus(stack, context) {
    const res = await context.request.get(`${stack.baseUrl}/session`, {
        failOnStatusCode: false,
        maxRedirects: 0,
    });
    return res.status();
}

/** Signs Hana in within `context` and returns the status of GET /session afterwards. */
async function signIn(stack, context, name) {
    const page = await context.newPage();
    try {
        return await withScreenshot(page, name, async () => {
            await page.goto(initiateUrl(stack, { loginHint: HANA.login, target: '/app' }));
            await page.waitForURL((url) => url.href.startsWith(`${stack.issuer}/interaction/`));
            await page.fill('#login', HANA.login);
            const callback = page.waitForResponse((res) => res.url().startsWith(stack.redirectUri)
                && res.request().method() === 'GET');
            await page.click('#submit');
            await callback;
            return sessionStatus(stack, context);
        });
    } finally {
        await page.close();
    }
}

/** Connects the stack's account to the provider again, as startStack did. */
async function reconnect(stack) {
    await stack.srv.cliJson(['idp', 'set', '--account', stack.account.id, '--issuer',
        stack.issuer, '--client-id', stack.clientId, '--client-secret-file',
        join(stack.secretDir, 'client-secret')]);
}

describe('sessions after issuer loss', () => {
    let stack;
    let browser;
    let operator;

    before(async () => {
        stack = await startStack({ provider: 'real', users: [HANA] });
        browser = await launchBrowser({ trustCert: stack.ca.cert });
        await provisionUser(stack, { userName: HANA.login, displayName: HANA.name });
        operator = adminClient(stack.srv, await adminToken(stack.srv));
    });

    after(async () => {
        await browser?.close();
        await stopStack(stack);
    });

    test('disconnect ends sessions', async () => {
        const context = await browser.newContext();
        try {
            assert.equal(await signIn(stack, context, 'loss-before-disconnect'), 200,
                tail(stack.srv.logs()));
            const res = await operator('DELETE', `/accounts/${stack.account.id}/idp`);
            assert.equal(res.status, 200, JSON.stringify(res.body));
            assert.equal(await sessionStatus(stack, context), 401, tail(stack.srv.logs()));
        } finally {
            await context.close();
        }
    });

    test('take-over ends losing sessions', async () => {
        await reconnect(stack);
        const context = await browser.newContext();
        try {
            assert.equal(await signIn(stack, context, 'loss-before-take-over'), 200,
                tail(stack.srv.logs()));
            const other = (await operator('POST', '/accounts', { name: 'Other' })).body;
            const res = await operator('PUT', `/accounts/${other.id}/idp`, {
                issuer: stack.issuer,
                client_id: stack.clientId,
                client_secret: stack.clientSecret,
                take_over_issuer: true,
            });
            assert.equal(res.status, 200, JSON.stringify(res.body));
            assert.equal(await sessionStatus(stack, context), 401, tail(stack.srv.logs()));
        } finally {
            await context.close();
        }
    });
});
