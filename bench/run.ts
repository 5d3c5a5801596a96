/** Runs the benchmarks named on the command line (all when none): `npm run bench -- mining`. */
const ALL = ['admission', 'mining', 'p2p', 'sync', 'propagation', 'memory', 'bft'] as const;
const chosen = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const name of chosen.length > 0 ? chosen : ALL) {
  if (!(ALL as readonly string[]).includes(name)) {
    console.error(`unknown bench "${name}"; choose from ${ALL.join(', ')}`);
    process.exit(2);
  }
  const mod = (await import(`./${name}.ts`)) as { run: () => Promise<void> };
  await mod.run();
}
