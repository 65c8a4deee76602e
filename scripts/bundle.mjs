#!/usr/bin/env node
// Bundles each public entry point into dist/pkg (the files the package ships), after tsc has
// type-checked and emitted the declarations. One file per entry loads in a few milliseconds;
// tsc's one-module-per-file output costs ~0.5 ms per module in Node's ESM loader. Shared code
// goes to chunks in the same folder; msgpackr and debug stay external (runtime dependencies).
import { build } from 'esbuild-wasm'
import { existsSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const entries = {
  index: 'lib/index.ts',
  zk: 'lib/zk-wire/index.ts',
  runtime: 'lib/runtime/index.ts',
  cluster: 'lib/cluster/index.ts',
  'dev-server': 'lib/dev-server/index.ts',
  cli: 'lib/cli/main.ts',
  // The seed's walkthrough, shipped so that `zkcloud demo` can start it as separate processes.
  boss: 'examples/boss.ts',
}
const present = Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(`${root}/${file}`)))

rmSync(`${root}/dist/pkg`, { recursive: true, force: true })

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
  external: ['msgpackr', 'debug'],
  logLevel: 'warning',
})
