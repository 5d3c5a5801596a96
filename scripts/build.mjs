// Builds dist/cli: the CLI bundle (dependencies included, which saves an idle
// node the memory of their separate module records) and the miner's worker.
// One substitution: zod re-exports its forty error-message locales; the node
// speaks English, so the bundle gets English only (400 KB less source, held
// in memory for the life of the process).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

const englishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer) ? { path: 'zod-locales-en', namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, () => ({ contents: 'export { default as en } from "zod/v4/locales/en.js";', resolveDir: root, loader: 'js' }));
  },
};

const common = { bundle: true, platform: 'node', format: 'esm', logLevel: 'warning', absWorkingDir: root };

await build({
  ...common,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/cli/main.js',
  // Native addons stay outside the bundle.
  external: ['classic-level', 'bufferutil', 'utf-8-validate'],
  // Whitespace and syntax only: full minification measured larger in memory
  // (more functions compiled eagerly) and unreadable in profiles.
  minifyWhitespace: true,
  minifySyntax: true,
  // Bundled CommonJS dependencies call require() for node built-ins.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  plugins: [englishOnly],
});

await build({ ...common, entryPoints: ['src/consensus/pow/hash-worker.ts'], outfile: 'dist/cli/hash-worker.js' });
