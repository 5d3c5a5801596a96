import { randomBytes } from 'node:crypto';
import { CHAIN_ID_RE, type NetworkKind } from '../core/index.ts';
import { parseIntIn, type Sourced } from './config.ts';
import { badValue, CliError } from './errors.ts';

/** `peerchain init` flags as commander hands them over: raw strings, nothing checked yet. */
export interface InitFlags {
  network?: string;
  out?: string;
  nodes?: string;
  validators?: string;
  orgs?: string;
  members?: string;
  chainId?: string;
  blockTimeMs?: string;
  initialZeroBits?: string;
  force?: boolean;
  json?: boolean;
}

interface CommonOptions {
  readonly out: string;
  readonly force: boolean;
  readonly json: boolean;
  readonly chainId: string;
  /** PoW: target block time; BFT: the empty-block interval. */
  readonly blockTimeMs: number;
}

/** Validated `init` options, shaped by network so that no flag is read where it does not apply. */
export type InitOptions =
  | (CommonOptions & { readonly network: 'public'; readonly nodes: number; readonly initialZeroBits: number })
  | (CommonOptions & { readonly network: 'private'; readonly validators: number; readonly members: number })
  | (CommonOptions & { readonly network: 'consortium'; readonly orgs: number; readonly validators: number; readonly members: number });

const NETWORKS: readonly NetworkKind[] = ['public', 'private', 'consortium'];

/** Every node gets ports base+index; keeping the count modest keeps the three port ranges apart. */
export const MAX_NODES = 256;

/** BFT tolerates f faulty validators out of n = 3f+1; fewer than 4 tolerates none. */
export const MIN_BFT_VALIDATORS = 4;

/** Which networks each network-specific flag applies to. */
const APPLIES_TO: Readonly<Record<string, readonly NetworkKind[]>> = {
  '--nodes': ['public'],
  '--initial-zero-bits': ['public'],
  '--validators': ['private', 'consortium'],
  '--members': ['private', 'consortium'],
  '--orgs': ['consortium'],
};

function flag(name: string, value: string | undefined): Sourced<string> | undefined {
  return value === undefined ? undefined : { value, source: name };
}

/** An integer flag in [min, max], or the default when the flag is absent. */
function intFlag(name: string, value: string | undefined, def: number, min: number, max: number): number {
  const s = flag(name, value);
  return s === undefined ? def : parseIntIn(s, min, max);
}

/** How many faulty validators n validators tolerate. */
export function faultTolerance(validators: number): number {
  return Math.floor((validators - 1) / 3);
}

/**
 * Checks every `init` flag and fills in defaults. Throws a CliError naming the
 * first bad flag and its value; nothing touches the disk before this passes.
 */
export function parseInitFlags(flags: InitFlags, random: (n: number) => Buffer = randomBytes): InitOptions {
  if (flags.network === undefined) throw new CliError('--network is required: public, private or consortium');
  const network = NETWORKS.find((n) => n === flags.network);
  if (network === undefined) throw badValue('--network', flags.network, 'public, private or consortium');
  if (flags.out === undefined || flags.out === '') throw new CliError('--out is required: the directory to write the network into');

  const given: Record<string, string | undefined> = {
    '--nodes': flags.nodes,
    '--initial-zero-bits': flags.initialZeroBits,
    '--validators': flags.validators,
    '--members': flags.members,
    '--orgs': flags.orgs,
  };
  for (const [name, value] of Object.entries(given)) {
    const applies = APPLIES_TO[name] ?? [];
    if (value !== undefined && !applies.includes(network)) {
      throw new CliError(`${name} ${value}: does not apply to a ${network} network (only to ${applies.join(' and ')})`);
    }
  }

  const chainId = flags.chainId ?? `peerchain-${network}-${random(3).toString('hex')}`;
  if (!CHAIN_ID_RE.test(chainId)) throw badValue('--chain-id', chainId, '1-32 characters of a-z, 0-9 and -, starting with a letter or digit');
  const common: CommonOptions = {
    out: flags.out,
    force: flags.force === true,
    json: flags.json === true,
    chainId,
    blockTimeMs: intFlag('--block-time-ms', flags.blockTimeMs, 5000, 100, 3_600_000),
  };

  switch (network) {
    case 'public': {
      const nodes = intFlag('--nodes', flags.nodes, 3, 1, MAX_NODES);
      // Above ~40 zero bits a laptop would not find the first block in a day.
      const initialZeroBits = intFlag('--initial-zero-bits', flags.initialZeroBits, 12, 1, 64);
      return { ...common, network, nodes, initialZeroBits };
    }
    case 'private': {
      const validators = intFlag('--validators', flags.validators, 4, 1, MAX_NODES);
      const members = intFlag('--members', flags.members, 0, 0, MAX_NODES);
      if (validators < MIN_BFT_VALIDATORS) {
        throw new CliError(
          `--validators ${validators}: a BFT network needs at least ${MIN_BFT_VALIDATORS} validators (n = 3f+1 with f >= 1, so that one faulty validator is tolerated)`,
        );
      }
      const total = 1 + validators + members;
      if (total > MAX_NODES) throw new CliError(`--validators ${validators} + --members ${members} + 1 bootstrap = ${total} nodes: at most ${MAX_NODES} per network`);
      return { ...common, network, validators, members };
    }
    case 'consortium': {
      const orgs = intFlag('--orgs', flags.orgs, 3, 2, 64);
      const validators = intFlag('--validators', flags.validators, 2, 1, MAX_NODES);
      const members = intFlag('--members', flags.members, 1, 0, MAX_NODES);
      const totalValidators = orgs * validators;
      if (totalValidators < MIN_BFT_VALIDATORS) {
        throw new CliError(
          `--orgs ${orgs} x --validators ${validators} = ${totalValidators} validators: a BFT network needs at least ${MIN_BFT_VALIDATORS} (n = 3f+1 with f >= 1); raise --validators or --orgs`,
        );
      }
      const total = orgs * (validators + members);
      if (total > MAX_NODES) throw new CliError(`--orgs ${orgs} x (--validators ${validators} + --members ${members}) = ${total} nodes: at most ${MAX_NODES} per network`);
      return { ...common, network, orgs, validators, members };
    }
  }
}
