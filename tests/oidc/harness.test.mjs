// Self-test of the sign-in test harness: the real provider with a browser login, its refresh
// tokens and grant revocation, and every fault the fake provider can put into an ID token,
// checked with jose. When these pass and an idgate test fails, the fault is in idgate.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as dnsPromises } from 'node:dns';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { UserAgent } from './lib/agent.mjs';
import { launchBrowser, pageText, withScreenshot } from './lib/browser.mjs';
import { createTestCa } from './lib/ca.mjs';
import { startDnsServer } from './lib/dns.mjs';
import { createSigningKey, FAULTS, startFaultyOp } from './lib/faulty-op.mjs';
import { startMiniRp } from './lib/mini-rp.mjs';
import { startProvider } from './lib/provider.mjs';

const ALICE = { login: 'alice@acme.test', sub: 'sub-alice', email: 'alice@acme.test',
    name: 'Alice Example' };

describe('test provider with a browser', () => {
    let ca;
    let op;
    let rp;
    let browser;

    before(async () => {
        ca = createTestCa();
        op = await startProvider({ tls: ca, users: [ALICE] });
        rp = await startMiniRp({ ca: ca.ca });
        await op.registerClient({ clientId: rp.clientId, clientSecret: rp.clientSecret,
            redirectUris: [rp.redirectUri] });
        await rp.configure(op.issuer);
        browser = await launchBrowser({ trustCert: ca.cert });
    });

    after(async () => {
        await browser?.close();
        await rp?.stop();
        await op?.stop();
        ca?.remove();
    });

    for (const mode of ['query', 'form_post']) {
        test(`login with response mode ${mode}`, async () => {
            const page = await browser.newPage();
            await withScreenshot(page, `harness-login-${mode}`, async () => {
                await page.goto(`${rp.baseUrl}/login?mode=${mode}&login_hint=${ALICE.login}`);
                assert.equal(await page.inputValue('#login'), ALICE.login);
                await page.click('#submit');
                await page.waitForURL(`${rp.baseUrl}/callback**`);
                assert.match(await pageText(page), /Signed in as alice@acme\.test/);
            });
            await page.context().close();
        });
    }

    test('unknown login stays on provider page', async () => {
        const page = await browser.newPage();
        await withScreenshot(page, 'harness-unknown-login', async () => {
            await page.goto(`${rp.baseUrl}/login`);
            await page.fill('#login', 'nobody@acme.test');
            await page.click('#submit');
            await page.waitForSelector('#error');
            assert.match(await pageText(page), /Unknown login name/);
        });
        await page.context().close();
    });

    test('refresh works until grant revoked', async () => {
        const page = await browser.newPage();
        await withScreenshot(page, 'harness-refresh', async () => {
            await page.goto(`${rp.baseUrl}/login?login_hint=${ALICE.login}`);
            await page.click('#submit');
            await page.waitForURL(`${rp.baseUrl}/callback**`);

            const first = await page.goto(`${rp.baseUrl}/refresh`);
            assert.equal(first.status(), 200, await pageText(page));

            assert.ok(op.revokeGrants(ALICE.login) >= 1, 'no grant found to revoke');
            const second = await page.goto(`${rp.baseUrl}/refresh`);
            assert.equal(second.status(), 401);
            assert.equal(JSON.parse(await pageText(page)).error, 'invalid_grant');
        });
        await page.context().close();
    });
});

describe('fault-injecting provider', () => {
    const clientId = 'faulty-client';
    const clientSecret = 'faulty-secret';
    let ca;
    let op;
    let agent;
    let jwks;

    // Runs one authorization request and code exchange like a relying party would and
    // returns the ID token with the nonce that was sent.
    async function obtainIdToken() {
        const nonce = randomBytes(8).toString('hex');
        const verifier = randomBytes(32).toString('base64url');
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        const authorize = new URL(`${op.issuer}/authorize`);
        authorize.search = new URLSearchParams({ client_id: clientId, response_type: 'code',
            redirect_uri: 'http://127.0.0.1:9/callback', state: 's1', nonce,
            code_challenge: challenge, code_challenge_method: 'S256', scope: 'openid' });
        const res = await agent.request(authorize.href);
        assert.equal(res.status, 302);
        const code = new URL(res.headers.location).searchParams.get('code');
        const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
        const token = await agent.request(`${op.issuer}/token`, {
            method: 'POST',
            headers: { authorization: `Basic ${basic}` },
            form: { grant_type: 'authorization_code', code, code_verifier: verifier,
                redirect_uri: 'http://127.0.0.1:9/callback' },
        });
        assert.equal(token.status, 200, token.body);
        return { idToken: JSON.parse(token.body).id_token, nonce };
    }

    async function verify(idToken) {
        return jwtVerify(idToken, jwks, { issuer: op.issuer, audience: clientId,
            algorithms: ['RS256'] });
    }

    before(async () => {
        ca = createTestCa();
        op = await startFaultyOp({ tls: ca, clientId, clientSecret });
        agent = new UserAgent({ ca: ca.ca });
        const keys = await agent.request(`${op.issuer}/jwks`);
        jwks = createLocalJWKSet(JSON.parse(keys.body));
    });

    after(async () => {
        await op?.stop();
        ca?.remove();
    });

    test('good token verifies with nonce', async () => {
        op.nextIdToken(null);
        const { idToken, nonce } = await obtainIdToken();
        const { payload } = await verify(idToken);
        assert.equal(payload.nonce, nonce);
        assert.equal(payload.sub, op.user.sub);
    });

    test('token endpoint rejects wrong PKCE verifier', async () => {
        const authorize = new URL(`${op.issuer}/authorize`);
        authorize.search = new URLSearchParams({ client_id: clientId, response_type: 'code',
            redirect_uri: 'http://127.0.0.1:9/cb', state: 's', nonce: 'n',
            code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
        const res = await agent.request(authorize.href);
        const code = new URL(res.headers.location).searchParams.get('code');
        const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
        const token = await agent.request(`${op.issuer}/token`, { method: 'POST',
            headers: { authorization: `Basic ${basic}` },
            form: { grant_type: 'authorization_code', code, code_verifier: 'wrong',
                redirect_uri: 'http://127.0.0.1:9/cb' } });
        assert.equal(token.status, 400);
    });

    const rejectedByJose = {
        expired: /"exp" claim timestamp check failed/,
        notYetValid: /"nbf" claim timestamp check failed/,
        wrongIssuer: /unexpected "iss" claim value/,
        wrongAudience: /unexpected "aud" claim value/,
        badSignature: /signature verification failed/,
        algNone: /Unsupported "alg" value|"alg" \(Algorithm\) Header Parameter value not allowed/,
        hs256WithPublicKey: /"alg" \(Algorithm\) Header Parameter value not allowed/,
    };
    for (const [name, pattern] of Object.entries(rejectedByJose)) {
        test(`fault ${name} fails verification`, async () => {
            op.nextIdToken(FAULTS[name]);
            const { idToken } = await obtainIdToken();
            await assert.rejects(verify(idToken), pattern);
        });
    }

    test('fault wrongNonce changes only nonce', async () => {
        op.nextIdToken(FAULTS.wrongNonce);
        const { idToken, nonce } = await obtainIdToken();
        const { payload } = await verify(idToken);
        assert.notEqual(payload.nonce, nonce);
    });

    test('fault severalAudiencesWithoutAzp lacks azp', async () => {
        op.nextIdToken(FAULTS.severalAudiencesWithoutAzp);
        const { idToken } = await obtainIdToken();
        const { payload } = await verify(idToken);
        assert.equal(payload.aud.length, 2);
        assert.equal(payload.azp, undefined);
    });

    test('hs256 fault is a valid HMAC over public key', async () => {
        op.nextIdToken(FAULTS.hs256WithPublicKey);
        const { idToken } = await obtainIdToken();
        const secret = new TextEncoder().encode(op.signingKey.spki);
        const { payload } = await jwtVerify(idToken, secret, { algorithms: ['HS256'] });
        assert.equal(payload.sub, op.user.sub);
    });

    test('unknown kid then JWKS rotation', async () => {
        const original = op.signingKey;
        const rotated = await createSigningKey('key-rotated');
        op.signingKey = rotated;
        op.nextIdToken(null);
        const { idToken } = await obtainIdToken();
        assert.equal(decodeProtectedHeader(idToken).kid, 'key-rotated');
        await assert.rejects(verify(idToken), /no applicable key found/);

        const before = op.countRequests('/jwks');
        op.publishedKeys = [original, rotated];
        const keys = await agent.request(`${op.issuer}/jwks`);
        assert.equal(op.countRequests('/jwks'), before + 1);
        const refreshed = createLocalJWKSet(JSON.parse(keys.body));
        const { payload } = await jwtVerify(idToken, refreshed, { issuer: op.issuer,
            audience: clientId });
        assert.equal(payload.sub, op.user.sub);
        op.signingKey = original;
        op.publishedKeys = [original];
    });
});

describe('test DNS server', () => {
    let dns;
    let resolver;

    before(async () => {
        dns = await startDnsServer();
        resolver = new dnsPromises.Resolver({ timeout: 2000, tries: 1 });
        resolver.setServers([dns.address]);
    });

    after(async () => {
        await dns?.stop();
    });

    test('TXT record served', async () => {
        const long = 'x'.repeat(300);
        dns.setTxt('_idgate-challenge.Acme.test', ['token-1', long]);
        const records = await resolver.resolveTxt('_idgate-challenge.acme.test');
        const joined = records.map((chunks) => chunks.join('')).sort();
        assert.deepEqual(joined, ['token-1', long].sort());
    });

    test('unknown name is NXDOMAIN', async () => {
        await assert.rejects(resolver.resolveTxt('missing.acme.test'), { code: 'ENOTFOUND' });
    });
});
