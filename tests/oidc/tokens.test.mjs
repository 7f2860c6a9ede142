// ID token validation against a provider that hands out broken tokens on request. Each bad
// token must be rejected with a 4xx page and no session. Good tokens, and tokens within the
// allowed clock skew, still sign the user in, so every rejection test can fail.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createSigningKey, FAULTS } from './lib/faulty-op.mjs';
import {
    assertClientError, describeFlow, newAgent, signIn, TARGET,
} from './lib/flows.mjs';
import {
    provisionUser, setAccountSettings, sleep, startStack, stopStack, tail,
} from './lib/stack.mjs';

const USER = { sub: 'faulty-sub-1', email: 'pat@acme.test', preferred_username: 'pat@acme.test',
    name: 'Pat Example' };

function assertAccepted(stack, flow) {
    const targetUrl = new URL(TARGET, stack.publicUrl).href;
    assert.equal(flow.callback.stoppedAt, targetUrl, describeFlow(stack, flow));
    assert.equal(flow.session.status, 200, describeFlow(stack, flow));
    assert.equal(JSON.parse(flow.session.body).userName, USER.email);
}

function assertRejected(stack, flow) {
    assert.ok(flow.tokenRequested, `the flow never reached the token endpoint, so the token `
        + `was not tested\n${describeFlow(stack, flow)}`);
    assert.equal(flow.callback.stoppedAt, undefined, `redirected to the target\n`
        + describeFlow(stack, flow));
    assertClientError(flow.callback.status, describeFlow(stack, flow));
    assert.equal(flow.session.status, 401, describeFlow(stack, flow));
}

async function startTokenStack(config = {}) {
    const stack = await startStack({ provider: 'faulty', config });
    stack.op.user = { ...USER };
    await provisionUser(stack, { userName: USER.email, externalId: USER.sub,
        displayName: USER.name });
    return stack;
}

function shiftClaims(change) {
    return ({ claims }) => ({ claims: { ...claims, ...change(claims) } });
}

describe('ID token checks', () => {
    const MIN_REFETCH_SECONDS = 3;
    let stack;

    before(async () => {
        stack = await startTokenStack({ oidc: { clock_skew: 60,
            jwks_min_refetch: MIN_REFETCH_SECONDS } });
    });

    after(async () => {
        await stopStack(stack);
    });

    test('good token signs in', async () => {
        stack.op.nextIdToken(null);
        assertAccepted(stack, await signIn(stack));
    });

    const rejected = [
        ['expired', FAULTS.expired],
        ['nbf in future', FAULTS.notYetValid],
        ['iat in future', FAULTS.issuedInFuture],
        ['wrong issuer', FAULTS.wrongIssuer],
        ['wrong audience', FAULTS.wrongAudience],
        ['several audiences without azp', FAULTS.severalAudiencesWithoutAzp],
        ['azp of another client', FAULTS.severalAudiencesWrongAzp],
        ['wrong nonce', FAULTS.wrongNonce],
        ['missing nonce', FAULTS.missingNonce],
        ['missing sub', FAULTS.missingSub],
        ['bad signature', FAULTS.badSignature],
        ['alg none', FAULTS.algNone],
        ['HS256 with RSA public key', FAULTS.hs256WithPublicKey],
        ['exp beyond skew', shiftClaims((c) => ({ iat: c.iat - 600, exp: c.iat - 61 - 5 }))],
    ];
    for (const [name, fault] of rejected) {
        test(`${name} rejected`, async () => {
            stack.op.nextIdToken(fault);
            assertRejected(stack, await signIn(stack));
        });
    }

    const acceptedControls = [
        ['exp just past within skew', shiftClaims((c) => ({ iat: c.iat - 120,
            exp: c.iat - 30 }))],
        ['nbf just ahead within skew', shiftClaims((c) => ({ nbf: c.iat + 30 }))],
        ['several audiences with azp', ({ claims }) => ({ claims: { ...claims,
            aud: [claims.aud, 'some-other-client'], azp: claims.aud } })],
        // Okta puts group names into ID tokens, which then take several kilobytes.
        ['8 KB token', ({ claims }) => ({ claims: { ...claims,
            groups: Array.from({ length: 200 }, (_, i) => `Directory Group ${i}`) } })],
    ];
    for (const [name, fault] of acceptedControls) {
        test(`${name} accepted`, async () => {
            stack.op.nextIdToken(fault);
            assertAccepted(stack, await signIn(stack));
        });
    }

    test('good token still signs in', async () => {
        stack.op.nextIdToken(null);
        assertAccepted(stack, await signIn(stack));
    });

    test('rotated key fetched once, rate-limited', async () => {
        stack.op.nextIdToken(null);
        assertAccepted(stack, await signIn(stack));
        const original = stack.op.signingKey;
        const fetchesBefore = stack.op.countRequests('/jwks');
        assert.ok(fetchesBefore >= 1, 'idgate never fetched the JWKS');

        // The provider rotates: a new key is published and signs the next token. The wait
        // lets the refetch interval pass since the last fetch.
        await sleep(MIN_REFETCH_SECONDS * 1000 + 500);
        const rotated = await createSigningKey('key-rotated');
        stack.op.publishedKeys = [original, rotated];
        stack.op.signingKey = rotated;
        assertAccepted(stack, await signIn(stack));
        assert.equal(stack.op.countRequests('/jwks'), fetchesBefore + 1,
            'expected exactly one JWKS refetch for the new kid');

        // A kid that was never published, within jwks_min_refetch of the last fetch: no new fetch.
        stack.op.signingKey = await createSigningKey('key-unpublished-1');
        assertRejected(stack, await signIn(stack));
        stack.op.signingKey = await createSigningKey('key-unpublished-2');
        assertRejected(stack, await signIn(stack));
        assert.equal(stack.op.countRequests('/jwks'), fetchesBefore + 1,
            'unknown kids within the refetch window caused JWKS fetches');

        stack.op.signingKey = original;
        assertAccepted(stack, await signIn(stack));
    });

    test('direct ID token POST rejected when not enabled', async () => {
        const agent = newAgent(stack);
        const idToken = await stack.op.makeIdToken({});
        const res = await agent.request(`${stack.publicUrl}/auth/okta`, {
            method: 'POST',
            form: { id_token: idToken },
        });
        assertClientError(res.status, `POST /auth/okta with id_token: `
            + `${res.body.slice(0, 200)}\n${tail(stack.srv.logs())}`);
        const session = await agent.request(`${stack.publicUrl}/session`);
        assert.equal(session.status, 401);
    });
});

describe('JWKS key removal', () => {
    const MIN_REFETCH_SECONDS = 1;
    let stack;

    before(async () => {
        stack = await startTokenStack({ oidc: { jwks_min_refetch: MIN_REFETCH_SECONDS } });
    });

    after(async () => {
        await stopStack(stack);
    });

    test('removed key stops being trusted', async () => {
        assertAccepted(stack, await signIn(stack));
        const original = stack.op.signingKey;

        const replacement = await createSigningKey('key-replacement');
        stack.op.publishedKeys = [replacement];
        await sleep(MIN_REFETCH_SECONDS * 1000 + 500);
        stack.op.signingKey = replacement;
        assertAccepted(stack, await signIn(stack));

        stack.op.signingKey = original;
        assertRejected(stack, await signIn(stack));
    });
});

describe('discovery issuer mismatch', () => {
    let stack;

    before(async () => {
        stack = await startTokenStack();
        // Discovery names the issuer with a trailing slash: a configuration error.
        stack.op.discoveryIssuer = `${stack.issuer}/`;
    });

    after(async () => {
        await stopStack(stack);
    });

    test('login fails before authorization', async () => {
        const flow = await signIn(stack);
        assert.equal(stack.op.authorizations.length, 0,
            `the browser was sent to the provider\n${describeFlow(stack, flow)}`);
        assert.ok(flow.callback.status >= 400, describeFlow(stack, flow));
        assert.equal(flow.session.status, 401);
        assert.match(stack.srv.logs(), /issuer/i);
    });
});

describe('ID token sent directly to /auth/okta', () => {
    let stack;

    before(async () => {
        stack = await startTokenStack();
        await setAccountSettings(stack, { 'direct-id-token': true });
    });

    after(async () => {
        await stopStack(stack);
    });

    // Posts an ID token as the provider's page does: from the issuer's origin, or with
    // `headers` when given.
    async function postIdToken(fault, { idToken, headers } = {}) {
        const agent = newAgent(stack);
        const token = idToken ?? await stack.op.makeIdToken({ fault });
        const res = await agent.request(`${stack.publicUrl}/auth/okta`, {
            method: 'POST',
            form: { id_token: token },
            headers: headers ?? { origin: new URL(stack.issuer).origin },
        });
        const session = await agent.request(`${stack.publicUrl}/session`);
        return { res, session };
    }

    test('good token signs in', async () => {
        const { res, session } = await postIdToken(null);
        assert.ok([302, 303].includes(res.status), `POST /auth/okta returned ${res.status}: `
            + `${res.body.slice(0, 200)}\n${tail(stack.srv.logs())}`);
        assert.equal(session.status, 200, session.body);
        assert.equal(JSON.parse(session.body).userName, USER.email);
    });

    const rejected = [
        ['expired', FAULTS.expired],
        ['wrong audience', FAULTS.wrongAudience],
        ['wrong issuer', FAULTS.wrongIssuer],
        ['bad signature', FAULTS.badSignature],
        ['alg none', FAULTS.algNone],
    ];
    for (const [name, fault] of rejected) {
        test(`${name} rejected`, async () => {
            const { res, session } = await postIdToken(fault);
            assertClientError(res.status, `POST /auth/okta: ${res.body.slice(0, 200)}\n`
                + tail(stack.srv.logs()));
            assert.equal(session.status, 401);
        });
    }

    test('same token twice rejected', async () => {
        const idToken = await stack.op.makeIdToken({});
        const first = await postIdToken(null, { idToken });
        assert.equal(first.session.status, 200, tail(stack.srv.logs()));
        const second = await postIdToken(null, { idToken });
        assertClientError(second.res.status, second.res.body.slice(0, 200));
        assert.equal(second.session.status, 401);
    });

    test('code-flow token rejected', async () => {
        stack.op.nextIdToken(null);
        const flow = await signIn(stack);
        assertAccepted(stack, flow);
        const { res, session } = await postIdToken(null,
            { idToken: stack.op.issuedTokens.at(-1) });
        assertClientError(res.status, `POST /auth/okta: ${res.body.slice(0, 200)}\n`
            + tail(stack.srv.logs()));
        assert.equal(session.status, 401);
    });

    test('token with nonce rejected', async () => {
        const idToken = await stack.op.makeIdToken({ nonce: 'abc' });
        const { res, session } = await postIdToken(null, { idToken });
        assertClientError(res.status, `POST /auth/okta: ${res.body.slice(0, 200)}\n`
            + tail(stack.srv.logs()));
        assert.equal(session.status, 401);
    });

    const foreignOrigins = [
        ['no Origin or Referer', {}],
        ['Origin of another site', { origin: 'https://evil.test' }],
        ['Origin of this service', { origin: 'SELF' }],
        ['Referer of another site', { referer: 'https://evil.test/page' }],
    ];
    for (const [name, headers] of foreignOrigins) {
        test(`${name} rejected`, async () => {
            const sent = headers.origin === 'SELF' ? { origin: stack.publicUrl } : headers;
            const { res, session } = await postIdToken(null, { headers: sent });
            assert.equal(res.status, 403, `POST /auth/okta: ${res.body.slice(0, 200)}\n`
                + tail(stack.srv.logs()));
            assert.equal(session.status, 401);
        });
    }

    test('Referer of the issuer accepted', async () => {
        const { res, session } = await postIdToken(null,
            { headers: { referer: `${stack.issuer}/app/sso` } });
        assert.ok([302, 303].includes(res.status), `POST /auth/okta returned ${res.status}: `
            + `${res.body.slice(0, 200)}\n${tail(stack.srv.logs())}`);
        assert.equal(session.status, 200);
    });
});

describe('ID token from a refresh', () => {
    const RECHECK_SECONDS = 1;
    let stack;

    before(async () => {
        stack = await startTokenStack({ session: { recheck_interval: RECHECK_SECONDS } });
        await setAccountSettings(stack, { 'refresh-tokens': true });
    });

    after(async () => {
        await stopStack(stack);
    });

    function refreshCount() {
        return stack.op.tokenRequests.filter((r) => r.grantType === 'refresh_token').length;
    }

    // Signs in with a good token, then lets the re-check interval pass and requests
    // GET /session, which refreshes with the provider. Returns that response and the next.
    async function refreshWith(fault, { idToken = true } = {}) {
        stack.op.nextIdToken(null);
        stack.op.nextRefreshIdToken(null);
        const flow = await signIn(stack);
        assertAccepted(stack, flow);
        stack.op.nextRefreshIdToken(fault);
        stack.op.refreshIdTokens = idToken;
        const before = refreshCount();
        await sleep(RECHECK_SECONDS * 1000 + 300);
        try {
            const refreshed = await flow.agent.request(`${stack.publicUrl}/session`);
            assert.equal(refreshCount(), before + 1, `GET /session did not refresh\n`
                + tail(stack.srv.logs()));
            const next = await flow.agent.request(`${stack.publicUrl}/session`);
            return { refreshed, next };
        } finally {
            stack.op.nextRefreshIdToken(null);
            stack.op.refreshIdTokens = true;
        }
    }

    test('good token keeps session', async () => {
        const { refreshed, next } = await refreshWith(null);
        assert.equal(refreshed.status, 200, tail(stack.srv.logs()));
        assert.equal(next.status, 200, tail(stack.srv.logs()));
    });

    test('response without ID token keeps session', async () => {
        const { refreshed, next } = await refreshWith(null, { idToken: false });
        assert.equal(refreshed.status, 200, tail(stack.srv.logs()));
        assert.equal(next.status, 200, tail(stack.srv.logs()));
    });

    const rejected = [
        ['bad signature', FAULTS.badSignature],
        ['alg none', FAULTS.algNone],
        ['wrong issuer', FAULTS.wrongIssuer],
        ['wrong audience', FAULTS.wrongAudience],
        ['azp of another client', FAULTS.severalAudiencesWrongAzp],
        ['expired', FAULTS.expired],
        ['exp beyond skew', shiftClaims((c) => ({ iat: c.iat - 600, exp: c.iat - 61 - 5 }))],
        ['other sub', shiftClaims(() => ({ sub: 'someone-else' }))],
        ['missing sub', FAULTS.missingSub],
    ];
    for (const [name, fault] of rejected) {
        test(`${name} ends session`, async () => {
            const { refreshed, next } = await refreshWith(fault);
            assert.equal(refreshed.status, 401, `refresh with ${name} kept the session\n`
                + tail(stack.srv.logs()));
            assert.equal(next.status, 401, 'the session survived the failed refresh');
        });
    }

    test('concurrent requests refresh once', async () => {
        stack.op.nextIdToken(null);
        const flow = await signIn(stack);
        assertAccepted(stack, flow);
        await sleep(RECHECK_SECONDS * 1000 + 300);
        const before = refreshCount();
        const responses = await Promise.all([1, 2, 3].map(() =>
            flow.agent.request(`${stack.publicUrl}/session`)));
        assert.deepEqual(responses.map((r) => r.status), [200, 200, 200],
            tail(stack.srv.logs()));
        assert.equal(refreshCount(), before + 1, 'expected one refresh for three requests');
        const next = await flow.agent.request(`${stack.publicUrl}/session`);
        assert.equal(next.status, 200, tail(stack.srv.logs()));
    });

    const refreshErrors = [
        ['invalid_client', 401],
        ['unauthorized_client', 401],
        ['temporarily_unavailable', 200],
    ];
    for (const [error, expected] of refreshErrors) {
        test(`${error} refresh error gives ${expected}`, async () => {
            stack.op.nextIdToken(null);
            const flow = await signIn(stack);
            assertAccepted(stack, flow);
            stack.op.refreshError = error;
            try {
                await sleep(RECHECK_SECONDS * 1000 + 300);
                const res = await flow.agent.request(`${stack.publicUrl}/session`);
                assert.equal(res.status, expected, tail(stack.srv.logs()));
            } finally {
                stack.op.refreshError = null;
            }
        });
    }

    test('revoked refresh token ends session', async () => {
        stack.op.nextIdToken(null);
        const flow = await signIn(stack);
        assertAccepted(stack, flow);
        stack.op.revokeRefreshTokens();
        await sleep(RECHECK_SECONDS * 1000 + 300);
        const res = await flow.agent.request(`${stack.publicUrl}/session`);
        assert.equal(res.status, 401, tail(stack.srv.logs()));
    });
});
