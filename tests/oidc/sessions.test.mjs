// Sessions after a sign-in through the fault-injecting provider. The first suite checks the
// cookie's attributes and lifetime, GET /session with missing or forged cookies, logout
// against cross-site requests, and that no secret reaches the log or the store in plain
// text. The second checks that SCIM deactivation and deletion end sessions, that users of
// other accounts are rejected, and that a pro group sets the session's tier. The third checks
// the audit events of sign-ins and identity-provider changes, and the last that addresses in
// a domain another account verified never sign in.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describeFlow, newAgent, signIn } from './lib/flows.mjs';
import { FAULTS } from './lib/faulty-op.mjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
    deactivateUser, provisionUser, scim, setAccountSettings, sleep, startStack, stopStack, tail,
    USER_SCHEMA, verifyDomain,
} from './lib/stack.mjs';

const USER = { sub: 'session-sub-1', email: 'sam@acme.test', preferred_username: 'sam@acme.test',
    name: 'Sam Example' };
const SERVER_LIFETIME = 900;
const ACCOUNT_LIFETIME = 600;

// Returns the attributes of the Set-Cookie line for the session cookie in the callback's
// response, keyed by lower-case name, with the cookie's own name and value.
function sessionCookie(flow) {
    const line = flow.callback.setCookies.find((c) => /^(__Host-)?idgate_session=[^;]/.test(c));
    assert.ok(line, `no session cookie set\n${flow.callback.setCookies.join('\n')}`);
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const cookie = { name: pair.slice(0, pair.indexOf('=')),
        value: pair.slice(pair.indexOf('=') + 1) };
    for (const attribute of attributes) {
        const [key, ...rest] = attribute.split('=');
        cookie[key.toLowerCase()] = rest.length ? rest.join('=') : true;
    }
    return cookie;
}

describe('session cookie and lifetime', () => {
    let stack;

    before(async () => {
        stack = await startStack({ provider: 'faulty',
            config: { session: { absolute_lifetime: SERVER_LIFETIME } } });
        stack.op.user = { ...USER };
        await provisionUser(stack, { userName: USER.email, externalId: USER.sub,
            displayName: USER.name });
    });

    after(async () => {
        await stopStack(stack);
    });

    async function signedIn() {
        const flow = await signIn(stack, { loginHint: USER.email });
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));
        return flow;
    }

    test('cookie attributes', async () => {
        const flow = await signedIn();
        const cookie = sessionCookie(flow);
        assert.equal(cookie.name, '__Host-idgate_session');
        assert.equal(cookie.path, '/');
        assert.equal(cookie.httponly, true);
        assert.equal(cookie.secure, true);
        assert.equal(cookie.samesite?.toLowerCase(), 'lax');
        assert.equal(cookie.domain, undefined);
        assert.ok(cookie.value.length >= 32, 'session id shorter than 32 characters');
        // Only the login transaction cookie is larger: its sealed value is at most 3800
        // bytes, and it carries neither a token nor the nonce in plain text.
        const nonce = new URLSearchParams(stack.op.authorizations.at(-1)).get('nonce');
        for (const res of flow.chain) {
            for (const line of res.setCookies) {
                const limit = line.startsWith('__Host-idgate_tx_') ? 4000 : 300;
                assert.ok(line.length < limit, `cookie of ${line.length} bytes from ${res.url}`);
                assert.ok(!line.includes(nonce), `cookie with the nonce from ${res.url}`);
            }
        }
    });

    test('server lifetime sets cookie Max-Age', async () => {
        const cookie = sessionCookie(await signedIn());
        const maxAge = Number(cookie['max-age']);
        assert.ok(maxAge > 0, `Max-Age is ${cookie['max-age']}`);
        assert.ok(maxAge <= SERVER_LIFETIME, `Max-Age ${maxAge} exceeds ${SERVER_LIFETIME}`);
    });

    test('account lifetime setting applies', async () => {
        await setAccountSettings(stack, { 'absolute-lifetime': ACCOUNT_LIFETIME });
        try {
            const cookie = sessionCookie(await signedIn());
            const maxAge = Number(cookie['max-age']);
            assert.ok(maxAge > 0, `Max-Age is ${cookie['max-age']}`);
            assert.ok(maxAge <= ACCOUNT_LIFETIME, `Max-Age ${maxAge} exceeds the account's `
                + `absolute_lifetime of ${ACCOUNT_LIFETIME}`);
        } finally {
            await setAccountSettings(stack, { 'absolute-lifetime': 0 });
        }
    });

    test('missing or forged cookie gets 401', async () => {
        const flow = await signedIn();
        const cookie = sessionCookie(flow);
        const forged = [
            undefined,
            `${cookie.name}=`,
            `${cookie.name}=${'A'.repeat(cookie.value.length)}`,
            `${cookie.name}=${cookie.value.slice(0, -1)}`,
            `${cookie.name}=${cookie.value}x`,
            `idgate_session=${cookie.value.toUpperCase()}`,
            `${cookie.name}=${'x'.repeat(5000)}`,
        ];
        for (const header of forged) {
            const res = await fetch(`${stack.publicUrl}/session`, {
                headers: header === undefined ? {} : { cookie: header },
                signal: AbortSignal.timeout(5000),
            });
            assert.equal(res.status, 401, `cookie ${String(header).slice(0, 60)}`);
            assert.equal(res.headers.get('x-idgate-user'), null);
        }
    });

    test('cross-site logout rejected', async () => {
        const { agent } = await signedIn();
        const attempts = [
            { origin: 'http://evil.example' },
            { origin: `${stack.publicUrl}.evil.example` },
            { origin: 'null' },
            { referer: 'http://evil.example/page' },
            { referer: `${stack.publicUrl}.evil.example/` },
            {},
        ];
        for (const headers of attempts) {
            const res = await agent.request(`${stack.publicUrl}/auth/logout`, { method: 'POST',
                headers });
            const session = await agent.request(`${stack.publicUrl}/session`);
            assert.equal(session.status, 200, `POST /auth/logout with ${JSON.stringify(headers)} `
                + `returned ${res.status} and ended the session`);
        }

        const res = await agent.request(`${stack.publicUrl}/auth/logout`, { method: 'POST',
            headers: { origin: stack.publicUrl } });
        assert.equal(res.status, 303, `same-origin logout returned ${res.status}`);
        const session = await agent.request(`${stack.publicUrl}/session`);
        assert.equal(session.status, 401);
    });

    test('logout by GET does nothing', async () => {
        const { agent } = await signedIn();
        await agent.request(`${stack.publicUrl}/auth/logout`);
        const session = await agent.request(`${stack.publicUrl}/session`);
        assert.equal(session.status, 200);
    });

    test('no secrets in server log', async () => {
        const flow = await signedIn();
        const cookie = sessionCookie(flow);
        const callbackUrl = flow.chain.find((res) => res.url.includes('/auth/okta/callback')).url;
        const code = new URL(callbackUrl).searchParams.get('code');
        const idToken = stack.op.issuedTokens.at(-1);
        const logs = stack.srv.logs();
        assert.ok(!logs.includes(code), 'the authorization code is in the log');
        assert.ok(!logs.includes(idToken.split('.')[2]), 'the ID token is in the log');
        assert.ok(!logs.includes(cookie.value), 'the session id is in the log');
        assert.ok(!logs.includes(stack.clientSecret), 'the client secret is in the log');
        assert.ok(!logs.includes(stack.masterKey), 'the master key is in the log');
        assert.ok(!logs.includes(stack.scimKey.token), `the SCIM key is in the log\n${tail(logs)}`);
    });

    test('no secrets in plain text in store', async () => {
        const cookie = sessionCookie(await signedIn());
        const store = readFileSync(join(stack.srv.dir, 'data', 'data.mdb')).toString('latin1');
        assert.ok(store.includes(USER.email), 'control: the user name is not in the store file');
        assert.ok(!store.includes(cookie.value), 'the session id is stored in plain text');
        const idToken = stack.op.issuedTokens.at(-1);
        assert.ok(!store.includes(idToken.split('.')[2]), 'the ID token is stored in plain text');
        assert.ok(!store.includes(stack.clientSecret), 'the client secret is stored in plain text');
        assert.ok(!store.includes(stack.masterKey), 'the master key is in the store');
        assert.ok(!store.includes(stack.scimKey.token), 'the SCIM key is stored in plain text');
    });
});

describe('session and directory changes', () => {
    let stack;
    let counter = 0;

    before(async () => {
        stack = await startStack({ provider: 'faulty' });
    });

    after(async () => {
        await stopStack(stack);
    });

    // Provisions a fresh user, makes the provider issue tokens for them and signs them in.
    async function newSignedInUser() {
        counter += 1;
        const email = `user${counter}@acme.test`;
        stack.op.user = { sub: `directory-sub-${counter}`, email, preferred_username: email,
            name: `User ${counter}` };
        const user = await provisionUser(stack, { userName: email,
            externalId: stack.op.user.sub, displayName: `User ${counter}` });
        const flow = await signIn(stack, { loginHint: email });
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));
        return { user, flow };
    }

    async function sessionStatus(agent) {
        return (await agent.request(`${stack.publicUrl}/session`)).status;
    }

    test('SCIM PATCH deactivation ends session', async () => {
        const { user, flow } = await newSignedInUser();
        await deactivateUser(stack, user.id);
        assert.equal(await sessionStatus(flow.agent), 401);
    });

    test('SCIM PUT deactivation ends session', async () => {
        const { user, flow } = await newSignedInUser();
        const res = await scim(stack, 'PUT', `/Users/${user.id}`, {
            schemas: [USER_SCHEMA],
            userName: user.userName,
            externalId: user.externalId,
            displayName: user.displayName,
            emails: user.emails,
            active: false,
        });
        assert.equal(res.status, 200, res.text);
        assert.equal(await sessionStatus(flow.agent), 401);
    });

    test('SCIM DELETE ends session', async () => {
        const { user, flow } = await newSignedInUser();
        const res = await scim(stack, 'DELETE', `/Users/${user.id}`);
        assert.equal(res.status, 204, res.text);
        assert.equal(await sessionStatus(flow.agent), 401);
    });

    test('other users keep their sessions', async () => {
        const first = await newSignedInUser();
        const second = await newSignedInUser();
        await deactivateUser(stack, first.user.id);
        assert.equal(await sessionStatus(first.flow.agent), 401);
        assert.equal(await sessionStatus(second.flow.agent), 200);
    });

    test('user of another account gets 403', async () => {
        const other = await stack.srv.createAccount('Other Corp');
        const otherKey = await stack.srv.createScimKey(other.id);
        stack.op.user = { sub: 'other-account-sub', email: 'oz@other.test',
            preferred_username: 'oz@other.test', name: 'Oz Other' };
        const res = await fetch(`${stack.baseUrl}/scim/v2/Users`, {
            method: 'POST',
            headers: { authorization: `Bearer ${otherKey.token}`,
                'content-type': 'application/scim+json' },
            body: JSON.stringify({ schemas: [USER_SCHEMA], userName: 'oz@other.test',
                externalId: 'other-account-sub', active: true,
                emails: [{ value: 'oz@other.test', primary: true }] }),
            signal: AbortSignal.timeout(5000),
        });
        assert.equal(res.status, 201, await res.text());

        const flow = await signIn(stack, { loginHint: 'oz@other.test' });
        assert.equal(flow.callback.status, 403, describeFlow(stack, flow));
        assert.equal(flow.session.status, 401);
    });

    test('unverified email matches nobody', async () => {
        counter += 1;
        const alice = await provisionUser(stack, { userName: `alice${counter}@acme.test` });
        stack.op.user = { sub: `okta-mallory-${counter}`, email: alice.userName,
            email_verified: false, preferred_username: `mallory${counter}@acme.test`,
            name: 'Mallory' };
        const flow = await signIn(stack, { loginHint: alice.userName });
        assert.equal(flow.callback.status, 403, describeFlow(stack, flow));
        assert.equal(flow.session.status, 401, describeFlow(stack, flow));

        // Control: the same claims with a verified email match by email.
        stack.op.user = { ...stack.op.user, email_verified: true };
        const verified = await signIn(stack, { loginHint: alice.userName });
        assert.equal(verified.session.status, 200, describeFlow(stack, verified));
    });

    test('name match with other externalId rejected', async () => {
        counter += 1;
        const alice = await provisionUser(stack, { userName: `alice${counter}@acme.test`,
            externalId: `okta-alice-${counter}` });
        const cases = [
            { preferred_username: alice.userName, email: `mallory${counter}@acme.test` },
            { email: alice.userName, email_verified: true },
        ];
        for (const claims of cases) {
            stack.op.user = { sub: `okta-mallory-${counter}`, name: 'Mallory', ...claims };
            const flow = await signIn(stack, { loginHint: alice.userName });
            assert.equal(flow.callback.status, 403, describeFlow(stack, flow));
            assert.equal(flow.session.status, 401, describeFlow(stack, flow));
        }
    });

    test('new sign-in replaces old session', async () => {
        const { flow } = await newSignedInUser();
        const cookieName = '__Host-idgate_session';
        const first = flow.agent.cookie(stack.publicUrl, cookieName).value;
        const second = await signIn(stack, { agent: flow.agent,
            loginHint: stack.op.user.email });
        assert.equal(second.session.status, 200, describeFlow(stack, second));
        assert.notEqual(flow.agent.cookie(stack.publicUrl, cookieName).value, first);
        const old = await fetch(`${stack.publicUrl}/session`, {
            headers: { cookie: `${cookieName}=${first}` },
            signal: AbortSignal.timeout(5000),
        });
        assert.equal(old.status, 401, 'the replaced session still works');
    });

    test('control characters never reach headers', async () => {
        counter += 1;
        const sub = `directory-sub-${counter}`;
        const email = `crlf${counter}@acme.test`;
        const created = await scim(stack, 'POST', '/Users', {
            schemas: [USER_SCHEMA],
            userName: `evil${counter}\r\nX-Idgate-Tier: pro@acme.test`,
            externalId: sub,
            emails: [{ value: `x\r\nX-Injected: 1@acme.test`, primary: true }],
            active: true,
        });
        if (created.status === 400) {
            return; // SCIM rejected the value, so no session can carry it.
        }
        assert.equal(created.status, 201, created.text);
        stack.op.user = { sub, email, preferred_username: email, name: 'Crlf' };
        const flow = await signIn(stack, { loginHint: email });
        assert.equal(flow.callback.status, 403, describeFlow(stack, flow));
        assert.equal(flow.session.status, 401, describeFlow(stack, flow));
        assert.equal(flow.session.headers['x-injected'], undefined);
    });

    test('email changed to control characters ends session', async () => {
        const { user, flow } = await newSignedInUser();
        const res = await scim(stack, 'PATCH', `/Users/${user.id}`, {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
            Operations: [{ op: 'replace', path: 'emails',
                value: [{ value: 'y\r\nX-Injected: 1@acme.test', primary: true }] }],
        });
        if (res.status === 400) {
            return; // SCIM rejected the value.
        }
        assert.ok([200, 204].includes(res.status), res.text);
        const session = await flow.agent.request(`${stack.publicUrl}/session`);
        assert.equal(session.status, 401, tail(stack.srv.logs()));
        assert.equal(session.headers['x-injected'], undefined);
    });

    test('pro group sets session tier', async () => {
        const { user } = await newSignedInUser();
        const group = await scim(stack, 'POST', '/Groups', {
            schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
            displayName: 'Pro Users',
            members: [{ value: user.id }],
        });
        assert.equal(group.status, 201, group.text);
        await stack.srv.cliJson(['directory-group', 'add', '--account', stack.account.id,
            '--name', 'Pro Users', '--tier', 'pro']);

        const flow = await signIn(stack, { loginHint: user.userName });
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));
        assert.equal(JSON.parse(flow.session.body).tier, 'pro');
        assert.equal(flow.session.headers['x-idgate-tier'], 'pro');
    });
});

describe('sign-in audit log', () => {
    let stack;
    let adminToken;

    before(async () => {
        stack = await startStack({ provider: 'faulty' });
        stack.op.user = { ...USER };
        stack.user = await provisionUser(stack, { userName: USER.email, externalId: USER.sub,
            displayName: USER.name });
        adminToken = (await stack.srv.cliJson(['admin-token', 'create'])).token;
    });

    after(async () => {
        await stopStack(stack);
    });

    async function admin(method, path, body) {
        const res = await fetch(`${stack.baseUrl}/admin/v1${path}`, {
            method,
            headers: { authorization: `Bearer ${adminToken}`,
                ...(body ? { 'content-type': 'application/json' } : {}) },
            body: body ? JSON.stringify(body) : undefined,
            signal: AbortSignal.timeout(10000),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
    }

    // Lists the account's events of one kind through the admin API, newest first.
    async function events(kind) {
        const res = await admin('GET', `/accounts/${stack.account.id}/audit?kind=${kind}`);
        assert.equal(res.status, 200, res.text);
        return res.body.events;
    }

    // Waits up to 3 s for more than `count` events of `kind`, because failures are
    // recorded by a store job that may commit after the reply.
    async function eventsAfter(kind, count) {
        for (let i = 0; i < 30; i++) {
            const list = await events(kind);
            if (list.length > count) {
                return list;
            }
            await sleep(100);
        }
        assert.fail(`no new ${kind} event\n${tail(stack.srv.logs())}`);
    }

    test('CLI idp set recorded', async () => {
        const list = await events('idp.changed');
        assert.equal(list.length, 1, JSON.stringify(list));
        assert.equal(list[0].actor, 'cli');
        assert.equal(list[0].account, stack.account.id);
        assert.equal(list[0].details.issuer, stack.issuer);
        assert.equal(list[0].details.client_id, stack.clientId);
        assert.ok(!JSON.stringify(list).includes(stack.clientSecret), 'the secret is audited');
    });

    test('admin API idp set recorded once', async () => {
        const res = await admin('PUT', `/accounts/${stack.account.id}/idp`,
            { issuer: stack.issuer, client_id: stack.clientId });
        assert.equal(res.status, 200, res.text);
        const list = await events('idp.changed');
        assert.equal(list.length, 2, JSON.stringify(list));
        assert.match(list[0].actor, /^admin:/);
        assert.equal(list[0].details.issuer, stack.issuer);
        assert.equal(list[0].details.client_secret_changed, false);
    });

    test('success recorded with user', async () => {
        const before = (await events('signin.succeeded')).length;
        stack.op.nextIdToken(null);
        const flow = await signIn(stack);
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));
        const list = await events('signin.succeeded');
        assert.equal(list.length, before + 1, 'the success is not in the audit log');
        assert.equal(list[0].actor, `user:${stack.user.id}`);
        assert.equal(list[0].account, stack.account.id);
        assert.equal(list[0].details.user, stack.user.id);
        assert.equal(list[0].details.sub, USER.sub);
        assert.ok(list[0].time, 'the event has no time');
    });

    test('invalid token recorded with reason', async () => {
        const before = (await events('signin.failed')).length;
        stack.op.nextIdToken(FAULTS.wrongAudience);
        try {
            const flow = await signIn(stack);
            assert.equal(flow.session.status, 401, describeFlow(stack, flow));
        } finally {
            stack.op.nextIdToken(null);
        }
        const list = await eventsAfter('signin.failed', before);
        assert.equal(list[0].actor, 'anonymous');
        assert.match(list[0].details.reason, /aud/);
        assert.equal(list[0].details.user, undefined);
        assert.equal(list[0].details.sub, undefined, 'an unverified sub is audited');
    });

    test('deactivated user recorded with id', async () => {
        const email = 'dee@acme.test';
        stack.op.user = { sub: 'audit-sub-2', email, preferred_username: email, name: 'Dee' };
        const user = await provisionUser(stack, { userName: email, externalId: 'audit-sub-2' });
        await deactivateUser(stack, user.id);
        const before = (await events('signin.failed')).length;
        try {
            const flow = await signIn(stack, { loginHint: email });
            assert.equal(flow.session.status, 401, describeFlow(stack, flow));
        } finally {
            stack.op.user = { ...USER };
        }
        const list = await eventsAfter('signin.failed', before);
        assert.equal(list[0].actor, `user:${user.id}`);
        assert.equal(list[0].details.user, user.id);
        assert.equal(list[0].details.sub, 'audit-sub-2');
        assert.match(list[0].details.reason, /deactivated/);
    });

    test('forged direct token only logged', async () => {
        await setAccountSettings(stack, { 'direct-id-token': true });
        try {
            const before = (await events('signin.failed')).length;
            const idToken = await stack.op.makeIdToken({ fault: FAULTS.badSignature });
            const res = await newAgent(stack).request(`${stack.publicUrl}/auth/okta`, {
                method: 'POST',
                form: { id_token: idToken },
                headers: { origin: new URL(stack.issuer).origin },
            });
            assert.equal(res.status, 401, res.body.slice(0, 200));
            await sleep(300);
            assert.equal((await events('signin.failed')).length, before,
                'a token with a forged signature wrote to the audit log');
        } finally {
            await setAccountSettings(stack, { 'direct-id-token': false });
        }
    });

    test('issuer take-over audited on both', async () => {
        const squatter = await stack.srv.createAccount('Squatter');
        const args = ['idp', 'set', '--account', squatter.id, '--issuer', stack.issuer,
            '--client-id', 'squatter-client', '--client-secret-file',
            join(stack.secretDir, 'client-secret')];
        const refused = await stack.srv.cli(args);
        assert.equal(refused.code, 1, refused.stdout);
        assert.match(refused.stderr, /another account.*--take-over-issuer/s);

        // The squatter is given the issuer (as if it had claimed it first), then the operator
        // moves it back to its real owner.
        await stack.srv.cliJson([...args, '--take-over-issuer']);
        const lost = await stack.srv.cli(['idp', 'get', '--account', stack.account.id]);
        assert.equal(lost.code, 1, lost.stdout);
        const removed = (await events('idp.changed'))[0];
        assert.equal(removed.details.removed_issuer, stack.issuer);
        assert.equal(removed.details.taken_over_by, squatter.id);

        await stack.srv.cliJson(['idp', 'set', '--account', stack.account.id, '--issuer',
            stack.issuer, '--client-id', stack.clientId, '--client-secret-file',
            join(stack.secretDir, 'client-secret'), '--take-over-issuer']);
        const squatterIdp = await stack.srv.cli(['idp', 'get', '--account', squatter.id]);
        assert.equal(squatterIdp.code, 1, squatterIdp.stdout);
        stack.op.nextIdToken(null);
        const flow = await signIn(stack);
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));
    });

    test('unknown state only logged', async () => {
        const before = (await events('signin.failed')).length;
        const res = await fetch(`${stack.publicUrl}/auth/okta/callback?state=unknown&code=x`,
            { signal: AbortSignal.timeout(5000) });
        assert.equal(res.status, 400);
        await sleep(300);
        assert.equal((await events('signin.failed')).length, before);
        assert.match(stack.srv.logs(), /unknown state/);
    });
});

describe('domain verified by another account', () => {
    let stack;
    let other;

    before(async () => {
        // The signing-in account has no verified domain, so its own domain list allows any
        // email; BigCorp verifies bigcorp.test.
        stack = await startStack({ provider: 'faulty', domain: null });
        other = await stack.srv.createAccount('BigCorp', { domain: 'bigcorp.test' });
        const claim = await stack.srv.cliJson(['domain', 'get', '--account', other.id,
            '--domain', 'bigcorp.test']);
        stack.dns.setTxt(claim.record.name, [claim.record.value]);
        const verified = await stack.srv.cliJson(['domain', 'verify', '--account', other.id,
            '--domain', 'bigcorp.test']);
        assert.equal(verified.verified, true, JSON.stringify(verified));
    });

    after(async () => {
        await stopStack(stack);
    });

    const impostors = [
        ['same domain', 'ceo@bigcorp.test'],
        ['subdomain', 'ceo@eu.bigcorp.test'],
    ];
    for (const [name, email] of impostors) {
        test(`${name} rejected`, async () => {
            const sub = `impostor-${name.replace(/\W/g, '-')}`;
            const created = await scim(stack, 'POST', '/Users', {
                schemas: [USER_SCHEMA], userName: email, externalId: sub,
                emails: [{ value: email, primary: true }], active: true,
            });
            if (created.status === 400) {
                return; // SCIM rejected the address, so nobody can sign in with it.
            }
            assert.equal(created.status, 201, created.text);
            stack.op.user = { sub, email, preferred_username: email, name: 'Impostor' };
            const flow = await signIn(stack, { loginHint: email });
            assert.equal(flow.session.status, 401, describeFlow(stack, flow));
            assert.equal(flow.callback.status, 403, describeFlow(stack, flow));
        });
    }

    test('unclaimed domain still signs in', async () => {
        const email = 'pat@elsewhere.test';
        await provisionUser(stack, { userName: email, externalId: 'control-sub' });
        stack.op.user = { sub: 'control-sub', email, preferred_username: email, name: 'Pat' };
        const flow = await signIn(stack, { loginHint: email });
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));
    });

    // Runs last: the account verifies its own domain, so its users outside it lose access.
    test('own domain verified later ends session', async () => {
        const email = 'lee@old.test';
        await provisionUser(stack, { userName: email, externalId: 'lee-sub' });
        stack.op.user = { sub: 'lee-sub', email, preferred_username: email, name: 'Lee' };
        const flow = await signIn(stack, { loginHint: email });
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));

        await stack.srv.cliJson(['domain', 'add', '--account', stack.account.id,
            '--domain', 'own.test']);
        await verifyDomain(stack, 'own.test');
        const session = await flow.agent.request(`${stack.publicUrl}/session`);
        assert.equal(session.status, 401, tail(stack.srv.logs()));

        // The token's email inside the verified domain does not help either.
        stack.op.user = { sub: 'lee-sub', email: 'lee@own.test', name: 'Lee' };
        const again = await signIn(stack, { loginHint: 'lee@own.test' });
        assert.equal(again.session.status, 401, describeFlow(stack, again));
    });
});
