/** core/encoding.ts and core/amount.ts: canonical JSON and amounts. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  addAmounts,
  canonicalBytes,
  canonicalJson,
  EncodingError,
  formatAmount,
  isAmount,
  MAX_AMOUNT,
  parseAmount,
  subAmounts,
} from '../../src/core/index.ts';

describe('canonical JSON: known outputs', () => {
  test('scalars', () => {
    assert.equal(canonicalJson(null), 'null');
    assert.equal(canonicalJson(true), 'true');
    assert.equal(canonicalJson(false), 'false');
    assert.equal(canonicalJson(''), '""');
    assert.equal(canonicalJson('a"b\\c\n\t\u0001'), '"a\\"b\\\\c\\n\\t\\u0001"');
  });

  test('numbers use the ECMAScript form (RFC 8785 section 3.2.2.3)', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '0'],
      [1, '1'],
      [-1, '-1'],
      [0.1, '0.1'],
      [4.5, '4.5'],
      [0.002, '0.002'],
      [0.000001, '0.000001'],
      [1e-7, '1e-7'],
      [1e21, '1e+21'],
      [1e23, '1e+23'],
      [999999999999999900000, '999999999999999900000'],
      [333333333.33333329, '333333333.3333333'],
      [9007199254740992, '9007199254740992'],
      [-9007199254740992, '-9007199254740992'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [295147905179352830000, '295147905179352830000'],
    ];
    for (const [n, s] of cases) assert.equal(canonicalJson(n), s, `number ${s}`);
  });

  test('bigint becomes a decimal string, so no parser rounds it', () => {
    assert.equal(canonicalJson(0n), '"0"');
    assert.equal(canonicalJson(123n), '"123"');
    assert.equal(canonicalJson(MAX_AMOUNT), '"18446744073709551615"');
    assert.equal(canonicalJson(2n ** 100n), '"1267650600228229401496703205376"');
    assert.equal(canonicalJson({ amount: 10n ** 30n }), '{"amount":"1000000000000000000000000000000"}');
  });

  test('object keys sort by UTF-16 code units (RFC 8785 section 3.2.3 example)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    assert.equal(
      canonicalJson(input),
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  test('integer-like keys sort as strings, not numbers', () => {
    assert.equal(canonicalJson({ 9: 'a', 10: 'b', 1: 'c', b: 1, a: 2, B: 3 }), '{"1":"c","10":"b","9":"a","B":3,"a":2,"b":1}');
  });

  test('nested objects and arrays: keys sorted at every level, arrays keep their order, no whitespace', () => {
    const v = { z: [3, { y: 1, x: [{ b: 2, a: 1 }] }, 'q'], a: { d: null, c: true }, m: [] as unknown[], n: {} };
    assert.equal(canonicalJson(v), '{"a":{"c":true,"d":null},"m":[],"n":{},"z":[3,{"x":[{"a":1,"b":2}],"y":1},"q"]}');
  });

  test('unicode passes through unescaped; lone surrogates are escaped', () => {
    assert.equal(canonicalJson({ 'é': 'ü€😀' }), '{"é":"ü€😀"}');
    assert.equal(canonicalJson('\ud800'), '"\\ud800"');
    assert.equal(canonicalBytes({ 'é': 1 }).toString('hex'), Buffer.from('{"é":1}', 'utf8').toString('hex'));
  });

  test('object properties holding undefined are left out', () => {
    assert.equal(canonicalJson({ a: 1, b: undefined }), '{"a":1}');
  });

  test('encoding errors: NaN, infinities, functions, symbols, undefined, binary, too deep, cycles', () => {
    const bad: [string, unknown][] = [
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['-Infinity', -Infinity],
      ['nested NaN', { a: [1, NaN] }],
      ['function', () => 1],
      ['function property', { f: () => 1 }],
      ['symbol', Symbol('s')],
      ['undefined', undefined],
      ['undefined in an array', [undefined]],
      ['Uint8Array', new Uint8Array([1, 2])],
      ['Buffer', Buffer.from('ab')],
      ['nested Uint8Array', { data: new Uint8Array(1) }],
    ];
    for (const [what, v] of bad) assert.throws(() => canonicalJson(v), EncodingError, what);
  });

  test('nesting: 65 levels encode, 66 are too deep; a cycle is an error, not a stack overflow', () => {
    const nest = (n: number): unknown => {
      let v: unknown = [];
      for (let i = 1; i < n; i++) v = [v];
      return v;
    };
    assert.equal(canonicalJson(nest(65)), '['.repeat(65) + ']'.repeat(65));
    assert.throws(() => canonicalJson(nest(66)), (e: unknown) => e instanceof EncodingError && /deeper than 64/.test(e.message));
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    assert.throws(() => canonicalJson(cyclic), EncodingError);
  });
});

// Reorders every object's keys with a seeded permutation (Object.fromEntries keeps "__proto__" an own key).
function reorder(v: unknown, seed: number): unknown {
  let s = seed >>> 0 || 1;
  const rnd = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s;
  };
  const go = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(go);
    if (x !== null && typeof x === 'object') {
      const entries = Object.entries(x as Record<string, unknown>);
      for (let i = entries.length - 1; i > 0; i--) {
        const j = rnd() % (i + 1);
        [entries[i], entries[j]] = [entries[j]!, entries[i]!];
      }
      return Object.fromEntries(entries.map(([k, val]) => [k, go(val)]));
    }
    return x;
  };
  return go(v);
}

describe('canonical JSON: properties', () => {
  const json = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' });

  test('canonicalJson(JSON.parse(canonicalJson(x))) === canonicalJson(x)', () => {
    fc.assert(
      fc.property(json, (x) => {
        const c = canonicalJson(x);
        assert.equal(canonicalJson(JSON.parse(c)), c);
      }),
      { numRuns: 200 },
    );
  });

  test('canonical JSON is valid JSON meaning the same value as JSON.stringify', () => {
    fc.assert(
      fc.property(json, (x) => {
        assert.deepEqual(JSON.parse(canonicalJson(x)), JSON.parse(JSON.stringify(x)));
      }),
      { numRuns: 200 },
    );
  });

  test('key order does not matter', () => {
    fc.assert(
      fc.property(json, fc.integer(), (x, seed) => {
        assert.equal(canonicalJson(reorder(x, seed)), canonicalJson(x));
      }),
      { numRuns: 200 },
    );
  });

  test('whitespace and key order of a JSON text do not matter', () => {
    fc.assert(
      fc.property(json, fc.integer(), (x, seed) => {
        const pretty = JSON.stringify(reorder(x, seed), null, 2);
        assert.equal(canonicalJson(JSON.parse(pretty)), canonicalJson(x));
      }),
      { numRuns: 100 },
    );
  });

  test('canonical text has no whitespace outside strings', () => {
    fc.assert(
      fc.property(json, (x) => {
        const withoutStrings = canonicalJson(x).replace(/"(?:[^"\\]|\\.)*"/g, '""');
        assert.equal(/\s/.test(withoutStrings), false);
      }),
      { numRuns: 100 },
    );
  });
});

describe('amounts', () => {
  test('MAX_AMOUNT is 2^64 - 1', () => {
    assert.equal(MAX_AMOUNT, 18446744073709551615n);
  });

  test('parseAmount accepts canonical decimal strings in range', () => {
    assert.equal(parseAmount('0'), 0n);
    assert.equal(parseAmount('1'), 1n);
    assert.equal(parseAmount('1000'), 1000n);
    assert.equal(parseAmount('18446744073709551615'), MAX_AMOUNT);
  });

  test('parseAmount rejects negatives, leading zeros, decimals, floats, exponents, signs, spaces, > 2^64-1, non-strings', () => {
    const bad: unknown[] = [
      '-1',
      '-0',
      '+1',
      '00',
      '01',
      '007',
      '1.0',
      '1.5',
      '0.1',
      '.5',
      '1e3',
      '1E3',
      '0x10',
      ' 1',
      '1 ',
      '1_000',
      '1,000',
      '',
      '\u0661', // Arabic-Indic digit one
      '１', // full-width digit one
      '18446744073709551616',
      '99999999999999999999',
      '100000000000000000000',
      '184467440737095516150',
      1,
      0,
      1.5,
      1n,
      null,
      undefined,
      {},
      ['1'],
    ];
    for (const v of bad) assert.equal(parseAmount(v), undefined, `accepted ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
  });

  test('formatAmount / parseAmount round trip over the whole range', () => {
    fc.assert(
      fc.property(fc.bigInt(0n, MAX_AMOUNT), (v) => {
        const s = formatAmount(v);
        assert.equal(parseAmount(s), v);
        assert.equal(isAmount(v), true);
      }),
      { numRuns: 200 },
    );
  });

  test('every accepted string is the canonical spelling of its value', () => {
    const digits = fc.string({ unit: fc.constantFrom('0', '1', '9', '-', '.', 'e', ' '), maxLength: 22 });
    fc.assert(
      fc.property(fc.oneof(digits, fc.string()), (s) => {
        const v = parseAmount(s);
        if (v !== undefined) assert.equal(formatAmount(v), s);
      }),
      { numRuns: 300 },
    );
  });

  test('isAmount', () => {
    assert.equal(isAmount(0n), true);
    assert.equal(isAmount(MAX_AMOUNT), true);
    assert.equal(isAmount(MAX_AMOUNT + 1n), false);
    assert.equal(isAmount(-1n), false);
    assert.equal(isAmount(1), false);
    assert.equal(isAmount('1'), false);
  });

  test('addAmounts overflows to undefined past 2^64 - 1', () => {
    assert.equal(addAmounts(1n, 2n), 3n);
    assert.equal(addAmounts(MAX_AMOUNT, 0n), MAX_AMOUNT);
    assert.equal(addAmounts(MAX_AMOUNT - 1n, 1n), MAX_AMOUNT);
    assert.equal(addAmounts(MAX_AMOUNT, 1n), undefined);
    assert.equal(addAmounts(MAX_AMOUNT, MAX_AMOUNT), undefined);
  });

  test('subAmounts underflows to undefined below zero', () => {
    assert.equal(subAmounts(5n, 3n), 2n);
    assert.equal(subAmounts(5n, 5n), 0n);
    assert.equal(subAmounts(0n, 1n), undefined);
    assert.equal(subAmounts(MAX_AMOUNT, MAX_AMOUNT), 0n);
  });

  test('add/sub agree with bigint arithmetic within range (property)', () => {
    const amt = fc.bigInt(0n, MAX_AMOUNT);
    fc.assert(
      fc.property(amt, amt, (a, b) => {
        const s = addAmounts(a, b);
        assert.equal(s, a + b <= MAX_AMOUNT ? a + b : undefined);
        const d = subAmounts(a, b);
        assert.equal(d, a >= b ? a - b : undefined);
        if (s !== undefined) assert.equal(subAmounts(s, b), a);
      }),
      { numRuns: 200 },
    );
  });
});
