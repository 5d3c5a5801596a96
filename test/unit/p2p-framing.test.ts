/** p2p/: address parsing, newline framing and the token bucket. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addressError, formatAddress, LineDecoder, parseAddress, TokenBucket, type Clock, type Incoming } from '../../src/p2p/index.ts';

function decodeAll(limit: number, chunks: (string | Buffer)[]): Incoming[] {
  const d = new LineDecoder(limit);
  const out: Incoming[] = [];
  for (const c of chunks) d.push(typeof c === 'string' ? Buffer.from(c) : c, (m) => out.push(m));
  return out;
}

describe('peer addresses', () => {
  test('accepts ws and tcp with hostnames, IPv4 and IPv6', () => {
    assert.deepEqual(parseAddress('ws://127.0.0.1:6001'), { scheme: 'ws', host: '127.0.0.1', port: 6001 });
    assert.deepEqual(parseAddress('tcp://[::1]:7001'), { scheme: 'tcp', host: '::1', port: 7001 });
    assert.deepEqual(parseAddress('tcp://Node-1.Example.org:1'), { scheme: 'tcp', host: 'node-1.example.org', port: 1 });
    assert.equal(formatAddress({ scheme: 'tcp', host: '::1', port: 7001 }), 'tcp://[::1]:7001');
  });
  test('rejects malformed addresses with a reason', () => {
    for (const s of ['http://a:1', 'ws://a', 'ws://a:0', 'ws://a:65536', 'ws://a:1/path', 'tcp://[zz]:1', 'tcp://1.2.3.999:1', 'tcp://-a:1', 'ws://a b:1', 'x'.repeat(400), 'tcp://::1:5']) {
      assert.equal(parseAddress(s), undefined, s);
      assert.equal(typeof addressError(s), 'string', s);
    }
    assert.equal(addressError(5), 'an address is a string');
  });
  test('format(parse(x)) is stable', () => {
    fc.assert(
      fc.property(fc.constantFrom('ws', 'tcp'), fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()), fc.integer({ min: 1, max: 65535 }), (scheme, host, port) => {
        const s = formatAddress({ scheme: scheme as 'ws' | 'tcp', host, port });
        const a = parseAddress(s);
        if (a === undefined) return; // fc.domain may produce labels over our 63-char rule or similar
        assert.equal(formatAddress(a), formatAddress(parseAddress(formatAddress(a)) ?? a));
      }),
    );
  });
});

describe('line framing', () => {
  test('partial lines and several lines per chunk', () => {
    const out = decodeAll(100, ['{"a":', '1}\n{"b"', ':2}\n{"c":3}\n{"d":4}', '\n']);
    assert.deepEqual(out.map((m) => m.ok && m.value), [{ a: 1 }, { b: 2 }, { c: 3 }, { d: 4 }]);
  });
  test('CRLF endings and blank lines', () => {
    const out = decodeAll(100, ['1\r\n\r\n\n2\n']);
    assert.deepEqual(out.map((m) => m.ok && m.value), [1, 2]);
  });
  test('a multi-byte character split across chunks survives', () => {
    const b = Buffer.from('"héllo€"\n');
    const out = decodeAll(100, [b.subarray(0, 3), b.subarray(3, 9), b.subarray(9)]);
    assert.deepEqual(out.map((m) => m.ok && m.value), ['héllo€']);
  });
  test('bad JSON is a framing error and the next line still parses', () => {
    const out = decodeAll(100, ['{nope\n', '[1,2\n', '3\n']);
    assert.deepEqual(out.map((m) => (m.ok ? m.value : m.error.kind)), ['bad-json', 'bad-json', 3]);
  });
  test('a line of exactly the limit passes; one byte more is oversized', () => {
    const ok = '"' + 'x'.repeat(8) + '"'; // 10 bytes
    assert.deepEqual(decodeAll(10, [ok + '\n']).map((m) => m.ok), [true]);
    assert.deepEqual(decodeAll(10, [ok + '\r\n']).map((m) => m.ok), [true]);
    assert.deepEqual(decodeAll(10, [ok.slice(0, 5), ok.slice(5) + '\n']).map((m) => m.ok), [true]);
    const big = decodeAll(10, ['"' + 'x'.repeat(9) + '"\n', '1\n']);
    assert.deepEqual(big.map((m) => (m.ok ? m.value : m.error.kind)), ['oversized', 1]);
  });
  test('an oversized line is reported once, early, and discarded up to the newline', () => {
    const d = new LineDecoder(16);
    const out: Incoming[] = [];
    d.push(Buffer.from('x'.repeat(10)), (m) => out.push(m));
    assert.equal(out.length, 0);
    d.push(Buffer.from('x'.repeat(10)), (m) => out.push(m));
    assert.equal(out.length, 1, 'reported as soon as the limit is crossed');
    for (let i = 0; i < 100; i++) d.push(Buffer.alloc(1000, 0x78), (m) => out.push(m));
    assert.equal(d.buffered, 0, 'discarded bytes are not held');
    d.push(Buffer.from('xx\n{"ok":true}\n'), (m) => out.push(m));
    assert.deepEqual(out.map((m) => (m.ok ? m.value : m.error.kind)), ['oversized', { ok: true }]);
  });
  test('any split of the byte stream gives the same frames', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 10 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }), (vals, sizes) => {
        const bytes = Buffer.from(vals.map((v) => JSON.stringify(v)).join('\n') + '\n');
        const chunks: Buffer[] = [];
        for (let i = 0, k = 0; i < bytes.length; k++) {
          const n = sizes[k % sizes.length] as number;
          chunks.push(bytes.subarray(i, i + n));
          i += n;
        }
        const whole = decodeAll(1 << 20, [bytes]);
        const split = decodeAll(1 << 20, chunks);
        assert.deepEqual(split, whole);
      }),
    );
  });
});

describe('token bucket', () => {
  test('allows the burst, then the rate', () => {
    let t = 0;
    const clock: Clock = { now: () => t, setTimer: () => () => {} };
    const b = new TokenBucket(10, 5, clock);
    for (let i = 0; i < 5; i++) assert.ok(b.take());
    assert.equal(b.take(), false);
    t += 100; // 1 token
    assert.ok(b.take());
    assert.equal(b.take(), false);
    t += 10_000;
    for (let i = 0; i < 5; i++) assert.ok(b.take());
    assert.equal(b.take(), false, 'refill is capped at the burst');
    assert.equal(b.take(6), false);
  });
});
