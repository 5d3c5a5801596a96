/**
 * BFT throughput and latency: four validator processes (a consortium of two
 * organisations with two validators each) commit signed transfers sent to
 * them through the HTTP API at a fixed offered rate. Reports committed
 * transactions per second and submission-to-commit latency (p50, p99)
 * against the Ed25519 ceiling of the machine divided by the four nodes that
 * must each check every transaction.
 *
 * BENCH_RATES (default "2000,3000,4000"): offered rates, tx/s, one step each.
 * BENCH_SECONDS (default 10): length of each step.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { addressFromPublicKey, generateKeyPair, type KeyPair } from '../src/crypto/index.ts';
import { signTx, txId, txToJson, type TxJson } from '../src/core/index.ts';
import { initNetwork } from '../src/cli/init-run.ts';
import { parseInitFlags } from '../src/cli/init-options.ts';
import { Testnet } from '../src/testnet/launcher.ts';
import { rawVerifyRate } from './ceilings.ts';
import { report, type BenchRow } from './report.ts';

const ACCOUNTS = 400;
const BATCH_EVERY_MS = 50;
const WARMUP_SECONDS = 4;

interface GenesisDoc {
  alloc: { address: string; balance: string }[];
  orgs: { accounts: string[] }[];
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Admits ACCOUNTS funded member accounts to the genesis init wrote (before any node starts). */
function addAccounts(dir: string): KeyPair[] {
  const file = join(dir, 'genesis.json');
  const g = JSON.parse(readFileSync(file, 'utf8')) as GenesisDoc;
  const keys = Array.from({ length: ACCOUNTS }, () => generateKeyPair());
  for (const [i, k] of keys.entries()) {
    const a = addressFromPublicKey(k.publicKey);
    g.alloc.push({ address: a, balance: '1000000000' });
    g.orgs[i % g.orgs.length]!.accounts.push(a);
  }
  writeFileSync(file, JSON.stringify(g, null, 2));
  return keys;
}

/**
 * Watches one node's committed blocks and records when each transaction id
 * appears. It subscribes to block events only: with every event type, the
 * node it watches would also encode and send one `tx` event per admitted
 * transaction (thousands a second), work the bench would be adding to the
 * very node it measures.
 */
function watchCommits(api: string, seen: Map<string, number>): { close: () => void } {
  const ws = new WebSocket(api.replace('http', 'ws') + '/api/events?types=block');
  ws.on('message', (data) => {
    const e = JSON.parse(String(data)) as { type: string; data?: { hash?: string } };
    if (e.type !== 'block' || e.data?.hash === undefined) return;
    const at = performance.now();
    void fetch(`${api}/api/blocks/${e.data.hash}`)
      .then((r) => r.json() as Promise<{ txs: { id: string }[] }>)
      .then((b) => {
        for (const t of b.txs) if (!seen.has(t.id)) seen.set(t.id, at);
      })
      .catch(() => undefined);
  });
  return { close: () => ws.close() };
}

/**
 * CPU seconds (user + system) used so far by the node processes whose command
 * line names `dir`, from /proc (Linux; undefined elsewhere). CPU per committed
 * transaction is steadier than wall-clock rates on a shared machine.
 */
function nodesCpuSeconds(dir: string): number | undefined {
  try {
    let ticks = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let cmd: string;
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (!cmd.includes(join(dir, 'nodes'))) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    }
    return ticks / 100; // USER_HZ
  } catch {
    return undefined;
  }
}

/** Runs the bench. */
export async function run(): Promise<void> {
  const rates = (process.env.BENCH_RATES ?? '2000,3000,4000').split(',').map(Number);
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const verify1 = rawVerifyRate();
  const cores = cpus().length;
  const ceiling = (verify1 * cores) / 4;

  const root = mkdtempSync(join(tmpdir(), 'peerchain-bench-bft-'));
  const dir = join(root, 'net');
  await initNetwork(parseInitFlags({ network: 'consortium', orgs: '2', validators: '2', members: '0', out: dir, blockTimeMs: '1000' }), Date.now());
  const keys = addAccounts(dir);
  const chainId = (JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8')) as { chainId: string }).chainId;
  // BENCH_PROF=DIR writes a CPU profile of the first validator there (open it in Chrome's DevTools).
  const prof = process.env.BENCH_PROF;
  // BENCH_NODE_ARGS adds node flags to every validator (e.g. --perf-basic-prof, for Linux perf).
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const names = ['org1-validator1', 'org1-validator2', 'org2-validator1', 'org2-validator2'];
  const execArgv = Object.fromEntries(names.map((n) => [n, [...extra, ...(prof !== undefined && n === names[0] ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [])]]));
  // BENCH_LOG=1 prints the first validator's log lines (commits, rounds) as they come.
  const onLine = process.env.BENCH_LOG === '1' ? (node: string, line: string) => node === 'org1-validator1' && console.log(line.slice(0, 240)) : undefined;
  const net = await Testnet.start({ dir, basePort: 17100, logLevel: process.env.BENCH_LOG === '1' ? 'info' : 'warn', execArgv, onLine });
  const apis = net.nodes.map((n) => n.apiUrl);
  const nonces = keys.map(() => 0);
  const rows: BenchRow[] = [];
  const steps: Record<string, unknown>[] = [];
  try {
    // Let the validators link up and commit a block before the load starts.
    for (let i = 0; i < 100; i++) {
      const h = await Promise.all(apis.map(async (u) => ((await (await fetch(`${u}/api/status`)).json()) as { height: number }).height));
      if (h.every((x) => x >= 1)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    /** Offers `rate` tx/s for `seconds` s, waits for the commits, and reports what it saw. */
    const runStep = async (rate: number, seconds: number, label: string) => {
      const total = Math.round(rate * seconds);
      // Signed ahead of time: the load generator's own signing is not what we measure.
      const txs: { id: string; json: TxJson }[] = [];
      for (let i = 0; i < total; i++) {
        const a = i % ACCOUNTS;
        const k = keys[a]!;
        const tx = signTx({ kind: 'transfer', chainId, from: k.publicKey, nonce: nonces[a]!++, fee: 1n, to: addressFromPublicKey(keys[(a + 1) % ACCOUNTS]!.publicKey), amount: 1n }, k);
        txs.push({ id: txId(tx), json: txToJson(tx) });
      }
      const perBatch = Math.max(1, Math.round((rate * BATCH_EVERY_MS) / 1000));
      // Encoded ahead of time too: the generator shares the machine with the nodes it measures.
      const batches: { ids: string[]; body: string }[] = [];
      for (let i = 0; i < txs.length; i += perBatch) {
        const batch = txs.slice(i, i + perBatch);
        batches.push({ ids: batch.map((b) => b.id), body: JSON.stringify({ txs: batch.map((b) => b.json) }) });
      }
      const sentAt = new Map<string, number>();
      const committed = new Map<string, number>();
      const watcher = watchCommits(apis[0]!, committed);
      const cpu0 = nodesCpuSeconds(dir);
      const start = performance.now();
      let refused = 0;
      const inflight: Promise<void>[] = [];
      for (const [batchNo, batch] of batches.entries()) {
        const due = start + batchNo * BATCH_EVERY_MS;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const api = apis[batchNo % apis.length]!;
        const t = performance.now();
        for (const id of batch.ids) sentAt.set(id, t);
        inflight.push(
          fetch(`${api}/api/txs/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batch.body })
            .then((r) => r.json() as Promise<{ accepted: number; results: unknown[] }>)
            .then((r) => {
              refused += r.results.length - r.accepted;
            })
            .catch(() => {
              refused += batch.ids.length;
            }),
        );
      }
      await Promise.all(inflight);
      const sendEnd = performance.now();
      // Drain: wait until everything sent is committed or nothing moves for 5 s.
      let last = -1;
      let still = performance.now();
      while (committed.size < sentAt.size - refused && performance.now() - still < 5000) {
        await new Promise((r) => setTimeout(r, 100));
        if (committed.size !== last) {
          last = committed.size;
          still = performance.now();
        }
      }
      watcher.close();
      const cpu1 = nodesCpuSeconds(dir);
      // Microseconds of CPU per committed transaction and node (four validators).
      const cpuUsPerTx = cpu0 === undefined || cpu1 === undefined || committed.size === 0 ? NaN : ((cpu1 - cpu0) * 1e6) / committed.size / 4;
      const lat = [...sentAt].flatMap(([id, t]) => (committed.has(id) ? [committed.get(id)! - t] : [])).sort((a, b) => a - b);
      const lastCommit = Math.max(...committed.values());
      const tps = committed.size / ((lastCommit - start) / 1000);
      const step = { offered: rate, seconds, sent: total, refused, committed: committed.size, tps, p50: percentile(lat, 50), p99: percentile(lat, 99), sendSeconds: (sendEnd - start) / 1000, cpuUsPerTx };
      console.log(
        `${label}: offered ${rate}/s: committed ${committed.size}/${total} (${refused} refused) at ${tps.toFixed(0)} tx/s; latency p50 ${step.p50.toFixed(0)} ms, p99 ${step.p99.toFixed(0)} ms; validator CPU ${cpuUsPerTx.toFixed(0)} us/tx/node`,
      );
      return step;
    };
    // Unmeasured warm-up: a fresh node spends its first seconds compiling
    // (blocks then take 300-400 ms each); a running network is past that.
    await runStep(Math.min(1000, rates[0] ?? 1000), WARMUP_SECONDS, 'warm-up');
    for (const rate of rates) {
      const step = await runStep(rate, seconds, 'measured');
      steps.push(step);
      const { tps, cpuUsPerTx } = step;
      rows.push({ name: `committed tx/s at ${rate}/s offered`, value: tps, unit: 'tx/s', ceiling, ceilingName: `Ed25519 ${Math.round(verify1)}/s x ${cores} cores / 4 nodes`, target: '>= 3000 tx/s' });
      rows.push({ name: `latency p50 at ${rate}/s`, value: step.p50, unit: 'ms' });
      rows.push({ name: `latency p99 at ${rate}/s`, value: step.p99, unit: 'ms', target: '< 1000 ms' });
      rows.push({ name: `validator CPU per tx at ${rate}/s`, value: cpuUsPerTx, unit: 'us/tx/node', ceiling: 1e6 / verify1, ceilingName: 'one Ed25519 verify, the floor' });
    }
  } finally {
    await net.stop();
    rmSync(root, { recursive: true, force: true });
  }
  report('bft', rows, { steps, accounts: ACCOUNTS, validators: 4 });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
