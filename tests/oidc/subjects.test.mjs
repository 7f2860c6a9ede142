// Sign-in links between the provider's subject (iss, sub) and a user, through the real
// provider in a real browser. A user without externalId is found by verified email or by
// name on the first sign-in, and only the verified email links the token's sub to it. From
// then on that sub signs in to the user after a rename, and another sub that presents the
// user's name or email is refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, pageText, withScreenshot } from './lib/browser.mjs';
import { adminClient, adminToken } from '../integration/admin_helpers.mjs';
import {
    PATCH_SCHEMA, initiateUrl, provisionUser, scim, sleep, startStack, stopStack, tail,
} from './lib/stack.mjs';

const HANA = { login: 'hana@acme.test', sub: 'okta-sub-hana', email: 'hana@acme.test',
    name: 'Hana Example' };
const RENAMED = 'hana.renamed@acme.test';
// Someone at the provider whose email was changed to the address Hana has in the directory.
const MALLORY = { login: 'mallory', sub: 'okta-sub-mallory', email: RENAMED,
    preferred_username: RENAMED, name: 'Mallory Example' };
const IVAN = { login: 'ivan@acme.test', sub: 'okta-sub-ivan', email: 'ivan@acme.test',
    name: 'Ivan Example' };

/**
 * Returns the number of entries in the store's table `table`, read with mdb_stat from
 * Debian's lmdb-utils, which may read the store while the server runs.
 */
function tableEntries(stack, table) {
    const out = spawnSync('mdb_stat', ['-s', table, stack.srv.config.store.path],
        { encoding: 'utf8', timeout: 10000 });
    if (out.error || out.status !== 0) {
        throw new Error(`mdb_stat -s ${table} failed (install lmdb-utils): `
            + `${out.error?.message ?? out.stderr}`);
    }
    const match = /Entries: (\d+)/.exec(out.stdout);
    assert.ok(match, `mdb_stat printed no entry count:\n${out.stdout}`);
    return Number(match[1]);
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
    return { status: res.status(), text, json };
}

/**
 * Signs `person` in from a fresh browser context through the IdP-initiated login. Returns
 * { status, text, session }: the callback's status, the visible text of the page it showed
 * and GET /session afterwards. With `keep` the context stays open and is returned as
 * `context`; the caller closes it.
 */
async function signIn(stack, browser, person, name, { keep = false } = {}) {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
        return await withScreenshot(page, name, async () => {
            const callback = page.waitForResponse((res) => res.url().startsWith(stack.redirectUri)
                && res.request().method() === 'GET');
            await page.goto(initiateUrl(stack, { loginHint: person.login, target: '/app' }));
            await page.waitForURL((url) => url.href.startsWith(`${stack.issuer}/interaction/`));
            await page.fill('#login', person.login);
            await page.click('#submit');
            const res = await callback;
            await page.waitForLoadState();
            const text = await pageText(page);
            return { status: res.status(), text, session: await sessionOf(stack, context),
                context: keep ? context : undefined };
        });
    } finally {
        if (!keep) {
            await context.close();
        }
    }
}

function describeResult(stack, result) {
    return `callback ${result.status}, page: ${result.text.slice(0, 300)}\n`
        + `GET /session -> ${result.session.status} ${result.session.text.slice(0, 200)}\n`
        + `server log:\n${tail(stack.srv.logs(), 30)}`;
}

function assertSignedInAs(stack, result, user) {
    assert.equal(result.session.status, 200, describeResult(stack, result));
    assert.equal(result.session.json.id, user.id, describeResult(stack, result));
}

function assertRejected(stack, result) {
    assert.equal(result.status, 403, describeResult(stack, result));
    assert.equal(result.session.status, 401, describeResult(stack, result));
}

async function renameUser(stack, id, userName) {
    const res = await scim(stack, 'PATCH', `/Users/${id}`, {
        schemas: [PATCH_SCHEMA],
        Operations: [
            { op: 'replace', path: 'userName', value: userName },
            { op: 'replace', path: 'emails', value: [{ value: userName, type: 'work',
                primary: true }] },
        ],
    });
    assert.equal(res.status, 200, `SCIM rename returned ${res.status}: ${res.text}`);
    assert.equal(res.body.userName, userName);
}

describe('subject links', () => {
    let stack;
    let browser;
    let hana;
    let ivan;

    before(async () => {
        stack = await startStack({ provider: 'real', users: [HANA, MALLORY, IVAN] });
        browser = await launchBrowser({ trustCert: stack.ca.cert });
        // A directory without the provider's ids: no externalId, found by name.
        hana = await provisionUser(stack, { userName: HANA.login, displayName: HANA.name });
        ivan = await provisionUser(stack, { userName: IVAN.login, displayName: IVAN.name });
    });

    after(async () => {
        await browser?.close();
        await stopStack(stack);
    });

    test('first sign-in by name succeeds', async () => {
        assertSignedInAs(stack, await signIn(stack, browser, HANA, 'links-first'), hana);
        assert.equal(tableEntries(stack, 'subjects'), 1);
        assert.equal(tableEntries(stack, 'user_subjects'), 1);
    });

    test('linked sub signs in after rename', async () => {
        await renameUser(stack, hana.id, RENAMED);
        // The provider still sends the old address, which no user has any more.
        assertSignedInAs(stack, await signIn(stack, browser, HANA, 'links-renamed'), hana);
    });

    test('other sub with same email rejected', async () => {
        const result = await signIn(stack, browser, MALLORY, 'links-takeover');
        assertRejected(stack, result);
        assert.match(result.text, /different person/i, describeResult(stack, result));
        assert.match(result.text, /administrator/i);
        assert.match(tail(stack.srv.logs(), 60), /linked to another sub/);

        // The failure is audited through a store job of its own, so it may lag the page.
        let reasons = [];
        for (let i = 0; i < 30 && !reasons.some((r) => /linked to another sub/.test(r)); i++) {
            await sleep(100);
            const out = await stack.srv.cliJson(['audit', 'list', '--account', stack.account.id,
                '--kind', 'signin.failed']);
            reasons = out.events.map((event) => event.details?.reason ?? '');
        }
        assert.ok(reasons.some((reason) => /linked to another sub/.test(reason)),
            `audited reasons: ${JSON.stringify(reasons)}`);
    });

    test('linked user signs in after rejection', async () => {
        assertSignedInAs(stack, await signIn(stack, browser, HANA, 'links-after-rejection'), hana);
    });

    test('other users unaffected by links', async () => {
        assertSignedInAs(stack, await signIn(stack, browser, IVAN, 'links-other-user'), ivan);
    });

    test('deleted user starts over unlinked', async () => {
        // Hana and Ivan are linked.
        assert.equal(tableEntries(stack, 'subjects'), 2);
        const res = await scim(stack, 'DELETE', `/Users/${hana.id}`);
        assert.equal(res.status, 204, `SCIM DELETE returned ${res.status}: ${res.text}`);
        assert.equal(tableEntries(stack, 'subjects'), 1);
        assert.equal(tableEntries(stack, 'user_subjects'), 1);
        // The old sub no longer signs in to anyone.
        assertRejected(stack, await signIn(stack, browser, HANA, 'links-deleted'));

        // A new user under the renamed address is a new identity, linked on first sign-in.
        const successor = await provisionUser(stack, { userName: RENAMED,
            displayName: 'Successor' });
        assertSignedInAs(stack, await signIn(stack, browser, MALLORY, 'links-successor'),
            successor);
    });

    test('account deletion removes links', async () => {
        assert.equal(tableEntries(stack, 'subjects'), 2);
        await stack.srv.cliJson(['account', 'delete', '--account', stack.account.id]);
        assert.equal(tableEntries(stack, 'subjects'), 0);
        assert.equal(tableEntries(stack, 'user_subjects'), 0);
    });
});

async function linkEvents(stack) {
    const out = await stack.srv.cliJson(['audit', 'list', '--account', stack.account.id,
        '--kind', 'signin.subject_linked']);
    return out.events;
}

describe('links only from vouched claims', () => {
    let stack;
    let browser;
    let ivan;
    let mallory;
    // Provider users whose preferred_username (which they can edit) names Ivan's user.
    const SQUATTER = { login: 'squatter', sub: 'okta-sub-squatter', email: 'mallory@acme.test',
        preferred_username: 'ivan@acme.test', name: 'Mallory Squatter' };
    const NAME_ONLY = { login: 'name-only', sub: 'okta-sub-name-only',
        email: 'unprovisioned@acme.test', preferred_username: 'ivan@acme.test',
        name: 'Name Only' };

    before(async () => {
        stack = await startStack({ provider: 'real', users: [IVAN, SQUATTER, NAME_ONLY] });
        browser = await launchBrowser({ trustCert: stack.ca.cert });
        ivan = await provisionUser(stack, { userName: IVAN.login, displayName: IVAN.name });
        mallory = await provisionUser(stack, { userName: 'mallory@acme.test',
            displayName: 'Mallory Example' });
    });

    after(async () => {
        await browser?.close();
        await stopStack(stack);
    });

    test('verified email wins over username', async () => {
        const result = await signIn(stack, browser, SQUATTER, 'vouched-email-first');
        assertSignedInAs(stack, result, mallory);
        const events = await linkEvents(stack);
        assert.equal(events.length, 1, JSON.stringify(events));
        assert.equal(events[0].details.user, mallory.id);
        assert.equal(events[0].details.sub, SQUATTER.sub);
        assert.equal(events[0].details.issuer, stack.issuer);
        assert.equal(events[0].details.claim, 'email');
    });

    test('username match leaves no link', async () => {
        // Sign-in by preferred_username alone still works, as it did before links existed.
        const result = await signIn(stack, browser, NAME_ONLY, 'vouched-name-only');
        assertSignedInAs(stack, result, ivan);
        assert.equal(tableEntries(stack, 'subjects'), 1);
        assert.equal(tableEntries(stack, 'user_subjects'), 1);
        assert.equal((await linkEvents(stack)).length, 1);
    });

    test('real user links after name match', async () => {
        assertSignedInAs(stack, await signIn(stack, browser, IVAN, 'vouched-real-user'), ivan);
        assert.equal(tableEntries(stack, 'subjects'), 2);
        const events = await linkEvents(stack);
        const ivanLink = events.find((event) => event.details.user === ivan.id);
        assert.ok(ivanLink, JSON.stringify(events));
        assert.equal(ivanLink.details.sub, IVAN.sub);
        assert.equal(ivanLink.details.claim, 'email');
    });

    test('username match rejected once linked', async () => {
        assertRejected(stack, await signIn(stack, browser, NAME_ONLY, 'vouched-name-after-link'));
    });
});

describe('unlinking a user', () => {
    let stack;
    let browser;
    let ivan;
    // Someone at the provider whose verified email was Ivan's address when Ivan never signed in.
    const EARLY = { login: 'early', sub: 'okta-sub-early', email: 'ivan@acme.test',
        preferred_username: 'early', name: 'Early Bird' };

    before(async () => {
        stack = await startStack({ provider: 'real', users: [IVAN, EARLY] });
        browser = await launchBrowser({ trustCert: stack.ca.cert });
        ivan = await provisionUser(stack, { userName: IVAN.login, displayName: IVAN.name });
    });

    after(async () => {
        await browser?.close();
        await stopStack(stack);
    });

    test('wrong link blocks the real user', async () => {
        const early = await signIn(stack, browser, EARLY, 'unlink-early', { keep: true });
        stack.earlyContext = early.context;
        assertSignedInAs(stack, early, ivan);
        assertRejected(stack, await signIn(stack, browser, IVAN, 'unlink-blocked'));
    });

    test('CLI lists the user links', async () => {
        const out = await stack.srv.cliJson(['user', 'links', '--account', stack.account.id,
            '--user', ivan.id]);
        assert.equal(out.user, ivan.id);
        assert.equal(out.links.length, 1, JSON.stringify(out));
        assert.equal(out.links[0].issuer, stack.issuer);
        assert.equal(out.links[0].sub, EARLY.sub);
        assert.match(out.links[0].created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    });

    test('account token unlinks via API', async () => {
        const asAccount = adminClient(stack.srv, await adminToken(stack.srv, stack.account.id));
        const path = `/accounts/${stack.account.id}/users/${ivan.id}/links`;
        const res = await asAccount('DELETE', path);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.removed.length, 1);
        assert.equal(res.body.removed[0].sub, EARLY.sub);
        assert.equal(tableEntries(stack, 'subjects'), 0);
        assert.equal(tableEntries(stack, 'user_subjects'), 0);

        // The session that the wrong link signed in ends with it.
        assert.equal((await sessionOf(stack, stack.earlyContext)).status, 401);
        await stack.earlyContext.close();

        const audit = await stack.srv.cliJson(['audit', 'list', '--account', stack.account.id,
            '--kind', 'user.unlinked']);
        assert.equal(audit.events.length, 1, JSON.stringify(audit));
        assert.equal(audit.events[0].details.user, ivan.id);
        assert.equal(audit.events[0].details.links[0].sub, EARLY.sub);
        assert.match(audit.events[0].actor, /^admin:/);

        const again = await asAccount('GET', path);
        assert.equal(again.status, 200, JSON.stringify(again.body));
        assert.deepEqual(again.body.links, []);

        // Unlinking a user with no links changes nothing and records nothing.
        const none = await asAccount('DELETE', path);
        assert.equal(none.status, 200, JSON.stringify(none.body));
        assert.deepEqual(none.body.removed, []);
        const after = await stack.srv.cliJson(['audit', 'list', '--account', stack.account.id,
            '--kind', 'user.unlinked']);
        assert.equal(after.events.length, 1, JSON.stringify(after));
    });

    test('real user signs in after unlink', async () => {
        assertSignedInAs(stack, await signIn(stack, browser, IVAN, 'unlink-real-user'), ivan);
    });

    test('unlink of unknown user is 404', async () => {
        const out = await stack.srv.cli(['user', 'unlink', '--account', stack.account.id,
            '--user', '00000000-0000-4000-8000-000000000000']);
        assert.equal(out.code, 1, out.stderr);
        assert.match(out.stderr, /user not found/);
        const other = await stack.srv.createAccount('Other');
        const asOther = adminClient(stack.srv, await adminToken(stack.srv, other.id));
        const res = await asOther('DELETE', `/accounts/${stack.account.id}/users/${ivan.id}/links`);
        assert.equal(res.status, 403, JSON.stringify(res.body));
    });
});
