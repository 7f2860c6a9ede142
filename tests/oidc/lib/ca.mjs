// Throwaway certificate authority for the sign-in tests. Every key and certificate is made
// with the openssl command at test time in a fresh temporary folder and removed afterwards.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function openssl(args, cwd) {
    try {
        execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
        const stderr = err.stderr ? err.stderr.toString() : '';
        throw new Error(`openssl ${args[0]} failed: ${stderr || err.message}`);
    }
}

/**
 * Creates a CA and a server certificate for 127.0.0.1 and localhost.
 *
 * Returns { dir, caFile, certFile, keyFile, ca, cert, key, remove() }, where ca, cert and
 * key are PEM strings and remove() deletes the folder.
 */
export function createTestCa() {
    const dir = mkdtempSync(join(tmpdir(), 'idgate-ca-'));
    const days = '2';

    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key',
        '-out', 'ca.pem', '-days', days, '-subj', '/CN=idgate test CA',
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);

    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key',
        '-out', 'server.csr', '-subj', '/CN=localhost'], dir);

    writeFileSync(join(dir, 'server.ext'), [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '',
    ].join('\n'));
    openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
        '-CAcreateserial', '-out', 'server.pem', '-days', days, '-sha256',
        '-extfile', 'server.ext'], dir);

    const caFile = join(dir, 'ca.pem');
    const certFile = join(dir, 'server.pem');
    const keyFile = join(dir, 'server.key');
    return {
        dir,
        caFile,
        certFile,
        keyFile,
        ca: readFileSync(caFile, 'utf8'),
        cert: readFileSync(certFile, 'utf8'),
        key: readFileSync(keyFile, 'utf8'),
        remove() {
            rmSync(dir, { recursive: true, force: true });
        },
    };
}
