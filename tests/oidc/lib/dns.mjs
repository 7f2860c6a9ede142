// A DNS server on 127.0.0.1 (UDP) that serves TXT records from a test-controlled map, so
// that `idgate domain verify` can prove an email domain without any outside name server.
// Every other name gets NXDOMAIN, and other record types of a known name get no records.
import { createSocket } from 'node:dgram';

const TYPE_TXT = 16;
const CLASS_IN = 1;

// Reads the question name starting at offset 12; returns { name, end } or null.
function readQuestionName(msg) {
    const labels = [];
    let offset = 12;
    while (offset < msg.length) {
        const length = msg[offset];
        if (length === 0) {
            return { name: labels.join('.').toLowerCase(), end: offset + 1 };
        }
        if (length > 63 || offset + 1 + length > msg.length) {
            return null;
        }
        labels.push(msg.subarray(offset + 1, offset + 1 + length).toString('latin1'));
        offset += 1 + length;
    }
    return null;
}

function txtRdata(value) {
    const bytes = Buffer.from(value, 'utf8');
    const parts = [];
    let offset = 0;
    do {
        const chunk = bytes.subarray(offset, offset + 255);
        parts.push(Buffer.from([chunk.length]), chunk);
        offset += 255;
    } while (offset < bytes.length);
    return Buffer.concat(parts);
}

function answer(msg, records) {
    const question = readQuestionName(msg);
    if (!question || question.end + 4 > msg.length) {
        return null;
    }
    const type = msg.readUInt16BE(question.end);
    const values = records.get(question.name);
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    const recursionDesired = msg[2] & 0x01;
    const rcode = values ? 0 : 3;
    header.writeUInt16BE(0x8400 | (recursionDesired << 8) | rcode, 2);
    header.writeUInt16BE(1, 4);
    const answers = [];
    if (values && type === TYPE_TXT) {
        for (const value of values) {
            const rdata = txtRdata(value);
            const fixed = Buffer.alloc(12);
            fixed.writeUInt16BE(0xc00c, 0);
            fixed.writeUInt16BE(TYPE_TXT, 2);
            fixed.writeUInt16BE(CLASS_IN, 4);
            fixed.writeUInt32BE(60, 6);
            fixed.writeUInt16BE(rdata.length, 10);
            answers.push(fixed, rdata);
        }
        header.writeUInt16BE(values.length, 6);
    }
    return Buffer.concat([header, msg.subarray(12, question.end + 4), ...answers]);
}

/**
 * Starts the server. Returns { address ("127.0.0.1:port"), setTxt(name, values), queries,
 * stop() }; queries lists every name asked for.
 */
export async function startDnsServer() {
    const records = new Map();
    const queries = [];
    const socket = createSocket('udp4');
    socket.on('message', (msg, peer) => {
        const question = readQuestionName(msg);
        queries.push(question ? question.name : '(malformed)');
        const reply = answer(msg, records);
        if (reply) {
            socket.send(reply, peer.port, peer.address);
        }
    });
    await new Promise((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, '127.0.0.1', resolve);
    });
    return {
        address: `127.0.0.1:${socket.address().port}`,
        queries,
        setTxt(name, values) {
            records.set(name.toLowerCase().replace(/\.$/, ''), values);
        },
        async stop() {
            await new Promise((resolve) => socket.close(resolve));
        },
    };
}
