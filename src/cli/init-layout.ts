import { bitsForLeadingZeroBits, type GenesisJson, type NetworkKind } from '../core/index.ts';
import { addressFromPublicKey, generateKeyPair, type KeyPair } from '../crypto/index.ts';
import { NODE_KEY_FILE } from '../node/keystore.ts';
import type { InitOptions } from './init-options.ts';

/**
 * What `peerchain init` creates, planned in memory before anything is written:
 * the genesis document, every node with its key, the org keys and the wallets.
 */

/** A node's part in the network. */
export type NodeRole = 'peer' | 'bootstrap' | 'validator' | 'member';

/** First suggested ports; node i (from 0) gets base + i. */
export const BASE_PORTS = { ws: 6001, tcp: 7001, api: 3001 } as const;

/** DIR/nodes/NAME/node.json: what `peerchain node --data DIR/nodes/NAME` needs besides its key. */
// node/ will own the reader of this file; it lives here until that module exists.
export interface NodeFile {
  readonly version: 1;
  readonly name: string;
  readonly network: NetworkKind;
  readonly chainId: string;
  /** The node's public key (its id on the wire and, when permissioned, in genesis). */
  readonly nodeId: string;
  readonly roles: readonly NodeRole[];
  readonly org?: string;
  readonly host: string;
  readonly ports: { readonly ws: number; readonly tcp: number; readonly api: number };
  /** Paths relative to the node's directory. */
  readonly genesis: string;
  readonly key: string;
}

/** A node to create. */
export interface PlannedNode {
  readonly name: string;
  readonly roles: readonly NodeRole[];
  readonly org?: string;
  readonly keys: KeyPair;
  readonly ports: { readonly ws: number; readonly tcp: number; readonly api: number };
}

/** A wallet to create, funded in genesis. */
export interface PlannedWallet {
  /** Path relative to the output directory. */
  readonly file: string;
  readonly keys: KeyPair;
  readonly balance: string;
  /** The organisation that admitted this account (permissioned networks). */
  readonly org?: string;
}

/** An organisation's signing key. */
export interface PlannedOrg {
  readonly name: string;
  readonly keys: KeyPair;
}

/** Everything init writes. */
export interface NetworkPlan {
  readonly network: NetworkKind;
  readonly genesis: GenesisJson;
  readonly nodes: readonly PlannedNode[];
  readonly wallets: readonly PlannedWallet[];
  readonly orgs: readonly PlannedOrg[];
}

/** Balance of the public network's funded wallet. */
export const PUBLIC_FUNDS = '1000000000';
/** Balance of each organisation's admitted wallet. */
export const ORG_FUNDS = '1000000';

type NodeSpec = Omit<PlannedNode, 'keys' | 'ports'>;

function withKeysAndPorts(specs: readonly NodeSpec[], keygen: () => KeyPair): PlannedNode[] {
  return specs.map((s, i) => ({
    ...s,
    keys: keygen(),
    ports: { ws: BASE_PORTS.ws + i, tcp: BASE_PORTS.tcp + i, api: BASE_PORTS.api + i },
  }));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** The node list of each network kind, in port order. */
function nodeSpecs(o: InitOptions): NodeSpec[] {
  switch (o.network) {
    case 'public':
      return range(o.nodes).map((i) => ({ name: `node${i}`, roles: ['peer'] }));
    case 'private':
      return [
        { name: 'bootstrap', roles: ['bootstrap'], org: 'org1' },
        ...range(o.validators).map((i): NodeSpec => ({ name: `validator${i}`, roles: ['validator'], org: 'org1' })),
        ...range(o.members).map((i): NodeSpec => ({ name: `member${i}`, roles: ['member'], org: 'org1' })),
      ];
    case 'consortium':
      return range(o.orgs).flatMap((k) => [
        ...range(o.validators).map((i): NodeSpec => ({ name: `org${k}-validator${i}`, roles: ['validator'], org: `org${k}` })),
        ...range(o.members).map((i): NodeSpec => ({ name: `org${k}-member${i}`, roles: ['member'], org: `org${k}` })),
      ]);
  }
}

/** Plans a network from validated options; keys come from keygen (the OS by default). */
export function planNetwork(o: InitOptions, timestamp: number, keygen: () => KeyPair = () => generateKeyPair()): NetworkPlan {
  const nodes = withKeysAndPorts(nodeSpecs(o), keygen);
  if (o.network === 'public') {
    const wallet: PlannedWallet = { file: 'wallets/funded.json', keys: keygen(), balance: PUBLIC_FUNDS };
    const genesis: GenesisJson = {
      network: 'public',
      chainId: o.chainId,
      timestamp,
      consensus: {
        type: 'pow',
        targetBlockTimeMs: o.blockTimeMs,
        initialBits: bitsForLeadingZeroBits(o.initialZeroBits),
        powLimitBits: bitsForLeadingZeroBits(1),
        retargetInterval: 10,
        maxAdjustFactor: 4,
        reward: '50',
        halvingInterval: 0,
      },
      alloc: [{ address: addressFromPublicKey(wallet.keys.publicKey), balance: wallet.balance }],
    };
    return { network: o.network, genesis, nodes, wallets: [wallet], orgs: [] };
  }
  const orgNames = o.network === 'private' ? ['org1'] : range(o.orgs).map((k) => `org${k}`);
  const orgs: PlannedOrg[] = orgNames.map((name) => ({ name, keys: keygen() }));
  const wallets: PlannedWallet[] = orgNames.map((name) => ({ file: `wallets/${name}.json`, keys: keygen(), balance: ORG_FUNDS, org: name }));
  const genesis: GenesisJson = {
    network: o.network,
    chainId: o.chainId,
    timestamp,
    consensus: {
      type: 'bft',
      emptyBlockIntervalMs: o.blockTimeMs,
      timeoutProposeMs: 1000,
      timeoutVoteMs: 1000,
      governanceThreshold: { num: 1, den: 2 },
    },
    alloc: wallets.map((w) => ({ address: addressFromPublicKey(w.keys.publicKey), balance: w.balance })),
    orgs: orgs.map((org) => ({
      name: org.name,
      orgKey: org.keys.publicKey,
      members: nodes
        .filter((n) => n.org === org.name)
        .map((n) => ({ name: n.name, nodeId: n.keys.publicKey, validator: n.roles.includes('validator'), bootstrap: n.roles.includes('bootstrap') })),
      accounts: wallets.filter((w) => w.org === org.name).map((w) => addressFromPublicKey(w.keys.publicKey)),
    })),
  };
  return { network: o.network, genesis, nodes, wallets, orgs };
}

/** The node.json of a planned node. */
export function nodeFile(plan: NetworkPlan, node: PlannedNode): NodeFile {
  const base = {
    version: 1 as const,
    name: node.name,
    network: plan.network,
    chainId: plan.genesis.chainId,
    nodeId: node.keys.publicKey,
    roles: node.roles,
    host: '127.0.0.1',
    ports: node.ports,
    genesis: '../../genesis.json',
    key: NODE_KEY_FILE,
  };
  return node.org === undefined ? base : { ...base, org: node.org };
}
