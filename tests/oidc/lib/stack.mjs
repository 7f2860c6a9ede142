// One idgate with one account that signs in through a test provider. A stack contains the
// throwaway CA, the provider (the real one or the fault-injecting one), the idgate server
// configured to trust it, and the account with its identity-provider settings and a SCIM
// key. Helpers provision users over SCIM.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIdgate } from '../../integration/lib/idgate.mjs';
import { createTestCa } from './ca.mjs';
import { startDnsServer } from './dns.mjs';
import { startFaultyOp } from './faulty-op.mjs';
import { startProvider } from './provider.mjs';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const CLIENT_ID = 'idgate-test-client';

function mergeConfig(base, extra) {
    const out = {};
    for (const source of [base, extra]) {
        for (const [section, keys] of Object.entries(source ?? {})) {
            out[section] = { ...(out[section] ?? {}), ...(keys ?? {}) };
        }
    }
    return out;
}

/** Returns the last lines of text, for assertion messages that quote the server log. */
export function tail(text, lines = 40) {
    return String(text ?? '').split('\n').slice(-lines).join('\n');
}

/**
 * Starts the stack.
 *
 * options.provider: 'real' (oidc-provider, needs a browser to log in) or 'faulty'.
 * options.users: users the real provider accepts ({ login, sub, email, name }).
 * options.config: idgate configuration merged over the sign-in defaults.
 * options.domain: email domain the account claims at creation.
 * options.idpArgs: extra arguments for `idgate idp set`.
 * options.accountSettings: flags for `idgate account settings`, e.g. { 'refresh-tokens': true }.
 */
export async function startStack({
    provider = 'real',
    users = [],
    config = {},
    domain = 'acme.test',
    idpArgs = [],
    accountSettings = {},
} = {}) {
    const stack = { cleanups: [] };
    try {
        await setUp(stack, { provider, users, config, domain, idpArgs });
        if (Object.keys(accountSettings).length) {
            await setAccountSettings(stack, accountSettings);
        }
    } catch (err) {
        await stopStack(stack);
        throw err;
    }
    return stack;
}

async function setUp(stack, { provider, users, config, domain, idpArgs }) {
    stack.ca = createTestCa();
    stack.cleanups.push(() => stack.ca.remove());
    stack.clientId = CLIENT_ID;
    stack.clientSecret = randomBytes(24).toString('base64url');

    if (provider === 'real') {
        stack.op = await startProvider({ tls: stack.ca, users });
    } else {
        stack.op = await startFaultyOp({ tls: stack.ca, clientId: stack.clientId,
            clientSecret: stack.clientSecret });
    }
    stack.cleanups.push(() => stack.op.stop());
    stack.issuer = stack.op.issuer;
    const opHost = new URL(stack.issuer).host;

    stack.dns = await startDnsServer();
    stack.cleanups.push(() => stack.dns.stop());

    const defaults = {
        admin: { dns_resolver: stack.dns.address },
        oidc: {
            allowed_hosts: opHost,
            ca_file: stack.ca.caFile,
            clock_skew: 60,
        },
        log: { level: 'debug' },
    };
    stack.masterKey = randomBytes(32).toString('hex');
    stack.srv = await startIdgate({
        config: mergeConfig(defaults, config),
        env: { IDGATE_OIDC_MASTER_KEY: stack.masterKey },
    });
    stack.cleanups.push(() => stack.srv.cleanup());
    stack.baseUrl = stack.srv.baseUrl;
    stack.publicUrl = stack.srv.config.server.base_url ?? stack.baseUrl;
    // The redirect URI that accounts shared before each got its own.
    stack.sharedRedirectUri = `${stack.publicUrl}/auth/okta/callback`;

    stack.account = await stack.srv.createAccount('Acme', { domain });
    // New identity-provider settings use the account's own redirect URI.
    stack.redirectUri = `${stack.sharedRedirectUri}/${stack.account.id}`;
    if (provider === 'real') {
        await stack.op.registerClient({ clientId: stack.clientId,
            clientSecret: stack.clientSecret, redirectUris: [stack.redirectUri],
            postLogoutRedirectUris: [`${stack.publicUrl}/`, `${stack.publicUrl}/signin`] });
    }

    if (domain) {
        await verifyDomain(stack, domain);
    }
    stack.secretDir = mkdtempSync(join(tmpdir(), 'idgate-secret-'));
    stack.cleanups.push(() => rmSync(stack.secretDir, { recursive: true, force: true }));
    const secretFile = join(stack.secretDir, 'client-secret');
    writeFileSync(secretFile, `${stack.clientSecret}\n`, { mode: 0o600 });
    stack.idp = await stack.srv.cliJson(['idp', 'set', '--account', stack.account.id,
        '--issuer', stack.issuer, '--client-id', stack.clientId,
        '--client-secret-file', secretFile, ...idpArgs]);
    stack.scimKey = await stack.srv.createScimKey(stack.account.id);
}

/** Changes account settings through `idgate account settings --<flag> <value>`. */
export async function setAccountSettings(stack, settings) {
    const args = ['account', 'settings', '--account', stack.account.id];
    for (const [flag, value] of Object.entries(settings)) {
        args.push(`--${flag}`, String(value));
    }
    return stack.srv.cliJson(args);
}

/** Publishes the account's TXT challenge on the test DNS server and verifies the domain. */
export async function verifyDomain(stack, domain) {
    const claim = await stack.srv.cliJson(['domain', 'get', '--account', stack.account.id,
        '--domain', domain]);
    if (!claim.record?.name || !claim.record?.value) {
        throw new Error(`domain get returned no TXT record to publish: ${JSON.stringify(claim)}`);
    }
    stack.dns.setTxt(claim.record.name, [claim.record.value]);
    return stack.srv.cliJson(['domain', 'verify', '--account', stack.account.id,
        '--domain', domain]);
}

/** Stops everything the stack started, in reverse order, and removes its files. */
export async function stopStack(stack) {
    if (!stack) {
        return;
    }
    if (stack.srv && stack.srv.child && stack.srv.child.exitCode === null) {
        await stack.srv.stop().catch(() => {});
    }
    for (const cleanup of (stack.cleanups ?? []).reverse()) {
        await Promise.resolve().then(cleanup).catch(() => {});
    }
    stack.cleanups = [];
}

/** Sends a SCIM request with the stack's key; returns { status, body, text }. */
export async function scim(stack, method, path, body) {
    const res = await fetch(`${stack.baseUrl}/scim/v2${path}`, {
        method,
        headers: {
            authorization: `Bearer ${stack.scimKey.token}`,
            'content-type': 'application/scim+json',
            accept: 'application/scim+json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10000),
    });
    const text = await res.text();
    let json;
    try {
        json = text ? JSON.parse(text) : undefined;
    } catch {
        json = undefined;
    }
    return { status: res.status, body: json, text };
}

/**
 * Creates a user over SCIM as Okta does and returns the created SCIM resource.
 * user: { userName, externalId, email, displayName, active }.
 */
export async function provisionUser(stack, user) {
    const email = user.email ?? user.userName;
    const res = await scim(stack, 'POST', '/Users', {
        schemas: [USER_SCHEMA],
        userName: user.userName,
        externalId: user.externalId,
        name: { givenName: user.displayName ?? user.userName, familyName: 'Test' },
        displayName: user.displayName ?? user.userName,
        emails: [{ value: email, type: 'work', primary: true }],
        active: user.active ?? true,
    });
    if (res.status !== 201) {
        throw new Error(`SCIM create of ${user.userName} returned ${res.status}: ${res.text}`);
    }
    return res.body;
}

/** Deactivates a user with a path-less PATCH replace, as Okta's catalog apps do. */
export async function deactivateUser(stack, id) {
    const res = await scim(stack, 'PATCH', `/Users/${id}`, {
        schemas: [PATCH_SCHEMA],
        Operations: [{ op: 'replace', value: { active: false } }],
    });
    if (res.status !== 200 && res.status !== 204) {
        throw new Error(`SCIM deactivation of ${id} returned ${res.status}: ${res.text}`);
    }
    return res.body;
}

/** Builds the IdP-initiated login URL the way Okta's dashboard tile sends it. */
export function initiateUrl(stack, { iss = stack.issuer, loginHint, target } = {}) {
    const url = new URL(`${stack.publicUrl}/auth/okta`);
    url.searchParams.set('iss', iss);
    if (loginHint !== undefined) {
        url.searchParams.set('login_hint', loginHint);
    }
    if (target !== undefined) {
        url.searchParams.set('target_link_uri', target);
    }
    return url.href;
}

/**
 * Returns the number of entries in the store's table `table`, read with mdb_stat from
 * Debian's lmdb-utils, which may read the store while the server runs.
 */
export function tableEntries(stack, table) {
    const out = spawnSync('mdb_stat', ['-s', table, stack.srv.config.store.path],
        { encoding: 'utf8', timeout: 10000 });
    if (out.error || out.status !== 0) {
        throw new Error(`mdb_stat -s ${table} failed (install lmdb-utils): `
            + `${out.error?.message ?? out.stderr}`);
    }
    const match = /Entries: (\d+)/.exec(out.stdout);
    if (!match) {
        throw new Error(`mdb_stat printed no entry count:\n${out.stdout}`);
    }
    return Number(match[1]);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
