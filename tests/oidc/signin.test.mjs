// Sign-in through a real OpenID provider (oidc-provider) in a real browser (Chromium). It
// covers the app-initiated login from the email form, the IdP-initiated login of a dashboard
// tile, the form_post response mode, two tabs at once, logout and session refresh with the
// provider's refresh token. Only active users provisioned over SCIM may sign in.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, pageText, withScreenshot } from './lib/browser.mjs';
import {
    deactivateUser, initiateUrl, provisionUser, setAccountSettings, sleep, startStack, stopStack,
    tail,
} from './lib/stack.mjs';

const PEOPLE = {
    alice: { login: 'alice@acme.test', sub: 'okta-sub-alice', email: 'alice@acme.test',
        name: 'Alice Example' },
    bob: { login: 'bob@acme.test', sub: 'okta-sub-bob', email: 'bob@acme.test',
        name: 'Bob Unprovisioned' },
    carol: { login: 'carol@acme.test', sub: 'okta-sub-carol', email: 'carol@acme.test',
        name: 'Carol Example' },
    dave: { login: 'dave@acme.test', sub: 'okta-sub-dave', email: 'dave@acme.test',
        name: 'Dave Deactivated' },
    erin: { login: 'erin@acme.test', sub: 'okta-sub-erin', email: 'erin@acme.test',
        name: 'Erin Example' },
    grace: { login: 'grace.h', sub: 'okta-sub-grace', email: 'Grace@Acme.test',
        preferred_username: 'grace.h', name: 'Grace Example' },
    frank: { login: 'frank@acme.test', sub: 'okta-sub-frank', email: 'frank@acme.test',
        name: 'Frank Example' },
};

const NO_ACCESS_TEXT = /administrator/i;

function isOn(stack, path) {
    return (url) => url.origin === new URL(stack.publicUrl).origin && url.pathname === path;
}

// Completes the provider's login form; the page must be on its way to the provider.
async function loginAtProvider(stack, page, person, { expectHint = true } = {}) {
    await page.waitForURL((url) => url.href.startsWith(`${stack.issuer}/interaction/`));
    if (expectHint) {
        assert.equal(await page.inputValue('#login'), person.login,
            'login_hint did not reach the provider');
    }
    await page.fill('#login', person.login);
    await page.click('#submit');
}

async function sessionOf(stack, context) {
    const res = await context.request.get(`${stack.baseUrl}/session`, {
        failOnStatusCode: false,
        maxRedirects: 0,
    });
    const text = await res.text();
    let json;
    try {
        json = JSON.parse(text);
    } catch {
        json = undefined;
    }
    return { status: res.status(), headers: res.headers(), text, json };
}

async function assertSignedIn(stack, context, scimUser) {
    const session = await sessionOf(stack, context);
    assert.equal(session.status, 200, `GET /session returned ${session.status}: `
        + `${session.text}\nserver log:\n${tail(stack.srv.logs())}`);
    assert.equal(session.json.account, stack.account.id);
    assert.equal(session.json.id, scimUser.id);
    assert.equal(session.json.userName, scimUser.userName);
    assert.equal(session.json.email?.toLowerCase(), scimUser.emails[0].value.toLowerCase());
    assert.ok(session.json.displayName, 'session has no displayName');
    assert.ok(['basic', 'pro'].includes(session.json.tier), `tier is ${session.json.tier}`);
    assert.equal(session.headers['x-idgate-user'], scimUser.userName);
    return session;
}

async function assertSignedOut(stack, context) {
    const session = await sessionOf(stack, context);
    assert.equal(session.status, 401, `GET /session returned ${session.status}: `
        + `${session.text}\nserver log:\n${tail(stack.srv.logs())}`);
}

// Opens idgate's home page, which shows the signed-in user, and presses its sign-out button.
// Returns the response to POST /auth/logout.
async function signOutFromHome(stack, page) {
    await page.goto(`${stack.publicUrl}/`);
    const logout = page.waitForResponse((res) => res.url() === `${stack.publicUrl}/auth/logout`);
    await page.click('#logout');
    return logout;
}

function callbackResponse(stack, page, method) {
    return page.waitForResponse((res) => res.url().startsWith(stack.redirectUri)
        && res.request().method() === method);
}

describe('sign-in with a real provider', () => {
    let stack;
    let browser;
    const users = {};

    before(async () => {
        stack = await startStack({ provider: 'real', users: Object.values(PEOPLE) });
        browser = await launchBrowser({ trustCert: stack.ca.cert });
        for (const name of ['alice', 'dave', 'erin']) {
            users[name] = await provisionUser(stack, { userName: PEOPLE[name].login,
                externalId: PEOPLE[name].sub, displayName: PEOPLE[name].name });
        }
        // Carol and Grace come from a directory without the provider's ids, so they have
        // no externalId and are matched by name or email.
        users.carol = await provisionUser(stack, { userName: 'Carol@Acme.test',
            email: 'carol@acme.test',
            displayName: PEOPLE.carol.name });
        users.grace = await provisionUser(stack, { userName: 'grace@acme.test',
            displayName: PEOPLE.grace.name });
        await deactivateUser(stack, users.dave.id);
    });

    after(async () => {
        await browser?.close();
        await stopStack(stack);
    });

    test('app-initiated login from email form', async () => {
        const context = await browser.newContext();
        const page = await context.newPage();
        await withScreenshot(page, 'signin-app-initiated', async () => {
            await page.goto(`${stack.baseUrl}/signin`);
            await page.fill('input[name=email]', PEOPLE.alice.email);
            await page.press('input[name=email]', 'Enter');
            await loginAtProvider(stack, page, PEOPLE.alice);
            await page.waitForURL((url) => url.origin === new URL(stack.baseUrl).origin
                && !url.pathname.startsWith('/auth/okta'));
            await assertSignedIn(stack, context, users.alice);
        });

        const authorize = stack.op.requests.filter((r) => r.path === '/auth').at(-1);
        assert.ok(authorize, 'the provider received no authorization request');
        const params = new URLSearchParams(authorize.query);
        assert.equal(params.get('response_type'), 'code');
        assert.equal(params.get('client_id'), stack.clientId);
        assert.equal(params.get('redirect_uri'), stack.redirectUri);
        assert.equal(params.get('code_challenge_method'), 'S256');
        assert.match(params.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
        assert.ok((params.get('state') ?? '').length >= 16, 'state shorter than 16 chars');
        assert.ok((params.get('nonce') ?? '').length >= 16, 'nonce shorter than 16 chars');
        assert.match(params.get('scope') ?? '', /\bopenid\b/);
        await context.close();
    });

    test('IdP-initiated login reaches target', async () => {
        const context = await browser.newContext();
        const page = await context.newPage();
        await withScreenshot(page, 'signin-idp-initiated', async () => {
            await page.goto(initiateUrl(stack, { loginHint: PEOPLE.alice.login,
                target: '/app' }));
            await loginAtProvider(stack, page, PEOPLE.alice);
            await page.waitForURL(isOn(stack, '/app'));
            await assertSignedIn(stack, context, users.alice);
        });
        await context.close();
    });

    test('account form-post setting applies', async () => {
        await setAccountSettings(stack, { 'form-post': true });
        try {
            const res = await fetch(initiateUrl(stack, { loginHint: PEOPLE.alice.login,
                target: '/app' }), { redirect: 'manual' });
            assert.equal(res.status, 302, `GET /auth/okta returned ${res.status}`);
            const location = new URL(res.headers.get('location'));
            assert.equal(location.searchParams.get('response_mode'), 'form_post',
                `authorization request: ${location.href}`);
        } finally {
            await setAccountSettings(stack, { 'form-post': false });
        }
    });

    test('two tabs sign in at once', async () => {
        const context = await browser.newContext();
        const first = await context.newPage();
        const second = await context.newPage();
        await withScreenshot(first, 'signin-two-tabs', async () => {
            await first.goto(initiateUrl(stack, { loginHint: PEOPLE.alice.login,
                target: '/one' }));
            await second.goto(initiateUrl(stack, { loginHint: PEOPLE.alice.login,
                target: '/two' }));
            await loginAtProvider(stack, first, PEOPLE.alice);
            await first.waitForURL(isOn(stack, '/one'));
            await loginAtProvider(stack, second, PEOPLE.alice);
            await second.waitForURL(isOn(stack, '/two'));
            await assertSignedIn(stack, context, users.alice);
        });
        await context.close();
    });

    test('logout ends the session', async () => {
        const context = await browser.newContext();
        const page = await context.newPage();
        await withScreenshot(page, 'signin-logout', async () => {
            await page.goto(initiateUrl(stack, { loginHint: PEOPLE.alice.login,
                target: '/app' }));
            await loginAtProvider(stack, page, PEOPLE.alice);
            await page.waitForURL(isOn(stack, '/app'));
            await assertSignedIn(stack, context, users.alice);
            const cookiesBefore = await context.cookies(stack.baseUrl);

            const res = await signOutFromHome(stack, page);
            assert.equal(res.status(), 303, `POST /auth/logout returned ${res.status()}`);
            await page.waitForURL(isOn(stack, '/signin'));
            await assertSignedOut(stack, context);

            // The old cookie must be dead on the server, not only deleted in the browser.
            const replay = await browser.newContext();
            await replay.addCookies(cookiesBefore);
            await assertSignedOut(stack, replay);
            await replay.close();
        });
        await context.close();
    });

    test('provider logout ends provider session', async () => {
        await setAccountSettings(stack, { 'provider-logout': true });
        const context = await browser.newContext();
        const page = await context.newPage();
        try {
            await withScreenshot(page, 'signin-provider-logout', async () => {
                await page.goto(initiateUrl(stack, { loginHint: PEOPLE.alice.login,
                    target: '/app' }));
                await loginAtProvider(stack, page, PEOPLE.alice);
                await page.waitForURL(isOn(stack, '/app'));

                const res = await signOutFromHome(stack, page);
                assert.equal(res.status(), 303, `POST /auth/logout returned ${res.status()}`);
                const endSession = new URL(res.headers().location);
                assert.equal(endSession.origin, new URL(stack.issuer).origin,
                    `logout went to ${endSession.href}, not to the provider`);
                assert.ok(endSession.searchParams.get('id_token_hint'), 'no id_token_hint');
                assert.equal(endSession.searchParams.get('post_logout_redirect_uri'),
                    `${stack.publicUrl}/signin`);
                await page.waitForURL(isOn(stack, '/signin'));
                await assertSignedOut(stack, context);

                // With the provider's session gone, the next sign-in shows its login form.
                await page.goto(initiateUrl(stack, { loginHint: PEOPLE.alice.login,
                    target: '/again' }));
                await page.waitForURL((url) => url.pathname.startsWith('/interaction/')
                    || isOn(stack, '/again')(url));
                assert.ok(page.url().startsWith(`${stack.issuer}/interaction/`),
                    `signed in again without the provider's login form: ${page.url()}`);
            });
        } finally {
            await context.close();
            await setAccountSettings(stack, { 'provider-logout': false });
        }
    });

    test('SCIM deactivation ends session at once', async () => {
        const context = await browser.newContext();
        const page = await context.newPage();
        await withScreenshot(page, 'signin-deactivate', async () => {
            await page.goto(initiateUrl(stack, { loginHint: PEOPLE.erin.login,
                target: '/app' }));
            await loginAtProvider(stack, page, PEOPLE.erin);
            await page.waitForURL(isOn(stack, '/app'));
            await assertSignedIn(stack, context, users.erin);
            await deactivateUser(stack, users.erin.id);
            await assertSignedOut(stack, context);
        });
        await context.close();
    });

    test('userName match without externalId', async () => {
        const context = await browser.newContext();
        const page = await context.newPage();
        await withScreenshot(page, 'signin-username-match', async () => {
            await page.goto(initiateUrl(stack, { loginHint: PEOPLE.carol.login,
                target: '/app' }));
            await loginAtProvider(stack, page, PEOPLE.carol);
            await page.waitForURL(isOn(stack, '/app'));
            await assertSignedIn(stack, context, users.carol);
        });
        await context.close();
    });

    test('email match when username is no email', async () => {
        const context = await browser.newContext();
        const page = await context.newPage();
        await withScreenshot(page, 'signin-email-match', async () => {
            await page.goto(initiateUrl(stack, { loginHint: PEOPLE.grace.login,
                target: '/app' }));
            await loginAtProvider(stack, page, PEOPLE.grace);
            await page.waitForURL(isOn(stack, '/app'));
            await assertSignedIn(stack, context, users.grace);
        });
        await context.close();
    });

    for (const name of ['bob', 'dave']) {
        const userState = name === 'bob' ? 'unprovisioned' : 'deactivated';
        test(`${userState} user gets 403 page`, async () => {
            const context = await browser.newContext();
            const page = await context.newPage();
            await withScreenshot(page, `signin-403-${name}`, async () => {
                const callback = callbackResponse(stack, page, 'GET');
                await page.goto(initiateUrl(stack, { loginHint: PEOPLE[name].login,
                    target: '/app' }));
                await loginAtProvider(stack, page, PEOPLE[name]);
                const res = await callback;
                assert.equal(res.status(), 403, `callback returned ${res.status()}\n`
                    + `server log:\n${tail(stack.srv.logs())}`);
                await page.waitForLoadState();
                const text = await pageText(page);
                assert.match(text, NO_ACCESS_TEXT);
                assert.match(text, /access/i);
                assert.doesNotMatch(page.url(), /\/app$/);
                await assertSignedOut(stack, context);
            });
            await context.close();
        });
    }
});

describe('form_post response mode', () => {
    let stack;
    let browser;
    let alice;

    before(async () => {
        stack = await startStack({ provider: 'real', users: [PEOPLE.alice],
            config: { oidc: { response_mode: 'form_post' } } });
        browser = await launchBrowser({ trustCert: stack.ca.cert });
        alice = await provisionUser(stack, { userName: PEOPLE.alice.login,
            externalId: PEOPLE.alice.sub, displayName: PEOPLE.alice.name });
    });

    after(async () => {
        await browser?.close();
        await stopStack(stack);
    });

    test('cross-site POST callback signs in', async () => {
        const context = await browser.newContext();
        const page = await context.newPage();
        await withScreenshot(page, 'signin-form-post', async () => {
            const callback = callbackResponse(stack, page, 'POST');
            await page.goto(initiateUrl(stack, { loginHint: PEOPLE.alice.login,
                target: '/app' }));
            await loginAtProvider(stack, page, PEOPLE.alice);
            const res = await callback;
            assert.ok([302, 303].includes(res.status()), `POST callback returned `
                + `${res.status()}\nserver log:\n${tail(stack.srv.logs())}`);
            await page.waitForURL(isOn(stack, '/app'));
            await assertSignedIn(stack, context, alice);
        });
        const authorize = stack.op.requests.filter((r) => r.path === '/auth').at(-1);
        assert.equal(new URLSearchParams(authorize.query).get('response_mode'), 'form_post');
        await context.close();
    });
});

describe('session refresh with the provider', () => {
    const RECHECK_SECONDS = 2;
    let stack;
    let browser;
    let frank;

    before(async () => {
        stack = await startStack({
            provider: 'real',
            users: [PEOPLE.frank],
            config: { session: { recheck_interval: RECHECK_SECONDS } },
            accountSettings: { 'refresh-tokens': true },
        });
        browser = await launchBrowser({ trustCert: stack.ca.cert });
        frank = await provisionUser(stack, { userName: PEOPLE.frank.login,
            externalId: PEOPLE.frank.sub, displayName: PEOPLE.frank.name });
    });

    after(async () => {
        await browser?.close();
        await stopStack(stack);
    });

    function refreshEvents(type) {
        return stack.op.events.filter((e) => e.grantType === 'refresh_token' && e.type === type);
    }

    // Polls GET /session once a second until done(session) or the attempts run out.
    async function pollSession(context, done, attempts) {
        let session;
        for (let i = 0; i < attempts; i++) {
            session = await sessionOf(stack, context);
            if (done(session)) {
                return session;
            }
            await sleep(1000);
        }
        return session;
    }

    test('refresh keeps then revocation ends session', async () => {
        const context = await browser.newContext();
        const page = await context.newPage();
        await withScreenshot(page, 'signin-refresh', async () => {
            await page.goto(initiateUrl(stack, { loginHint: PEOPLE.frank.login,
                target: '/app' }));
            await loginAtProvider(stack, page, PEOPLE.frank);
            await page.waitForURL(isOn(stack, '/app'));
            await assertSignedIn(stack, context, frank);
        });
        const authorize = stack.op.requests.filter((r) => r.path === '/auth').at(-1);
        assert.match(new URLSearchParams(authorize.query).get('scope') ?? '',
            /\boffline_access\b/);

        const refreshed = await pollSession(context,
            () => refreshEvents('grant.success').length > 0, RECHECK_SECONDS + 8);
        assert.ok(refreshEvents('grant.success').length > 0,
            `no refresh_token grant within ${RECHECK_SECONDS + 8} s; last /session `
            + `${refreshed.status}\nserver log:\n${tail(stack.srv.logs())}`);
        await assertSignedIn(stack, context, frank);

        assert.ok(stack.op.revokeGrants(PEOPLE.frank.login) >= 1, 'no grant to revoke');
        const ended = await pollSession(context, (s) => s.status === 401, RECHECK_SECONDS + 8);
        assert.equal(ended.status, 401, `session still valid after the grant was revoked\n`
            + `server log:\n${tail(stack.srv.logs())}`);
        const errors = refreshEvents('grant.error');
        assert.ok(errors.length > 0, 'idgate did not try to refresh after the revocation');
        assert.equal(errors[0].error, 'invalid_grant');
        await context.close();
    });
});
