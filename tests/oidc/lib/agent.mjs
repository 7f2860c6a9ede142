// A scripted user agent for flows that need no real browser: it keeps cookies per host,
// speaks http and https (trusting the test CA) and follows redirects a bounded number of
// times. It ignores SameSite and Secure, so cookie-policy checks belong in the browser tests.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const REQUEST_TIMEOUT_MS = 10000;

function parseSetCookie(line) {
    const [pair, ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) {
        return null;
    }
    const cookie = {
        name: pair.slice(0, eq).trim(),
        value: pair.slice(eq + 1).trim(),
        path: '/',
        expired: false,
        attributes: {},
    };
    for (const attribute of attributes) {
        const [key, ...rest] = attribute.split('=');
        const name = key.trim().toLowerCase();
        const value = rest.join('=').trim();
        cookie.attributes[name] = value;
        if (name === 'path' && value.startsWith('/')) {
            cookie.path = value;
        } else if (name === 'max-age' && Number(value) <= 0) {
            cookie.expired = true;
        } else if (name === 'expires' && Date.parse(value) <= Date.now()) {
            cookie.expired = true;
        }
    }
    return cookie;
}

/**
 * Sends one HTTP(S) request. Returns { status, headers, body, setCookies }, where headers
 * has lower-case names and set-cookie lines are in setCookies.
 */
export function rawRequest(url, { method = 'GET', headers = {}, body, ca } = {}) {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
        const req = send(target, { method, headers, ca, timeout: REQUEST_TIMEOUT_MS }, (res) => {
            const chunks = [];
            res.on('data', (chunk) => chunks.push(chunk));
            res.on('end', () => {
                resolve({
                    status: res.statusCode,
                    headers: res.headers,
                    body: Buffer.concat(chunks).toString('utf8'),
                    setCookies: res.headers['set-cookie'] ?? [],
                });
            });
            res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
        req.on('error', reject);
        if (body !== undefined) {
            req.write(body);
        }
        req.end();
    });
}

export class UserAgent {
    /** ca: PEM of the test CA, trusted for https in addition to nothing else. */
    constructor({ ca } = {}) {
        this.ca = ca;
        this.jar = new Map(); // hostname -> Map(name -> cookie)
        this.history = [];
    }

    cookiesFor(url) {
        const target = new URL(url);
        const cookies = this.jar.get(target.hostname) ?? new Map();
        return [...cookies.values()].filter((c) => target.pathname.startsWith(c.path));
    }

    cookie(url, name) {
        return this.cookiesFor(url).find((c) => c.name === name);
    }

    storeCookies(url, lines) {
        const { hostname } = new URL(url);
        if (!this.jar.has(hostname)) {
            this.jar.set(hostname, new Map());
        }
        const cookies = this.jar.get(hostname);
        for (const line of lines) {
            const cookie = parseSetCookie(line);
            if (!cookie) {
                continue;
            }
            if (cookie.expired) {
                cookies.delete(cookie.name);
            } else {
                cookies.set(cookie.name, cookie);
            }
        }
    }

    /**
     * Sends one request with the stored cookies and stores the cookies of the response.
     * options.form: an object or URLSearchParams sent as application/x-www-form-urlencoded.
     */
    async request(url, { method = 'GET', headers = {}, form, body } = {}) {
        const allHeaders = { ...headers };
        let payload = body;
        if (form !== undefined) {
            payload = new URLSearchParams(form).toString();
            allHeaders['content-type'] = 'application/x-www-form-urlencoded';
        }
        if (payload !== undefined) {
            allHeaders['content-length'] = Buffer.byteLength(payload);
        }
        const cookies = this.cookiesFor(url);
        if (cookies.length) {
            allHeaders.cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
        }
        const res = await rawRequest(url, { method, headers: allHeaders, body: payload,
            ca: this.ca });
        this.storeCookies(url, res.setCookies);
        res.url = url;
        res.method = method;
        this.history.push({ method, url, status: res.status, location: res.headers.location });
        return res;
    }

    /**
     * Sends a request and follows redirects, at most maxRedirects of them. stopAt(url) may
     * return true to stop before requesting a redirect target (its URL is then in stoppedAt).
     * Returns the last response with chain (every response on the way).
     */
    async follow(url, options = {}, { maxRedirects = 10, stopAt } = {}) {
        let current = url;
        let requestOptions = options;
        const chain = [];
        for (let hop = 0; hop <= maxRedirects; hop++) {
            const res = await this.request(current, requestOptions);
            chain.push(res);
            const location = res.headers.location;
            if (![301, 302, 303, 307, 308].includes(res.status) || !location) {
                res.chain = chain;
                return res;
            }
            const next = new URL(location, current).href;
            if (stopAt && stopAt(next)) {
                res.chain = chain;
                res.stoppedAt = next;
                return res;
            }
            if (res.status === 307 || res.status === 308) {
                requestOptions = options;
            } else {
                requestOptions = {};
            }
            current = next;
        }
        throw new Error(`more than ${maxRedirects} redirects starting at ${url}`);
    }
}

/**
 * Reads the first HTML form of a page: returns { action, method, fields } with the values of
 * its input elements, or null. Enough for the simple pages the tests and providers render.
 */
export function parseForm(html, baseUrl) {
    const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
    if (!form) {
        return null;
    }
    const attribute = (source, name) => {
        const match = new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i').exec(source);
        return match ? decodeEntities(match[2] ?? match[3]) : undefined;
    };
    const fields = {};
    for (const input of form[2].matchAll(/<input\b([^>]*)>/gi)) {
        const name = attribute(input[1], 'name');
        if (name !== undefined) {
            fields[name] = attribute(input[1], 'value') ?? '';
        }
    }
    return {
        action: new URL(attribute(form[1], 'action') ?? '', baseUrl).href,
        method: (attribute(form[1], 'method') ?? 'GET').toUpperCase(),
        fields,
    };
}

function decodeEntities(text) {
    return text
        .replace(/&#x([0-9a-f]+);/gi, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
        .replace(/&#(\d+);/g, (_, dec) => String.fromCodePoint(Number(dec)))
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&');
}
