// A minimal relying party used only to prove the test provider and browser helpers work on
// their own (tests/oidc/harness.test.mjs), so that a failing sign-in test points at idgate
// and not at the harness. It is not a model of how idgate should behave.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { rawRequest } from './agent.mjs';

function base64url(buffer) {
    return Buffer.from(buffer).toString('base64url');
}

async function readBody(req) {
    const chunks = [];
    for await (const chunk of req) {
        chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
}

async function getJson(url, ca) {
    const res = await rawRequest(url, { ca });
    if (res.status !== 200) {
        throw new Error(`GET ${url} returned ${res.status}: ${res.body}`);
    }
    return JSON.parse(res.body);
}

/**
 * Starts the relying party on 127.0.0.1.
 * Returns { baseUrl, redirectUri, clientId, clientSecret, configure(), stop() }; call
 * configure() once the provider runs and the client is registered.
 */
export async function startMiniRp({ ca, clientId = 'mini-rp', clientSecret = 'mini-rp-secret' }) {
    const transactions = new Map(); // state -> { nonce, verifier }
    const sessions = new Map(); // session id -> { claims, refreshToken }
    let discovery;
    let jwks;
    let issuer;

    const server = createServer();
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${server.address().port}`;
    const redirectUri = `${baseUrl}/callback`;

    function sessionOf(req) {
        const match = /(?:^|;\s*)rp_session=([^;]+)/.exec(req.headers.cookie ?? '');
        return match ? sessions.get(match[1]) : undefined;
    }

    async function tokenRequest(params) {
        const basic = Buffer.from(`${encodeURIComponent(clientId)}:`
            + `${encodeURIComponent(clientSecret)}`).toString('base64');
        const body = new URLSearchParams(params).toString();
        const res = await rawRequest(discovery.token_endpoint, {
            method: 'POST',
            ca,
            body,
            headers: {
                authorization: `Basic ${basic}`,
                'content-type': 'application/x-www-form-urlencoded',
                'content-length': Buffer.byteLength(body),
            },
        });
        return { status: res.status, json: JSON.parse(res.body) };
    }

    function startLogin(url, res) {
        const state = base64url(randomBytes(16));
        const nonce = base64url(randomBytes(16));
        const verifier = base64url(randomBytes(32));
        transactions.set(state, { nonce, verifier });
        const challenge = base64url(createHash('sha256').update(verifier).digest());
        const authorize = new URL(discovery.authorization_endpoint);
        authorize.search = new URLSearchParams({
            client_id: clientId,
            response_type: 'code',
            response_mode: url.searchParams.get('mode') ?? 'query',
            scope: 'openid email profile offline_access',
            redirect_uri: redirectUri,
            state,
            nonce,
            code_challenge: challenge,
            code_challenge_method: 'S256',
            ...(url.searchParams.get('login_hint')
                ? { login_hint: url.searchParams.get('login_hint') } : {}),
        }).toString();
        res.writeHead(302, { location: authorize.href }).end();
    }

    async function finishLogin(params, res) {
        const transaction = transactions.get(params.get('state'));
        transactions.delete(params.get('state'));
        if (!transaction) {
            res.writeHead(400).end('unknown state');
            return;
        }
        const token = await tokenRequest({
            grant_type: 'authorization_code',
            code: params.get('code'),
            redirect_uri: redirectUri,
            code_verifier: transaction.verifier,
        });
        if (token.status !== 200) {
            res.writeHead(502).end(`token endpoint returned ${token.status}`);
            return;
        }
        const { payload } = await jwtVerify(token.json.id_token, jwks, { issuer,
            audience: clientId });
        if (payload.nonce !== transaction.nonce) {
            res.writeHead(400).end('nonce mismatch');
            return;
        }
        const id = base64url(randomBytes(16));
        sessions.set(id, { claims: payload, refreshToken: token.json.refresh_token });
        res.writeHead(200, { 'set-cookie': `rp_session=${id}; Path=/; HttpOnly`,
            'content-type': 'text/html' });
        res.end(`<p id="who">Signed in as ${payload.email}</p>`);
    }

    async function refresh(req, res) {
        const session = sessionOf(req);
        if (!session?.refreshToken) {
            res.writeHead(401).end('no refresh token');
            return;
        }
        const token = await tokenRequest({ grant_type: 'refresh_token',
            refresh_token: session.refreshToken });
        if (token.status === 200) {
            session.refreshToken = token.json.refresh_token ?? session.refreshToken;
        }
        res.writeHead(token.status === 200 ? 200 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify(token.json));
    }

    async function route(req, res) {
        const url = new URL(req.url, baseUrl);
        if (url.pathname === '/login') {
            startLogin(url, res);
        } else if (url.pathname === '/callback' && req.method === 'GET') {
            await finishLogin(url.searchParams, res);
        } else if (url.pathname === '/callback' && req.method === 'POST') {
            await finishLogin(new URLSearchParams(await readBody(req)), res);
        } else if (url.pathname === '/me') {
            const session = sessionOf(req);
            res.writeHead(session ? 200 : 401, { 'content-type': 'application/json' });
            res.end(JSON.stringify(session ? session.claims : {}));
        } else if (url.pathname === '/refresh') {
            await refresh(req, res);
        } else {
            res.writeHead(404).end();
        }
    }

    server.on('request', (req, res) => {
        route(req, res).catch((err) => {
            if (!res.headersSent) {
                res.writeHead(500);
            }
            res.end(String(err.message));
        });
    });

    return {
        baseUrl,
        redirectUri,
        clientId,
        clientSecret,
        sessions,
        async configure(providerIssuer) {
            issuer = providerIssuer;
            discovery = await getJson(`${issuer}/.well-known/openid-configuration`, ca);
            jwks = createLocalJWKSet(await getJson(discovery.jwks_uri, ca));
        },
        async stop() {
            server.closeAllConnections();
            await new Promise((resolve) => server.close(resolve));
        },
    };
}
