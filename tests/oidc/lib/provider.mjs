// A real OpenID Provider (the npm package oidc-provider) standing in for Okta in the sign-in
// tests. It serves https on 127.0.0.1 with a certificate from ca.mjs. It renders its own
// minimal login and logout pages because the package's built-in pages load fonts from a public
// host. It keeps every grant in memory, so a test can revoke a user's grants.
import { createServer } from 'node:https';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const MODEL_NAMES_WITH_GRANT = ['AccessToken', 'AuthorizationCode', 'RefreshToken'];

function escapeHtml(value) {
    return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
    return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`
        + `</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

async function readForm(req) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
        size += chunk.length;
        if (size > 64 * 1024) {
            throw new Error('form body larger than 64 KiB');
        }
        chunks.push(chunk);
    }
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// In-memory storage for every oidc-provider model. Unlike the package's own development
// adapter it can list grants, so revokeGrants() can find a user's grants by account.
class MemoryStore {
    constructor() {
        this.models = new Map();
    }

    model(name) {
        if (!this.models.has(name)) {
            this.models.set(name, new Map());
        }
        return this.models.get(name);
    }

    adapterFor(name) {
        const store = this;
        const records = this.model(name);
        return {
            async upsert(id, payload, expiresIn) {
                const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
                records.set(id, { payload, expiresAt });
            },
            async find(id) {
                const record = records.get(id);
                if (!record || record.expiresAt <= Date.now()) {
                    return undefined;
                }
                return record.payload;
            },
            async findByUid(uid) {
                for (const record of records.values()) {
                    if (record.payload.uid === uid && record.expiresAt > Date.now()) {
                        return record.payload;
                    }
                }
                return undefined;
            },
            async findByUserCode() {
                return undefined;
            },
            async consume(id) {
                const record = records.get(id);
                if (record) {
                    record.payload.consumed = Math.floor(Date.now() / 1000);
                }
            },
            async destroy(id) {
                records.delete(id);
            },
            async revokeByGrantId(grantId) {
                store.revokeGrant(grantId);
            },
        };
    }

    revokeGrant(grantId) {
        for (const name of MODEL_NAMES_WITH_GRANT) {
            const records = this.model(name);
            for (const [id, record] of records) {
                if (record.payload.grantId === grantId) {
                    records.delete(id);
                }
            }
        }
        this.model('Grant').delete(grantId);
    }

    grantIdsOfAccount(accountId) {
        const ids = [];
        for (const [id, record] of this.model('Grant')) {
            if (record.payload.accountId === accountId) {
                ids.push(id);
            }
        }
        return ids;
    }
}

/**
 * Starts the provider.
 *
 * options.tls: { cert, key } PEM strings for the https server (from createTestCa()).
 * options.users: array of { login, sub, email, preferred_username, name } that the login
 *   form accepts by login name (any password); more can be added with addUser().
 *
 * Returns an object with issuer, registerClient(), addUser(), removeUser(), revokeGrants(),
 * requests (every request received, as { method, path, query }), events (grant successes and
 * errors at the token endpoint) and stop().
 */
export async function startProvider({ tls, users = [] }) {
    const server = createServer({ cert: tls.cert, key: tls.key });
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
    });
    const issuer = `https://127.0.0.1:${server.address().port}`;

    const accounts = new Map(); // login name (lower case) -> claims
    const accountsBySub = new Map();
    const store = new MemoryStore();
    const requests = [];
    const events = [];
    const loginHints = [];

    function addUser(user) {
        const claims = {
            sub: user.sub,
            email: user.email,
            email_verified: true,
            preferred_username: user.preferred_username ?? user.login,
            name: user.name ?? user.login,
        };
        accounts.set(user.login.toLowerCase(), claims);
        accountsBySub.set(user.sub, claims);
        return claims;
    }

    function removeUser(login) {
        const claims = accounts.get(login.toLowerCase());
        if (claims) {
            accounts.delete(login.toLowerCase());
            accountsBySub.delete(claims.sub);
        }
    }

    users.forEach(addUser);

    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const signingKey = { ...(await exportJWK(privateKey)), kid: 'op-rs256-1', alg: 'RS256',
        use: 'sig' };

    const provider = new Provider(issuer, {
        adapter: (name) => store.adapterFor(name),
        jwks: { keys: [signingKey] },
        cookies: { keys: [randomBytes(32).toString('hex')] },
        claims: {
            openid: ['sub'],
            email: ['email', 'email_verified'],
            profile: ['name', 'preferred_username'],
        },
        // Okta puts the profile claims in the ID token of the code flow; the package by
        // default keeps them for the userinfo endpoint only.
        conformIdTokenClaims: false,
        scopes: ['openid', 'offline_access', 'email', 'profile'],
        responseTypes: ['code', 'id_token', 'code id_token'],
        pkce: { required: () => true },
        // Issue a refresh token to every client allowed the refresh_token grant, whether
        // or not offline_access survived (the package drops it unless prompt=consent).
        issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
        async findAccount(ctx, sub) {
            const claims = accountsBySub.get(sub);
            if (!claims) {
                return undefined;
            }
            return { accountId: sub, claims: async () => ({ ...claims }) };
        },
        interactions: {
            url: (ctx, interaction) => `/interaction/${interaction.uid}`,
        },
        features: {
            devInteractions: { enabled: false },
            revocation: { enabled: true },
            rpInitiatedLogout: {
                enabled: true,
                async logoutSource(ctx, form) {
                    ctx.body = page('Sign out', `${form}<button type="submit" `
                        + 'form="op.logoutForm" name="logout" value="yes">Sign out</button>'
                        + '<script>document.forms["op.logoutForm"].requestSubmit('
                        + 'document.querySelector("button[name=logout]"))</script>');
                },
                async postLogoutSuccessSource(ctx) {
                    ctx.body = page('Signed out', '<p>You are signed out.</p>');
                },
            },
        },
        async renderError(ctx, out) {
            ctx.type = 'html';
            ctx.body = page('Provider error', `<pre id="error">${escapeHtml(out.error)}: `
                + `${escapeHtml(out.error_description)}</pre>`);
        },
        ttl: {
            AccessToken: 600,
            AuthorizationCode: 60,
            IdToken: 600,
            Interaction: 600,
            RefreshToken: 3600,
            Session: 3600,
            Grant: 3600,
        },
    });

    provider.on('grant.success', (ctx) => {
        events.push({ type: 'grant.success', grantType: ctx.oidc.params.grant_type });
    });
    provider.on('grant.error', (ctx, err) => {
        events.push({ type: 'grant.error', grantType: ctx.oidc.params?.grant_type,
            error: err.error, description: err.error_description });
    });

    async function renderLogin(res, interaction, message) {
        const hint = interaction.params.login_hint ?? '';
        const error = message ? `<p id="error">${escapeHtml(message)}</p>` : '';
        const body = `${error}<form method="post" action="/interaction/${interaction.uid}/login">`
            + `<label>Login <input id="login" name="login" value="${escapeHtml(hint)}"></label>`
            + '<label>Password <input id="password" name="password" type="password"></label>'
            + '<button id="submit" type="submit">Sign in</button></form>';
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(page('Provider sign-in', body));
    }

    // Grants every requested scope and claim: the test provider has no consent screen.
    async function approveConsent(req, res, interaction) {
        const { params, session } = interaction;
        let grant;
        if (interaction.grantId) {
            grant = await provider.Grant.find(interaction.grantId);
        } else {
            grant = new provider.Grant({ accountId: session.accountId,
                clientId: params.client_id });
        }
        const promptDetails = interaction.prompt.details;
        if (promptDetails.missingOIDCScope) {
            grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '));
        }
        if (promptDetails.missingOIDCClaims) {
            grant.addOIDCClaims(promptDetails.missingOIDCClaims);
        }
        if (promptDetails.missingResourceScopes) {
            for (const [indicator, scopes] of Object.entries(promptDetails.missingResourceScopes)) {
                grant.addResourceScope(indicator, scopes.join(' '));
            }
        }
        const grantId = await grant.save();
        await provider.interactionFinished(req, res, { consent: { grantId } },
            { mergeWithLastSubmission: true });
    }

    async function handleInteraction(req, res, url) {
        const interaction = await provider.interactionDetails(req, res);
        if (req.method === 'GET') {
            if (interaction.params.login_hint) {
                loginHints.push(interaction.params.login_hint);
            }
            if (interaction.prompt.name === 'login') {
                await renderLogin(res, interaction);
                return;
            }
            await approveConsent(req, res, interaction);
            return;
        }
        if (req.method === 'POST' && url.pathname.endsWith('/login')) {
            const form = await readForm(req);
            const login = (form.get('login') ?? '').trim().toLowerCase();
            const claims = accounts.get(login);
            if (!claims) {
                await renderLogin(res, interaction, 'Unknown login name.');
                return;
            }
            await provider.interactionFinished(req, res, { login: { accountId: claims.sub } },
                { mergeWithLastSubmission: false });
            return;
        }
        res.writeHead(405).end();
    }

    const providerHandler = provider.callback();
    server.on('request', (req, res) => {
        const url = new URL(req.url, issuer);
        requests.push({ method: req.method, path: url.pathname, query: url.search });
        if (!url.pathname.startsWith('/interaction/')) {
            providerHandler(req, res);
            return;
        }
        handleInteraction(req, res, url).catch((err) => {
            if (!res.headersSent) {
                res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
            }
            res.end(page('Provider error', `<pre id="error">${escapeHtml(err.message)}</pre>`));
        });
    });

    return {
        issuer,
        provider,
        requests,
        events,
        loginHints,
        addUser,
        removeUser,

        /**
         * Registers a confidential client (client_secret_basic) with the authorization code
         * and refresh token grants, the code response type and query or form_post modes.
         */
        async registerClient({ clientId, clientSecret, redirectUris, postLogoutRedirectUris = [] }) {
            const metadata = {
                client_id: clientId,
                client_secret: clientSecret,
                redirect_uris: redirectUris,
                post_logout_redirect_uris: postLogoutRedirectUris,
                response_types: ['code'],
                grant_types: ['authorization_code', 'refresh_token'],
                token_endpoint_auth_method: 'client_secret_basic',
                id_token_signed_response_alg: 'RS256',
            };
            await store.adapterFor('Client').upsert(clientId, metadata);
            return metadata;
        },

        /** Revokes every grant of the user with this login name; returns how many. */
        revokeGrants(login) {
            const claims = accounts.get(login.toLowerCase());
            if (!claims) {
                return 0;
            }
            const ids = store.grantIdsOfAccount(claims.sub);
            ids.forEach((id) => store.revokeGrant(id));
            return ids.length;
        },

        async stop() {
            server.closeAllConnections();
            await new Promise((resolve) => server.close(resolve));
        },
    };
}
