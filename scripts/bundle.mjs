#!/usr/bin/env node
// Bundles each public entry point into dist/pkg (the files the package ships), after tsc has
// type-checked and emitted the declarations. One file per entry loads in a few milliseconds;
// tsc's one-module-per-file output costs ~0.5 ms per module in Node's ESM loader.
//
// 1. ESM: dist/pkg/<entry>.js, shared code in chunks beside them. msgpackr stays external (a
//    runtime dependency); debug's core is bundled in (see lib/debug-log.ts).
// 2. CommonJS: every ESM file above becomes a .cjs twin whose imports of its siblings become
//    require()s of their twins, so CommonJS gets the same module graph (one copy of each
//    class, whichever entry required it) and the same code.
// 3. Declarations: every dist/lib/**/*.d.ts gets a .d.cts twin for `require` consumers.
//
// The shipped code never touches `import.meta` nor a `createRequire`d module, so both forms
// survive being bundled again by a user's bundler in either output format; the build fails if
// that stops being true.
import { build } from 'esbuild-wasm'
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const entries = {
  index: 'lib/index.ts',
  zk: 'lib/zk-wire/index.ts',
  runtime: 'lib/runtime/index.ts',
  cluster: 'lib/cluster/index.ts',
  recipes: 'lib/recipes/index.ts',
  'dev-server': 'lib/dev-server/index.ts',
  cli: 'lib/cli/main.ts',
  // The seed's walkthrough, shipped so that `zkcloud demo` can start it as separate processes.
  boss: 'examples/boss.ts',
}
/** Entries that are programs, not libraries: ESM only. */
const programs = new Set(['cli.js', 'boss.js'])
const present = Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(`${root}/${file}`)))
const outdir = join(root, 'dist/pkg')

rmSync(outdir, { recursive: true, force: true })

await build({
  absWorkingDir: root,
  entryPoints: present,
  outdir: 'dist/pkg',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: '[name]-[hash]',
  external: ['msgpackr', 'msgpackr/*'],
  logLevel: 'warning',
})

const esm = readdirSync(outdir).filter((f) => f.endsWith('.js'))
for (const file of esm.filter((f) => !programs.has(f))) {
  const text = readFileSync(join(outdir, file), 'utf8')
  for (const bad of ['import.meta', 'createRequire(import']) {
    if (text.includes(bad)) throw new Error(`dist/pkg/${file} uses ${bad}: it breaks when a user bundles the package as CommonJS`)
  }
}

/** Keeps sibling files external, as their .cjs twins; msgpackr's pure-JS build for CommonJS. */
const twins = {
  name: 'cjs-twins',
  setup(b) {
    b.onResolve({ filter: /^\.\/[^/]+\.js$/ }, (args) =>
      args.kind === 'entry-point' ? undefined : { path: args.path.replace(/\.js$/, '.cjs'), external: true })
    // `require('msgpackr')` resolves to msgpackr's Node build, which loads the optional native
    // accelerator (msgpackr-extract) when installed; the ESM side imports `msgpackr/pack`,
    // whose Node ESM build is pure JavaScript. This is the same pure build for CommonJS.
    b.onResolve({ filter: /^msgpackr(\/.*)?$/ }, () => ({ path: 'msgpackr/index-no-eval', external: true }))
  },
}
const cjs = await build({
  absWorkingDir: outdir,
  entryPoints: esm.filter((f) => !programs.has(f)),
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  plugins: [twins],
  logLevel: 'warning',
})
if (cjs.warnings.length > 0) throw new Error('the CommonJS twins must build without warnings')

/** Every file under `dir` whose name ends with `suffix`. */
function filesUnder(dir, suffix) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(suffix))
    .map((e) => join(e.parentPath ?? e.path, e.name))
}

// `from './x.js'` / `import('./x.js')` in a .d.cts resolve to ./x.d.cts when written './x.cjs'.
for (const dts of filesUnder(join(root, 'dist/lib'), '.d.ts')) {
  const text = readFileSync(dts, 'utf8').replace(/((?:from|import)\s*\(?\s*['"]\.{1,2}\/[^'"]*?)\.js(['"])/g, '$1.cjs$2')
  writeFileSync(dts.replace(/\.d\.ts$/, '.d.cts'), text)
}
