// A fake OpenID Provider built with jose that hands out whatever ID token the test requests.
// Its authorization endpoint approves at once (no login page), remembers the nonce and PKCE
// challenge of the request, and its token endpoint checks the client secret, the code and the
// PKCE verifier before returning the next ID token. It counts every request, so a test can
// prove idgate fetched nothing (or the JWKS only once).
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:https';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';

function base64url(input) {
    return Buffer.from(input).toString('base64url');
}

function escapeHtml(value) {
    return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readBody(req) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
        size += chunk.length;
        if (size > 256 * 1024) {
            throw new Error('request body larger than 256 KiB');
        }
        chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
}

/** Generates an RS256 key pair with this kid; returns { kid, privateKey, publicJwk, spki }. */
export async function createSigningKey(kid) {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    return { kid, privateKey, publicKey, publicJwk, spki: await exportSPKI(publicKey) };
}

/**
 * The faults the token endpoint can put into the next ID token. Each is a function of the
 * default claims and header that returns { claims, header, key, finish }, where finish
 * optionally rewrites the compact token after signing.
 */
export const FAULTS = {
    expired: ({ claims }) => ({ claims: { ...claims, iat: claims.iat - 1200,
        exp: claims.iat - 600 } }),
    notYetValid: ({ claims }) => ({ claims: { ...claims, nbf: claims.iat + 600 } }),
    issuedInFuture: ({ claims }) => ({ claims: { ...claims, iat: claims.iat + 600,
        exp: claims.exp + 600 } }),
    wrongIssuer: ({ claims }) => ({ claims: { ...claims, iss: `${claims.iss}/other` } }),
    wrongAudience: ({ claims }) => ({ claims: { ...claims, aud: 'some-other-client' } }),
    severalAudiencesWithoutAzp: ({ claims }) => ({ claims: { ...claims,
        aud: [claims.aud, 'some-other-client'] } }),
    severalAudiencesWrongAzp: ({ claims }) => ({ claims: { ...claims,
        aud: [claims.aud, 'some-other-client'], azp: 'some-other-client' } }),
    wrongNonce: ({ claims }) => ({ claims: { ...claims, nonce: base64url(randomBytes(16)) } }),
    missingNonce: ({ claims }) => {
        const { nonce, ...rest } = claims;
        void nonce;
        return { claims: rest };
    },
    missingSub: ({ claims }) => {
        const { sub, ...rest } = claims;
        void sub;
        return { claims: rest };
    },
    badSignature: () => ({
        finish: (token) => {
            const [header, payload, signature] = token.split('.');
            const bytes = Buffer.from(signature, 'base64url');
            bytes[bytes.length >> 1] ^= 0x01;
            return `${header}.${payload}.${bytes.toString('base64url')}`;
        },
    }),
    algNone: ({ claims, header }) => ({
        unsigned: true,
        finish: () => `${base64url(JSON.stringify({ ...header, alg: 'none' }))}.`
            + `${base64url(JSON.stringify(claims))}.`,
    }),
    // The classic key-confusion attack: HMAC-SHA256 keyed with the RSA public key's PEM.
    hs256WithPublicKey: ({ claims, header, key }) => ({
        unsigned: true,
        finish: () => {
            const signingInput = `${base64url(JSON.stringify({ ...header, alg: 'HS256' }))}.`
                + `${base64url(JSON.stringify(claims))}`;
            const mac = createHmac('sha256', key.spki).update(signingInput).digest();
            return `${signingInput}.${base64url(mac)}`;
        },
    }),
};

/**
 * Starts the fake provider on 127.0.0.1 over https.
 *
 * options.tls: { cert, key } PEM strings; options.clientId, options.clientSecret: the only
 * client it accepts.
 *
 * The returned object's nextIdToken(fn) sets how the next ID token is made: fn receives
 * { claims, header, key, authorization } and returns { claims, header, key, finish }
 * (see FAULTS). user: the claims of the user the tokens are about (set it before a login).
 */
export async function startFaultyOp({ tls, clientId, clientSecret }) {
    const server = createServer({ cert: tls.cert, key: tls.key });
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
    });
    const issuer = `https://127.0.0.1:${server.address().port}`;

    const op = {
        issuer,
        clientId,
        clientSecret,
        requests: [],
        authorizations: [], // every authorization request's parameters
        tokenRequests: [],
        user: { sub: 'user-1', email: 'user-1@example.test', preferred_username:
            'user-1@example.test', name: 'User One' },
        signingKey: await createSigningKey('key-1'),
        publishedKeys: [],
        issuedTokens: [],
        codes: new Map(),
        refreshTokens: new Map(), // live refresh token -> the sub it was issued for
        nextFault: null,
        nextRefreshFault: null,
        refreshIdTokens: true, // false: refresh responses carry no ID token
        refreshError: null, // an OAuth error code every refresh request gets
        issParameter: false, // advertise and send iss in authorization responses (RFC 9207)
        discoveryOverrides: null, // members that replace those of the discovery document
    };
    op.publishedKeys = [op.signingKey];

    op.countRequests = (path) => op.requests.filter((r) => r.path === path).length;

    /** Makes the next ID token with fault(context) applied; null restores a good token. */
    op.nextIdToken = (fault) => {
        op.nextFault = fault;
    };

    /** Makes the ID tokens of later refresh responses with fault applied; null: good ones. */
    op.nextRefreshIdToken = (fault) => {
        op.nextRefreshFault = fault;
    };

    /** Revokes every refresh token, as an administrator ending the user's grants would. */
    op.revokeRefreshTokens = () => {
        op.refreshTokens.clear();
    };

    /** Signs an ID token for the current user with the given nonce and fault. */
    op.makeIdToken = async ({ nonce, fault = null, key = op.signingKey } = {}) => {
        const now = Math.floor(Date.now() / 1000);
        const claims = { iss: issuer, aud: clientId, iat: now, exp: now + 300,
            auth_time: now, jti: base64url(randomBytes(12)), email_verified: true,
            ...op.user };
        if (nonce !== undefined) {
            claims.nonce = nonce;
        }
        const header = { alg: 'RS256', typ: 'JWT', kid: key.kid };
        const plan = { claims, header, key, ...(fault ? fault({ claims, header, key }) : {}) };
        let token;
        if (plan.unsigned) {
            token = plan.finish();
        } else {
            token = await new SignJWT(plan.claims).setProtectedHeader(plan.header)
                .sign(plan.key.privateKey);
            if (plan.finish) {
                token = plan.finish(token);
            }
        }
        op.issuedTokens.push(token);
        return token;
    };

    function sendJson(res, status, body, headers = {}) {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store',
            ...headers });
        res.end(JSON.stringify(body));
    }

    function discovery() {
        const extra = op.issParameter ? { authorization_response_iss_parameter_supported: true }
            : {};
        return { ...baseDiscovery(), ...extra, ...(op.discoveryOverrides ?? {}) };
    }

    function baseDiscovery() {
        return {
            issuer: op.discoveryIssuer ?? issuer,
            authorization_endpoint: `${issuer}/authorize`,
            token_endpoint: `${issuer}/token`,
            jwks_uri: `${issuer}/jwks`,
            end_session_endpoint: `${issuer}/logout`,
            response_types_supported: ['code', 'id_token'],
            response_modes_supported: ['query', 'form_post'],
            grant_types_supported: ['authorization_code', 'refresh_token'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: ['RS256'],
            token_endpoint_auth_methods_supported: ['client_secret_basic'],
            code_challenge_methods_supported: ['S256'],
            scopes_supported: ['openid', 'email', 'profile', 'offline_access'],
        };
    }

    function authorize(url, res) {
        const params = Object.fromEntries(url.searchParams);
        op.authorizations.push(params);
        if (params.client_id !== clientId || !params.redirect_uri) {
            res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid client or redirect');
            return;
        }
        const code = base64url(randomBytes(24));
        op.codes.set(code, { ...params, used: false });
        const response = { code, state: params.state,
            ...(op.issParameter ? { iss: issuer } : {}) };
        if (params.response_mode === 'form_post') {
            const inputs = Object.entries(response).map(([name, value]) =>
                `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`).join('');
            res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
            res.end(`<!DOCTYPE html><html><body onload="document.forms[0].submit()">`
                + `<form method="post" action="${escapeHtml(params.redirect_uri)}">${inputs}`
                + '</form></body></html>');
            return;
        }
        const target = new URL(params.redirect_uri);
        for (const [name, value] of Object.entries(response)) {
            target.searchParams.set(name, value);
        }
        res.writeHead(302, { location: target.href }).end();
    }

    function checkClient(req) {
        const header = req.headers.authorization ?? '';
        if (!header.startsWith('Basic ')) {
            return false;
        }
        const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        const id = decodeURIComponent(decoded.slice(0, colon));
        const secret = decodeURIComponent(decoded.slice(colon + 1));
        return id === clientId && secret === clientSecret;
    }

    async function token(req, res) {
        const params = new URLSearchParams(await readBody(req));
        const record = { grantType: params.get('grant_type'), clientAuthenticated: checkClient(req) };
        op.tokenRequests.push(record);
        if (!record.clientAuthenticated) {
            sendJson(res, 401, { error: 'invalid_client' });
            return;
        }
        if (params.get('grant_type') === 'refresh_token') {
            await refresh(params, res);
            return;
        }
        if (params.get('grant_type') !== 'authorization_code') {
            sendJson(res, 400, { error: 'unsupported_grant_type' });
            return;
        }
        const authorization = op.codes.get(params.get('code'));
        if (!authorization || authorization.used) {
            record.error = 'unknown or used code';
            sendJson(res, 400, { error: 'invalid_grant' });
            return;
        }
        authorization.used = true;
        const verifier = params.get('code_verifier') ?? '';
        const challenge = base64url(createHash('sha256').update(verifier).digest());
        if (authorization.code_challenge_method !== 'S256'
            || challenge !== authorization.code_challenge) {
            record.error = 'PKCE verification failed';
            sendJson(res, 400, { error: 'invalid_grant' });
            return;
        }
        if (params.get('redirect_uri') !== authorization.redirect_uri) {
            record.error = 'redirect_uri differs from the authorization request';
            sendJson(res, 400, { error: 'invalid_grant' });
            return;
        }
        const fault = op.nextFault;
        const idToken = await op.makeIdToken({ nonce: authorization.nonce, fault });
        const body = {
            access_token: base64url(randomBytes(24)),
            token_type: 'Bearer',
            expires_in: 600,
            id_token: idToken,
            scope: authorization.scope,
        };
        if ((authorization.scope ?? '').split(' ').includes('offline_access')) {
            body.refresh_token = issueRefreshToken(op.user.sub);
        }
        sendJson(res, 200, body);
    }

    function issueRefreshToken(sub) {
        const refreshToken = base64url(randomBytes(24));
        op.refreshTokens.set(refreshToken, sub);
        return refreshToken;
    }

    // The refresh_token grant: rotates the refresh token and, unless refreshIdTokens is
    // false, returns a new ID token without a nonce, as OpenID Connect Core 12.2 describes.
    async function refresh(params, res) {
        if (op.refreshError) {
            sendJson(res, 400, { error: op.refreshError });
            return;
        }
        const presented = params.get('refresh_token');
        if (!op.refreshTokens.has(presented)) {
            sendJson(res, 400, { error: 'invalid_grant' });
            return;
        }
        const sub = op.refreshTokens.get(presented);
        op.refreshTokens.delete(presented);
        const body = {
            access_token: base64url(randomBytes(24)),
            token_type: 'Bearer',
            expires_in: 600,
            refresh_token: issueRefreshToken(sub),
        };
        if (op.refreshIdTokens) {
            body.id_token = await op.makeIdToken({ fault: op.nextRefreshFault });
        }
        sendJson(res, 200, body);
    }

    async function route(req, res, url) {
        if (url.pathname === '/.well-known/openid-configuration') {
            sendJson(res, 200, discovery());
        } else if (url.pathname === '/jwks') {
            sendJson(res, 200, { keys: op.publishedKeys.map((k) => k.publicJwk) });
        } else if (url.pathname === '/authorize') {
            authorize(url, res);
        } else if (url.pathname === '/token' && req.method === 'POST') {
            await token(req, res);
        } else {
            res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        }
    }

    server.on('request', (req, res) => {
        const url = new URL(req.url, issuer);
        op.requests.push({ method: req.method, path: url.pathname, query: url.search });
        route(req, res, url).catch((err) => {
            if (!res.headersSent) {
                res.writeHead(500, { 'content-type': 'text/plain' });
            }
            res.end(String(err.message));
        });
    });

    op.stop = async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
    };
    return op;
}
