/** core/genesis.ts: parsing, defaults, determinism of the genesis hash, and rejection of bad documents. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bitsForLeadingZeroBits,
  BLOCK_VERSION,
  blockHash,
  buildGenesisBlock,
  DEFAULT_PARAMS,
  ERR,
  genesisDocumentHash,
  genesisMembers,
  genesisState,
  genesisToJson,
  genesisValidators,
  MAX_AMOUNT,
  merkleRootHex,
  NO_PROPOSER,
  parseGenesis,
  type Genesis,
} from '../../src/core/index.ts';
import { addressFromPublicKey, keyPairFromSeed } from '../../src/crypto/index.ts';

const pk = (n: number): string => keyPairFromSeed(Buffer.alloc(32, n)).publicKey;
const addr = (n: number): string => addressFromPublicKey(pk(n));
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

const BITS = bitsForLeadingZeroBits(8);

function publicDoc(): Record<string, any> {
  return {
    network: 'public',
    chainId: 'pubnet',
    timestamp: 1_700_000_000_000,
    consensus: { type: 'pow', targetBlockTimeMs: 10_000, initialBits: BITS, powLimitBits: BITS, retargetInterval: 10, maxAdjustFactor: 4, reward: '50', halvingInterval: 0 },
    alloc: [{ address: addr(1), balance: '1000' }],
  };
}

const bft = { type: 'bft', emptyBlockIntervalMs: 5000, timeoutProposeMs: 1000, timeoutVoteMs: 1000, governanceThreshold: { num: 1, den: 2 } };

function privateDoc(): Record<string, any> {
  return {
    network: 'private',
    chainId: 'privnet',
    timestamp: 0,
    consensus: clone(bft),
    orgs: [{ name: 'acme', members: [{ name: 'v1', nodeId: pk(10), validator: true }] }],
  };
}

function consortiumDoc(): Record<string, any> {
  return {
    network: 'consortium',
    chainId: 'consort',
    timestamp: 5,
    consensus: clone(bft),
    orgs: [
      { name: 'acme', orgKey: pk(20), members: [{ name: 'a1', nodeId: pk(10), validator: true, bootstrap: true }, { name: 'a2', nodeId: pk(11) }], accounts: [addr(1)] },
      { name: 'globex', members: [{ name: 'g1', nodeId: pk(12), validator: true }], accounts: [addr(2), addr(3)] },
    ],
    alloc: [{ address: addr(1), balance: '500' }],
  };
}

function parse(doc: unknown): Genesis {
  const r = parseGenesis(doc);
  if (!r.ok) assert.fail(r.error.message);
  return r.value;
}

function hashes(doc: unknown): [string, string] {
  const g = parse(doc);
  return [genesisDocumentHash(g), buildGenesisBlock(g).hash];
}

// Reverses the key order of every object, recursively.
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)]));
  return v;
}

describe('parseGenesis accepts minimal documents and fills defaults', () => {
  test('public', () => {
    const g = parse({ ...publicDoc(), alloc: undefined });
    assert.equal(g.network, 'public');
    assert.deepEqual(g.params, DEFAULT_PARAMS);
    assert.equal(g.params.membersOnly, false);
    assert.deepEqual(g.alloc, []);
    assert.deepEqual(g.orgs, []);
    assert.ok(g.consensus.type === 'pow' && g.consensus.reward === 50n);
  });

  test('private: membersOnly by default, member flags default to false, accounts to []', () => {
    const g = parse(privateDoc());
    assert.deepEqual(g.params, { ...DEFAULT_PARAMS, membersOnly: true });
    assert.deepEqual(g.orgs, [{ name: 'acme', members: [{ name: 'v1', nodeId: pk(10), validator: true, bootstrap: false }], accounts: [] }]);
    assert.deepEqual(genesisValidators(g), [pk(10)]);
  });

  test('consortium', () => {
    const g = parse(consortiumDoc());
    assert.equal(g.orgs.length, 2);
    assert.equal(g.orgs[0]!.orgKey, pk(20));
    assert.equal(g.orgs[1]!.orgKey, undefined);
    assert.deepEqual(genesisValidators(g), [pk(10), pk(12)]);
    assert.deepEqual(genesisMembers(g), [pk(10), pk(11), pk(12)]);
    assert.deepEqual(g.alloc, [{ address: addr(1), balance: 500n }]);
  });

  test('explicit params override the defaults', () => {
    const g = parse({ ...privateDoc(), params: { minFee: '0', maxBlockTxs: 7, membersOnly: false, maxFutureMs: 1 } });
    assert.equal(g.params.minFee, 0n);
    assert.equal(g.params.maxBlockTxs, 7);
    assert.equal(g.params.membersOnly, false);
    assert.equal(g.params.maxFutureMs, 1);
    assert.equal(g.params.maxTxBytes, DEFAULT_PARAMS.maxTxBytes);
  });

  test('parseGenesis does not modify its input', () => {
    for (const doc of [publicDoc(), privateDoc(), consortiumDoc()]) {
      const before = clone(doc);
      parse(doc);
      assert.deepEqual(doc, before);
    }
  });

  test('genesisToJson is a fixed point: parse(genesisToJson(g)) gives g again', () => {
    for (const doc of [publicDoc(), privateDoc(), consortiumDoc()]) {
      const g = parse(doc);
      const again = parse(JSON.parse(JSON.stringify(genesisToJson(g))));
      assert.deepEqual(again, g);
      assert.equal(genesisDocumentHash(again), genesisDocumentHash(g));
    }
  });
});

describe('genesis state and block', () => {
  test('state: allocations, and admitted accounts tagged with their organisation', () => {
    const g = parse(consortiumDoc());
    const s = genesisState(g);
    assert.deepEqual(s.account(addr(1)), { balance: 500n, nonce: 0, org: 'acme' });
    assert.deepEqual(s.account(addr(2)), { balance: 0n, nonce: 0, org: 'globex' });
    assert.deepEqual(s.account(addr(3)), { balance: 0n, nonce: 0, org: 'globex' });
    assert.equal(s.hasAccount(addr(4)), false);
    // Three accounts and the ~membership record.
    assert.equal(s.size, 4);
    assert.deepEqual(s.record('~membership')?.value, {
      orgs: [
        { name: 'acme', orgKey: pk(20), members: [{ name: 'a1', nodeId: pk(10), validator: true, bootstrap: true }, { name: 'a2', nodeId: pk(11), validator: false, bootstrap: false }] },
        { name: 'globex', members: [{ name: 'g1', nodeId: pk(12), validator: true, bootstrap: false }] },
      ],
    });
    assert.equal(genesisState(parse(publicDoc())).record('~membership'), undefined);
  });

  test('block 0: height 0, prevHash = document hash, state root, empty tx root, bits', () => {
    for (const doc of [publicDoc(), privateDoc()]) {
      const g = parse(doc);
      const gb = buildGenesisBlock(g);
      const h = gb.block.header;
      assert.equal(h.version, BLOCK_VERSION);
      assert.equal(h.height, 0);
      assert.equal(h.chainId, g.chainId);
      assert.equal(h.timestamp, g.timestamp);
      assert.equal(h.prevHash, genesisDocumentHash(g));
      assert.equal(h.stateRoot, genesisState(g).root());
      assert.equal(h.stateRoot, gb.state.root());
      assert.equal(h.txRoot, merkleRootHex([]));
      assert.equal(h.bits, g.consensus.type === 'pow' ? BITS : 0);
      assert.equal(h.nonce, 0);
      assert.equal(h.proposer, NO_PROPOSER);
      assert.deepEqual(gb.block.txs, []);
      assert.equal(gb.hash, blockHash(h));
    }
  });
});

describe('the genesis hash is deterministic', () => {
  for (const [name, make] of [
    ['public', publicDoc],
    ['private', privateDoc],
    ['consortium', consortiumDoc],
  ] as const) {
    test(`${name}: same hash for keys in another order and other whitespace`, () => {
      const doc = make();
      const [d0, b0] = hashes(doc);
      assert.deepEqual(hashes(reverseKeys(doc)), [d0, b0]);
      assert.deepEqual(hashes(JSON.parse(JSON.stringify(doc, null, 4))), [d0, b0]);
      assert.deepEqual(hashes(JSON.parse(JSON.stringify(reverseKeys(doc), null, '\t'))), [d0, b0]);
      // Writing a default out explicitly is the same document.
      assert.deepEqual(hashes({ ...doc, params: { maxBlockTxs: DEFAULT_PARAMS.maxBlockTxs, minFee: '1' } }), [d0, b0]);
      // Computed twice: the same.
      assert.deepEqual(hashes(doc), [d0, b0]);
    });
  }

  test('different when any parameter changes', () => {
    const variants: [string, () => Record<string, any>][] = [
      ['chainId', () => ({ ...publicDoc(), chainId: 'pubnet2' })],
      ['timestamp', () => ({ ...publicDoc(), timestamp: 1_700_000_000_001 })],
      ['targetBlockTimeMs', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, targetBlockTimeMs: 10_001 } })],
      ['initialBits', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, initialBits: bitsForLeadingZeroBits(9) } })],
      ['powLimitBits', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, powLimitBits: bitsForLeadingZeroBits(7) } })],
      ['retargetInterval', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, retargetInterval: 11 } })],
      ['maxAdjustFactor', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, maxAdjustFactor: 3 } })],
      ['reward', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, reward: '51' } })],
      ['halvingInterval', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, halvingInterval: 100 } })],
      ['alloc balance', () => ({ ...publicDoc(), alloc: [{ address: addr(1), balance: '1001' }] })],
      ['alloc address', () => ({ ...publicDoc(), alloc: [{ address: addr(2), balance: '1000' }] })],
      ['alloc added', () => ({ ...publicDoc(), alloc: [{ address: addr(1), balance: '1000' }, { address: addr(2), balance: '0' }] })],
      ['alloc order', () => ({ ...publicDoc(), alloc: [{ address: addr(2), balance: '1' }, { address: addr(1), balance: '1000' }] })],
      ...(['minFee', 'maxBlockTxs', 'maxBlockBytes', 'maxTxBytes', 'maxRecordKeyLength', 'maxRecordValueBytes', 'maxFutureMs'] as const).map(
        (k): [string, () => Record<string, any>] => [`params.${k}`, () => ({ ...publicDoc(), params: { [k]: k === 'minFee' ? '2' : 77 } })],
      ),
    ];
    const base = hashes(publicDoc());
    const seen = new Set([base[0]]);
    for (const [what, make] of variants) {
      const h = hashes(make());
      assert.notEqual(h[0], base[0], `document hash unchanged by ${what}`);
      assert.notEqual(h[1], base[1], `block hash unchanged by ${what}`);
      seen.add(h[0]);
    }
    assert.equal(seen.size, variants.length + 1);
  });

  test('different when any consensus, organisation or member detail of a permissioned network changes', () => {
    const c = consortiumDoc;
    const variants: [string, () => Record<string, any>][] = [
      ['network', () => ({ ...c(), network: 'private', orgs: [c().orgs[0]] })],
      ['emptyBlockIntervalMs', () => ({ ...c(), consensus: { ...bft, emptyBlockIntervalMs: 5001 } })],
      ['timeoutProposeMs', () => ({ ...c(), consensus: { ...bft, timeoutProposeMs: 1001 } })],
      ['timeoutVoteMs', () => ({ ...c(), consensus: { ...bft, timeoutVoteMs: 1001 } })],
      ['governanceThreshold', () => ({ ...c(), consensus: { ...bft, governanceThreshold: { num: 2, den: 3 } } })],
      ['membersOnly', () => ({ ...c(), params: { membersOnly: false } })],
      ['org name', () => { const d = c(); d.orgs[1].name = 'initech'; return d; }],
      ['orgKey', () => { const d = c(); d.orgs[0].orgKey = pk(21); return d; }],
      ['orgKey removed', () => { const d = c(); delete d.orgs[0].orgKey; return d; }],
      ['member name', () => { const d = c(); d.orgs[0].members[1].name = 'a3'; return d; }],
      ['member nodeId', () => { const d = c(); d.orgs[0].members[1].nodeId = pk(13); return d; }],
      ['validator flag', () => { const d = c(); d.orgs[0].members[1].validator = true; return d; }],
      ['bootstrap flag', () => { const d = c(); d.orgs[0].members[0].bootstrap = false; return d; }],
      ['member added', () => { const d = c(); d.orgs[1].members.push({ name: 'g2', nodeId: pk(14) }); return d; }],
      ['account added', () => { const d = c(); d.orgs[1].accounts.push(addr(4)); return d; }],
      ['account moved to another org', () => { const d = c(); d.orgs[0].accounts = []; d.orgs[1].accounts.push(addr(1)); return d; }],
      ['org order', () => { const d = c(); d.orgs.reverse(); return d; }],
    ];
    const base = hashes(c());
    for (const [what, make] of variants) assert.notEqual(hashes(make())[0], base[0], what);
  });
});

describe('parseGenesis rejects bad documents, naming the path', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['not an object', () => 'genesis', /^genesis \(root\): /],
    ['null', () => null, /^genesis \(root\): /],
    ['unknown top-level field', () => ({ ...publicDoc(), extra: 1 }), /^genesis \(root\): .*"extra"/],
    ['network', () => ({ ...publicDoc(), network: 'hybrid' }), /^genesis network: /],
    ['chainId', () => ({ ...publicDoc(), chainId: 'Pub_Net' }), /^genesis chainId: must be 1-32 characters/],
    ['timestamp negative', () => ({ ...publicDoc(), timestamp: -1 }), /^genesis timestamp: /],
    ['timestamp fractional', () => ({ ...publicDoc(), timestamp: 0.5 }), /^genesis timestamp: /],
    ['consensus missing', () => ({ ...publicDoc(), consensus: undefined }), /^genesis consensus: /],
    ['consensus type', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, type: 'pos' } }), /^genesis consensus\.type: /],
    ['consensus extra', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, extra: 1 } }), /^genesis consensus: .*"extra"/],
    ['consensus.reward negative', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, reward: '-1' } }), /^genesis consensus\.reward: /],
    ['consensus.reward number', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, reward: 50 } }), /^genesis consensus\.reward: /],
    ['consensus.initialBits invalid', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, initialBits: 0x01fedcba } }), /^genesis consensus\.initialBits: must encode a valid target/],
    ['consensus.powLimitBits invalid', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, powLimitBits: 0 } }), /^genesis consensus\.powLimitBits: /],
    ['initialBits easier than powLimitBits', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, initialBits: bitsForLeadingZeroBits(4) } }), /^genesis consensus\.initialBits: easier than powLimitBits/],
    ['maxAdjustFactor', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, maxAdjustFactor: 1 } }), /^genesis consensus\.maxAdjustFactor: /],
    ['retargetInterval', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, retargetInterval: 0 } }), /^genesis consensus\.retargetInterval: /],
    ['halvingInterval', () => ({ ...publicDoc(), consensus: { ...publicDoc().consensus, halvingInterval: -1 } }), /^genesis consensus\.halvingInterval: /],
    ['governanceThreshold', () => ({ ...privateDoc(), consensus: { ...bft, governanceThreshold: { num: 2, den: 2 } } }), /^genesis consensus\.governanceThreshold: num must be below den/],
    ['timeoutVoteMs', () => ({ ...privateDoc(), consensus: { ...bft, timeoutVoteMs: 0 } }), /^genesis consensus\.timeoutVoteMs: /],
    ['params extra', () => ({ ...publicDoc(), params: { maxBlocks: 1 } }), /^genesis params: .*"maxBlocks"/],
    ['params.maxBlockTxs', () => ({ ...publicDoc(), params: { maxBlockTxs: 0 } }), /^genesis params\.maxBlockTxs: /],
    ['params.minFee', () => ({ ...publicDoc(), params: { minFee: '1.5' } }), /^genesis params\.minFee: /],
    ['params.maxRecordKeyLength', () => ({ ...publicDoc(), params: { maxRecordKeyLength: 2000 } }), /^genesis params\.maxRecordKeyLength: /],
    ['params.membersOnly', () => ({ ...publicDoc(), params: { membersOnly: 'yes' } }), /^genesis params\.membersOnly: /],
    ['alloc address', () => ({ ...publicDoc(), alloc: [{ address: 'pc1nope', balance: '1' }] }), /^genesis alloc\.0\.address: /],
    ['alloc address uppercase', () => ({ ...publicDoc(), alloc: [{ address: addr(1).toUpperCase(), balance: '1' }] }), /^genesis alloc\.0\.address: .*lowercase/],
    ['alloc balance', () => ({ ...publicDoc(), alloc: [{ address: addr(1), balance: '18446744073709551616' }] }), /^genesis alloc\.0\.balance: /],
    ['alloc total overflow', () => ({ ...publicDoc(), alloc: [{ address: addr(1), balance: MAX_AMOUNT.toString() }, { address: addr(2), balance: '1' }] }), /^genesis alloc: the total exceeds 18446744073709551615/],
    ['duplicate alloc', () => ({ ...publicDoc(), alloc: [{ address: addr(1), balance: '1' }, { address: addr(1), balance: '2' }] }), /^genesis alloc\.1: .* is allocated twice/],
    ['member nodeId', () => { const d = privateDoc(); d.orgs[0].members[0].nodeId = 'xyz'; return d; }, /^genesis orgs\.0\.members\.0\.nodeId: /],
    ['member name empty', () => { const d = privateDoc(); d.orgs[0].members[0].name = ''; return d; }, /^genesis orgs\.0\.members\.0\.name: /],
    ['member extra', () => { const d = privateDoc(); d.orgs[0].members[0].role = 'x'; return d; }, /^genesis orgs\.0\.members\.0: .*"role"/],
    ['org account', () => { const d = privateDoc(); d.orgs[0].accounts = ['nope']; return d; }, /^genesis orgs\.0\.accounts\.0: /],
    ['orgKey', () => { const d = privateDoc(); d.orgs[0].orgKey = 'AB'.repeat(32); return d; }, /^genesis orgs\.0\.orgKey: /],
    ['duplicate members (same org)', () => { const d = privateDoc(); d.orgs[0].members.push({ name: 'v2', nodeId: pk(10) }); return d; }, /^genesis orgs\.0\.members\.1\.nodeId: appears twice/],
    ['duplicate members (across orgs)', () => { const d = consortiumDoc(); d.orgs[1].members.push({ name: 'x', nodeId: pk(11) }); return d; }, /^genesis orgs\.1\.members\.1\.nodeId: appears twice/],
    ['duplicate accounts (same org)', () => { const d = consortiumDoc(); d.orgs[1].accounts.push(addr(2)); return d; }, /^genesis orgs\.1\.accounts\.2: .* is admitted twice/],
    ['duplicate accounts (across orgs)', () => { const d = consortiumDoc(); d.orgs[1].accounts.push(addr(1)); return d; }, /^genesis orgs\.1\.accounts\.2: .* is admitted twice/],
    ['duplicate org names', () => { const d = consortiumDoc(); d.orgs[1].name = 'acme'; return d; }, /^genesis orgs\.1\.name: "acme" appears twice/],
    ['pow for private', () => ({ ...privateDoc(), consensus: publicDoc().consensus }), /^genesis consensus: a private network uses "bft"/],
    ['pow for consortium', () => ({ ...consortiumDoc(), consensus: publicDoc().consensus }), /^genesis consensus: a consortium network uses "bft"/],
    ['bft for public', () => ({ ...publicDoc(), consensus: bft }), /^genesis consensus: a public network uses "pow"/],
    ['orgs for public', () => ({ ...publicDoc(), orgs: privateDoc().orgs }), /^genesis orgs: a public network has no organisations/],
    ['membersOnly for public', () => ({ ...publicDoc(), params: { membersOnly: true } }), /^genesis params\.membersOnly: /],
    ['private without orgs', () => ({ ...privateDoc(), orgs: [] }), /^genesis orgs: a private network needs at least one organisation/],
    ['private with two orgs', () => ({ ...privateDoc(), orgs: consortiumDoc().orgs }), /^genesis orgs: a private network has exactly one organisation/],
    ['no validator', () => { const d = consortiumDoc(); for (const o of d.orgs) for (const m of o.members) m.validator = false; return d; }, /^genesis orgs: no member is a validator/],
    ['no members at all', () => { const d = privateDoc(); d.orgs[0].members = []; return d; }, /^genesis orgs: no member is a validator/],
  ];

  for (const [what, make, message] of cases) {
    test(what, () => {
      const r = parseGenesis(make());
      assert.equal(r.ok, false, 'accepted');
      if (!r.ok) {
        assert.equal(r.error.code, ERR.BAD_GENESIS);
        assert.match(r.error.message, message);
      }
    });
  }
});
