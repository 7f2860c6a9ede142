// The login transaction and the redirect target. Replayed, unknown and foreign states get a
// clear 4xx page. Floods of sign-in starts from many addresses do not keep others from
// signing in, and a sign-in may start on one instance and finish on another. Every open-redirect form of target_link_uri is rejected before the browser
// is sent to the provider. An unknown `iss` fetches nothing, and an `iss` on the callback
// never starts a new login.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertClientError, describeFlow, newAgent, signIn } from './lib/flows.mjs';
import { rawRequest } from './lib/agent.mjs';
import {
    initiateUrl, provisionUser, sleep, startStack, stopStack, tableEntries, tail,
} from './lib/stack.mjs';
import { freePort, startIdgate } from '../integration/lib/idgate.mjs';

// The shortest login_timeout idgate accepts, in seconds.
const LOGIN_TIMEOUT = 30;

// Transaction cookies a browser can hold (OIDC_TX_SLOTS), and the longest target kept in one
// (OIDC_TX_TARGET_MAX), in src/oidc/tx.h.
const TX_SLOTS = 6;
const TX_TARGET_MAX = 256;

const USER = { sub: 'redirect-sub-1', email: 'rae@acme.test', preferred_username: 'rae@acme.test',
    name: 'Rae Example' };

// Targets a browser or proxy could read as another host. Each is the decoded value of
// target_link_uri; URLSearchParams encodes it on the way.
const BAD_TARGETS = [
    '//evil.example',
    '///evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    '\\/evil.example',
    'https:evil.example',
    'https:/evil.example',
    'https://evil.example/',
    'http://evil.example',
    'HTTPS://EVIL.EXAMPLE',
    '/%2F%2Fevil.example',
    '/%2f%2fevil.example',
    '%2F%2Fevil.example',
    '/%5Cevil.example',
    '/%5cevil.example',
    '/%5C%5Cevil.example',
    '/%255C%255Cevil.example',
    'https://user@evil.example',
    'https://user:pass@evil.example/',
    'http://127.0.0.1.evil.example/',
    'http://127.0.0.1@evil.example/',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    '/\t/evil.example',
    '/\n/evil.example',
    '\t//evil.example',
    ' //evil.example',
    '/\r\n/evil.example',
    '/%09/evil.example',
    '/%0a/evil.example',
    'evil.example',
];

describe('login transaction and redirect target', () => {
    let stack;
    let allowedOrigin;

    before(async () => {
        allowedOrigin = `http://127.0.0.1:${await freePort()}`;
        stack = await startStack({
            provider: 'faulty',
            config: { oidc: { allowed_redirect_origins: allowedOrigin,
                login_timeout: LOGIN_TIMEOUT } },
        });
        stack.op.user = { ...USER };
        await provisionUser(stack, { userName: USER.email, externalId: USER.sub,
            displayName: USER.name });
    });

    after(async () => {
        await stopStack(stack);
    });

    // Runs the flow up to the provider's redirect back; returns { agent, callbackUrl }.
    async function untilCallback(agent = newAgent(stack)) {
        const res = await agent.follow(initiateUrl(stack, { loginHint: USER.email,
            target: '/app' }), {}, {
            maxRedirects: 4,
            stopAt: (next) => next.startsWith(stack.redirectUri),
        });
        assert.ok(res.stoppedAt, `the flow did not reach the callback: ${res.status} `
            + `${res.body.slice(0, 200)}\n${tail(stack.srv.logs())}`);
        return { agent, callbackUrl: res.stoppedAt };
    }

    function assertErrorPage(res, expected = 400) {
        assert.equal(res.status, expected, `${res.method} ${res.url} returned ${res.status}: `
            + `${res.body.slice(0, 300)}\nserver log:\n${tail(stack.srv.logs())}`);
        assert.match(res.headers['content-type'] ?? '', /text\/html/);
        assert.equal(res.headers.location, undefined);
    }

    async function assertNoSession(agent) {
        const session = await agent.request(`${stack.publicUrl}/session`);
        assert.equal(session.status, 401);
    }

    test('good login works as control', async () => {
        const flow = await signIn(stack, { loginHint: USER.email });
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));
    });

    test('IdP-initiated without login_hint works', async () => {
        const flow = await signIn(stack, { url: initiateUrl(stack, { target: '/app' }) });
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));
        const sent = new URLSearchParams(stack.op.authorizations.at(-1));
        assert.equal(sent.get('login_hint'), null);
    });

    test('app-initiated with account works', async () => {
        const url = `${stack.publicUrl}/auth/okta?account=${stack.account.id}`
            + `&login_hint=${encodeURIComponent(USER.email)}&target_link_uri=%2Fapp`;
        const flow = await signIn(stack, { url });
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));
    });

    test('unknown account gets 400 page', async () => {
        const agent = newAgent(stack);
        const authorizations = stack.op.authorizations.length;
        const bogus = stack.account.id.replace(/[0-9a-f]$/, (c) => (c === '0' ? '1' : '0'));
        for (const account of [bogus, 'x', '../..', '']) {
            const res = await agent.request(`${stack.publicUrl}/auth/okta?account=`
                + `${encodeURIComponent(account)}&target_link_uri=%2Fapp`);
            assertClientError(res.status, `account ${JSON.stringify(account)}: ${res.body}`);
        }
        assert.equal(stack.op.authorizations.length, authorizations);
    });

    test('initiate without parameters shows signin', async () => {
        const res = await newAgent(stack).request(`${stack.publicUrl}/auth/okta`);
        assert.equal(res.status, 302);
        assert.equal(new URL(res.headers.location, stack.publicUrl).pathname, '/signin');
    });

    test('replayed state gets 400 page', async () => {
        const { agent, callbackUrl } = await untilCallback();
        const tokenRequests = stack.op.tokenRequests.length;
        const first = await agent.request(callbackUrl);
        assert.equal(first.status, 302, `first callback: ${first.status} ${first.body}`);
        assert.equal(new URL(first.headers.location, stack.publicUrl).pathname, '/app');

        const second = await agent.request(callbackUrl);
        assertErrorPage(second);
        assert.equal(stack.op.tokenRequests.length, tokenRequests + 1,
            'the replay exchanged the code again');

        const stranger = newAgent(stack);
        assertErrorPage(await stranger.request(callbackUrl));
        await assertNoSession(stranger);
    });

    test('state from another browser rejected', async () => {
        const { callbackUrl } = await untilCallback();
        const tokenRequests = stack.op.tokenRequests.length;
        const attacker = newAgent(stack);
        const res = await attacker.request(callbackUrl);
        assertClientError(res.status, `callback in another browser\n${tail(stack.srv.logs())}`);
        await assertNoSession(attacker);
        assert.equal(stack.op.tokenRequests.length, tokenRequests,
            'the code was exchanged for a browser that did not start the login');
    });

    test('expired transaction gets 400 page', async () => {
        const { agent, callbackUrl } = await untilCallback();
        const tokenRequests = stack.op.tokenRequests.length;
        await sleep(LOGIN_TIMEOUT * 1000 + 1500);
        assertErrorPage(await agent.request(callbackUrl));
        assert.equal(stack.op.tokenRequests.length, tokenRequests,
            'the code of an expired login was exchanged');
        await assertNoSession(agent);
    });

    test('unknown state gets 400 page', async () => {
        const agent = newAgent(stack);
        const tokenRequests = stack.op.tokenRequests.length;
        assertErrorPage(await agent.request(`${stack.redirectUri}?code=abc&state=unknown`));
        assertErrorPage(await agent.request(`${stack.redirectUri}?code=abc`));
        assertErrorPage(await agent.request(stack.redirectUri));
        assertErrorPage(await agent.request(stack.redirectUri, { method: 'POST',
            form: { code: 'abc', state: 'unknown' } }));
        assert.equal(stack.op.tokenRequests.length, tokenRequests);
        await assertNoSession(agent);
    });

    test('provider error response gets 4xx page', async () => {
        const { agent, callbackUrl } = await untilCallback();
        const url = new URL(callbackUrl);
        url.searchParams.delete('code');
        url.searchParams.set('error', 'access_denied');
        url.searchParams.set('error_description', 'User is not assigned to the client');
        const res = await agent.request(url.href);
        assertClientError(res.status, `error callback\n${tail(stack.srv.logs())}`);
        assert.doesNotMatch(res.body, /<script>/);
        await assertNoSession(agent);

        // The failure is audited for the account whose sign-in it ended.
        let reasons = [];
        for (let i = 0; i < 30 && !reasons.includes('the provider returned access_denied'); i++) {
            await sleep(100);
            const out = await stack.srv.cliJson(['audit', 'list', '--account', stack.account.id,
                '--kind', 'signin.failed']);
            reasons = out.events.map((e) => e.details.reason);
        }
        assert.ok(reasons.includes('the provider returned access_denied'),
            `audited reasons: ${JSON.stringify(reasons)}`);
    });

    test('unfinished sign-ins stay bounded', async () => {
        const agent = newAgent(stack);
        for (let i = 0; i < 12; i++) {
            await untilCallback(agent);
        }
        const txCookies = agent.cookiesFor(stack.publicUrl)
            .filter((c) => c.name.includes('idgate_tx_'));
        assert.ok(txCookies.length <= TX_SLOTS, `${txCookies.length} binding cookies kept`);
        const { callbackUrl } = await untilCallback(agent);
        const res = await agent.request(callbackUrl);
        assert.equal(res.status, 302, `${res.status} ${res.body}\n${tail(stack.srv.logs())}`);
        const session = await agent.request(`${stack.publicUrl}/session`);
        assert.equal(session.status, 200);
    });

    test('long targets keep cookies small', async () => {
        const agent = newAgent(stack);
        const target = `/app?q=${'a'.repeat(1900)}`;
        for (let i = 0; i < 6; i++) {
            const res = await agent.follow(initiateUrl(stack, { loginHint: USER.email, target }),
                {}, { maxRedirects: 4, stopAt: (next) => next.startsWith(stack.redirectUri) });
            assert.ok(res.stoppedAt, `start ${i}: ${res.status}\n${tail(stack.srv.logs())}`);
            const bytes = agent.cookiesFor(stack.publicUrl)
                .filter((c) => c.name.includes('idgate_tx_'))
                .reduce((sum, c) => sum + c.name.length + 1 + c.value.length, 0);
            assert.ok(bytes <= 6000, `start ${i}: ${bytes} bytes of transaction cookies`);
        }
        const res = await agent.follow(initiateUrl(stack, { loginHint: USER.email, target }),
            {}, { maxRedirects: 4, stopAt: (next) => next.startsWith(stack.redirectUri) });
        const done = await agent.request(res.stoppedAt);
        assert.equal(done.status, 302, `${done.status} ${done.body}\n${tail(stack.srv.logs())}`);
        // A target too long to keep in the cookie ends the sign-in on the start page.
        assert.equal(done.headers.location, '/');
    });

    test('parallel starts cannot lock browser out', async () => {
        const agent = newAgent(stack);
        const target = `/app?q=${'a'.repeat(TX_TARGET_MAX - '/app?q='.length)}`;
        // Each request carries the same Cookie header, as from tabs restored at once, so no
        // start finds the cookies of the others.
        const starts = await Promise.all(Array.from({ length: 20 }, () => agent.request(
            initiateUrl(stack, { loginHint: USER.email, target }))));
        for (const res of starts) {
            assert.equal(res.status, 302, `${res.status} ${res.body}\n${tail(stack.srv.logs())}`);
        }
        const txCookies = agent.cookiesFor(stack.publicUrl)
            .filter((c) => c.name.includes('idgate_tx_'));
        assert.ok(txCookies.length <= TX_SLOTS, `${txCookies.length} transaction cookies`);
        const line = agent.cookiesFor(stack.publicUrl).map((c) => `${c.name}=${c.value}`)
            .join('; ');
        assert.ok(line.length < 6000, `Cookie line of ${line.length} bytes`);
        const session = await agent.request(`${stack.publicUrl}/session`);
        assert.equal(session.status, 401);

        // A start whose cookie the browser kept still finishes with its full target.
        const kept = new Set(txCookies.map((c) => `${c.name}=${c.value}`));
        const last = starts.find((res) => res.setCookies.some((l) => kept.has(l.split(';')[0])));
        assert.ok(last, 'no start set a cookie that the browser kept');
        const authorize = await agent.follow(last.headers.location, {}, { maxRedirects: 2,
            stopAt: (next) => next.startsWith(stack.redirectUri) });
        assert.ok(authorize.stoppedAt, `${authorize.status} ${authorize.body.slice(0, 200)}`);
        const done = await agent.request(authorize.stoppedAt);
        assert.equal(done.status, 302, `${done.status} ${done.body}\n${tail(stack.srv.logs())}`);
        assert.equal(done.headers.location, target);
    });

    test('provider error text not shown', async () => {
        const { agent, callbackUrl } = await untilCallback();
        const url = new URL(callbackUrl);
        url.searchParams.delete('code');
        url.searchParams.set('error', 'server_error');
        url.searchParams.set('error_description', 'Your account is locked. Call +1-555-0100');
        const res = await agent.request(url.href);
        assertClientError(res.status, `error callback\n${tail(stack.srv.logs())}`);
        assert.doesNotMatch(res.body, /locked|555-0100/);
        assert.match(stack.srv.logs(), /server_error/);
        await assertNoSession(agent);
    });

    test('callback with matching iss accepted', async () => {
        const { agent, callbackUrl } = await untilCallback();
        const url = new URL(callbackUrl);
        url.searchParams.set('iss', stack.issuer);
        const res = await agent.request(url.href);
        assert.equal(res.status, 302, `${res.status} ${res.body}\n${tail(stack.srv.logs())}`);
        const session = await agent.request(`${stack.publicUrl}/session`);
        assert.equal(session.status, 200);
    });

    test('callback with foreign iss rejected', async () => {
        const { agent, callbackUrl } = await untilCallback();
        const tokenRequests = stack.op.tokenRequests.length;
        const url = new URL(callbackUrl);
        url.searchParams.set('iss', `${stack.issuer}/other`);
        const res = await agent.request(url.href);
        assertClientError(res.status, `callback with a foreign iss\n${tail(stack.srv.logs())}`);
        assert.equal(stack.op.tokenRequests.length, tokenRequests,
            'the code was exchanged although the response came from another issuer');
        await assertNoSession(agent);
    });

    test('iss on callback starts no login', async () => {
        const agent = newAgent(stack);
        const requests = stack.op.requests.length;
        const url = new URL(stack.redirectUri);
        url.searchParams.set('iss', stack.issuer);
        url.searchParams.set('login_hint', USER.email);
        url.searchParams.set('target_link_uri', '/app');
        const res = await agent.request(url.href);
        assertErrorPage(res);
        assert.equal(stack.op.requests.length, requests, 'idgate contacted the provider');
    });

    test('unknown iss gets 400, nothing fetched', async () => {
        const agent = newAgent(stack);
        const unknownIssuers = [
            `${stack.issuer}/`,
            `${stack.issuer}/other`,
            stack.issuer.replace('https:', 'http:'),
            stack.issuer.toUpperCase(),
            'https://127.0.0.1:1',
        ];
        for (const iss of unknownIssuers) {
            const requests = stack.op.requests.length;
            const res = await agent.request(initiateUrl(stack, { iss, loginHint: USER.email,
                target: '/app' }));
            assertErrorPage(res);
            assert.equal(stack.op.requests.length, requests, `idgate contacted the provider `
                + `for iss ${iss}`);
        }
    });

    for (const target of BAD_TARGETS) {
        test(`target ${JSON.stringify(target)} rejected`, async () => {
            const agent = newAgent(stack);
            const authorizations = stack.op.authorizations.length;
            const res = await agent.request(initiateUrl(stack, { loginHint: USER.email,
                target }));
            assertErrorPage(res);
            assert.equal(stack.op.authorizations.length, authorizations,
                'the browser was sent to the provider');
        });
    }

    const goodTargets = () => [
        '/app',
        '/app/reports?month=2026-11&view=table',
        `${stack.publicUrl}/app/deep`,
        `${allowedOrigin}/dashboard`,
    ];
    test('safe targets reached after login', async () => {
        for (const target of goodTargets()) {
            const flow = await signIn(stack, { loginHint: USER.email, target });
            assert.equal(flow.callback.stoppedAt, new URL(target, stack.publicUrl).href,
                `target ${target}\n${describeFlow(stack, flow)}`);
        }
    });
});

describe('email sign-in page', () => {
    let stack;

    before(async () => {
        stack = await startStack({ provider: 'faulty' });
        await stack.srv.createAccount('Pending Corp', { domain: 'pending.test' });
    });

    after(async () => {
        await stopStack(stack);
    });

    function assertSentToInitiate(res, email) {
        const location = new URL(res.headers.location ?? '/', stack.publicUrl);
        assert.equal(location.pathname, '/auth/okta', `${res.status} ${res.body.slice(0, 200)}`);
        assert.equal(location.searchParams.get('account'), stack.account.id);
        assert.equal(location.searchParams.get('login_hint'), email);
    }

    test('form page renders', async () => {
        const res = await newAgent(stack).request(`${stack.publicUrl}/signin`);
        assert.equal(res.status, 200);
        assert.match(res.body, /<input[^>]*name="email"/);
    });

    test('GET with email redirects', async () => {
        const url = `${stack.publicUrl}/signin?email=${encodeURIComponent('Rae@ACME.test')}`;
        const res = await newAgent(stack).request(url);
        assert.equal(res.status, 302);
        assertSentToInitiate(res, 'Rae@ACME.test');
    });

    test('POST with email redirects', async () => {
        const res = await newAgent(stack).request(`${stack.publicUrl}/signin`, {
            method: 'POST', form: { email: 'rae@acme.test' } });
        assert.equal(res.status, 303);
        assertSentToInitiate(res, 'rae@acme.test');
    });

    const unknownEmails = ['rae@other.test', 'rae@pending.test', 'rae@sub.acme.test',
        'rae@acme.test.evil.example', 'rae@', 'acme.test'];
    for (const email of unknownEmails) {
        test(`email ${email} not sent to a provider`, async () => {
            const res = await newAgent(stack).request(`${stack.publicUrl}/signin`, {
                method: 'POST', form: { email } });
            assertClientError(res.status, res.body.slice(0, 200));
            assert.equal(res.headers.location, undefined);
            assert.match(res.body, /<input[^>]*name="email"/);
        });
    }
});

describe('sign-in starts from many addresses', () => {
    // More starts than 1000, the per-account cap that earlier versions kept in the store.
    const ADDRESSES = 20;
    const STARTS_PER_ADDRESS = 55;
    let stack;

    before(async () => {
        // 127.0.0.1 is a trusted proxy, so each request counts for its X-Forwarded-For
        // address, and the default limit of 60 starts per minute and address applies.
        stack = await startStack({ provider: 'faulty',
            config: { http: { trusted_proxies: '127.0.0.1' } } });
        stack.op.user = { ...USER };
        await provisionUser(stack, { userName: USER.email, externalId: USER.sub,
            displayName: USER.name });
    });

    after(async () => {
        await stopStack(stack);
    });

    // Sends `count` starts for the account from `address`, eight at a time, and returns
    // a Map of status to count.
    async function flood(address, count, statuses = new Map()) {
        const url = `${stack.publicUrl}/auth/okta?account=${stack.account.id}`;
        for (let sent = 0; sent < count; sent += 8) {
            const batch = await Promise.all(Array.from({ length: Math.min(8, count - sent) },
                () => fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10000),
                    headers: { 'X-Forwarded-For': address } })));
            for (const res of batch) {
                statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
                await res.arrayBuffer();
            }
        }
        return statuses;
    }

    test('flood leaves sign-in working', async () => {
        const statuses = new Map();
        for (let i = 1; i <= ADDRESSES; i++) {
            await flood(`198.51.100.${i}`, STARTS_PER_ADDRESS, statuses);
        }
        assert.equal(statuses.get(302), ADDRESSES * STARTS_PER_ADDRESS,
            `${JSON.stringify([...statuses])}\n${tail(stack.srv.logs())}`);
        assert.equal(tableEntries(stack, 'logins'), 0, 'starting a sign-in stored a record');

        const flow = await signIn(stack, { loginHint: USER.email });
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));
        // The completed sign-in records its state, so that it cannot be used again.
        assert.equal(tableEntries(stack, 'logins'), 1);
    });

    test('one address still limited per minute', async () => {
        const statuses = await flood('203.0.113.7', 64);
        assert.equal(statuses.get(302), 60, JSON.stringify([...statuses]));
        assert.equal(statuses.get(429), 4, JSON.stringify([...statuses]));
        const flow = await signIn(stack, { loginHint: USER.email });
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));
    });
});

describe('two instances sharing one store', () => {
    let stack;
    let second;

    before(async () => {
        stack = await startStack({ provider: 'faulty' });
        stack.op.user = { ...USER };
        await provisionUser(stack, { userName: USER.email, externalId: USER.sub,
            displayName: USER.name });
        const { config } = stack.srv;
        second = await startIdgate({
            config: {
                store: { path: config.store.path },
                server: { base_url: stack.publicUrl },
                oidc: config.oidc,
                admin: config.admin,
            },
            env: { IDGATE_OIDC_MASTER_KEY: stack.masterKey },
        });
    });

    after(async () => {
        await second?.cleanup();
        await stopStack(stack);
    });

    // Starts a sign-in at `start` and sends the provider's response to `finish`.
    async function signInAcross(start, finish) {
        const agent = newAgent(stack);
        const res = await agent.follow(`${start}/auth/okta?account=${stack.account.id}`
            + '&target_link_uri=%2Fapp', {}, {
            maxRedirects: 4,
            stopAt: (next) => next.startsWith(stack.redirectUri),
        });
        assert.ok(res.stoppedAt, `the flow did not reach the callback: ${res.status}`);
        const callback = new URL(res.stoppedAt);
        const url = `${finish}${callback.pathname}${callback.search}`;
        const cookieHeader = agent.cookiesFor(url).map((c) => `${c.name}=${c.value}`)
            .join('; ');
        return { url, cookieHeader, res: await agent.request(url) };
    }

    test('callback on the other instance signs in', async () => {
        for (const [start, finish] of [[stack.baseUrl, second.baseUrl],
            [second.baseUrl, stack.baseUrl]]) {
            const { res } = await signInAcross(start, finish);
            assert.equal(res.status, 302, `${start} -> ${finish}: ${res.status} `
                + `${res.body.slice(0, 200)}\n${tail(stack.srv.logs())}\n${tail(second.logs())}`);
            assert.equal(new URL(res.headers.location, stack.publicUrl).pathname, '/app');
        }
    });

    test('replay on the other instance rejected', async () => {
        const { url, cookieHeader, res } = await signInAcross(stack.baseUrl, stack.baseUrl);
        assert.equal(res.status, 302, `${res.status} ${res.body.slice(0, 200)}`);
        const tokenRequests = stack.op.tokenRequests.length;
        // The response is sent again to the other instance, with the transaction cookie
        // that the first callback deleted.
        const replay = await rawRequest(url.replace(stack.baseUrl, second.baseUrl),
            { headers: { cookie: cookieHeader } });
        assertClientError(replay.status, `${replay.body.slice(0, 200)}\n${tail(second.logs())}`);
        assert.match(replay.body, /already completed/);
        assert.equal(stack.op.tokenRequests.length, tokenRequests, 'the code was redeemed again');
    });
});

describe('provider that sends iss', () => {
    let stack;

    before(async () => {
        stack = await startStack({ provider: 'faulty' });
        stack.op.issParameter = true;
        stack.op.user = { ...USER };
        await provisionUser(stack, { userName: USER.email, externalId: USER.sub });
    });

    after(async () => {
        await stopStack(stack);
    });

    async function untilCallback(agent) {
        const res = await agent.follow(initiateUrl(stack, { loginHint: USER.email }), {}, {
            maxRedirects: 4,
            stopAt: (next) => next.startsWith(stack.redirectUri),
        });
        assert.ok(res.stoppedAt, `the flow did not reach the callback: ${res.status}\n`
            + tail(stack.srv.logs()));
        return new URL(res.stoppedAt);
    }

    test('response with iss accepted', async () => {
        const agent = newAgent(stack);
        const url = await untilCallback(agent);
        assert.equal(url.searchParams.get('iss'), stack.issuer);
        const res = await agent.request(url.href);
        assert.equal(res.status, 302, `${res.status} ${res.body}\n${tail(stack.srv.logs())}`);
    });

    test('response without iss rejected', async () => {
        const agent = newAgent(stack);
        const url = await untilCallback(agent);
        url.searchParams.delete('iss');
        const tokenRequests = stack.op.tokenRequests.length;
        const res = await agent.request(url.href);
        assertClientError(res.status, `${res.body.slice(0, 200)}\n${tail(stack.srv.logs())}`);
        assert.equal(stack.op.tokenRequests.length, tokenRequests, 'the code was redeemed');
        const session = await agent.request(`${stack.publicUrl}/session`);
        assert.equal(session.status, 401);
    });
});

describe('discovery endpoints on other hosts', () => {
    let stack;

    before(async () => {
        stack = await startStack({ provider: 'faulty' });
        stack.op.user = { ...USER };
        await provisionUser(stack, { userName: USER.email, externalId: USER.sub });
        // Port 9 on 127.0.0.1 is not the provider: the client secret must never go there.
        stack.op.discoveryOverrides = { token_endpoint: 'https://localhost:9/token' };
    });

    after(async () => {
        await stopStack(stack);
    });

    test('sign-in stops before the provider', async () => {
        const flow = await signIn(stack);
        assert.equal(stack.op.authorizations.length, 0,
            `the browser was sent to the provider\n${describeFlow(stack, flow)}`);
        assert.ok(flow.callback.status >= 400, describeFlow(stack, flow));
        assert.equal(flow.session.status, 401);
        assert.match(stack.srv.logs(), /token_endpoint/);
    });

    test('idp set rejects the document', async () => {
        const out = await stack.srv.cli(['idp', 'set', '--account', stack.account.id,
            '--issuer', stack.issuer, '--client-id', stack.clientId]);
        assert.equal(out.code, 1, out.stdout);
        assert.match(out.stderr, /token_endpoint.*allowed_hosts/);
    });
});

describe('sign-in starts per client address', () => {
    const PER_ADDRESS = 5;
    let stack;

    before(async () => {
        stack = await startStack({ provider: 'faulty',
            config: { oidc: { login_starts_per_address: PER_ADDRESS } } });
    });

    after(async () => {
        await stopStack(stack);
    });

    test('starts beyond the limit get 429', async () => {
        const url = `${stack.publicUrl}/auth/okta?account=${stack.account.id}`;
        const statuses = [];
        for (let i = 0; i < PER_ADDRESS + 2; i++) {
            const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
            statuses.push(res.status);
            await res.arrayBuffer();
        }
        assert.deepEqual(statuses, [...Array(PER_ADDRESS).fill(302), 429, 429],
            tail(stack.srv.logs()));
        assert.match(stack.srv.logs(), /client address/);
    });
});
