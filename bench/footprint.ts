/**
 * Install footprint and import time of `zkcloud` (from its packed tarball, with
 * `--omit=optional` and with a plain install) next to node-zookeeper-client,
 * measured in the same run.
 *
 *   npm run build && node dist/bench/footprint.js
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { modulesLoadedBy } from '../test/support/module-trace.js'
import { envInt, median, table } from './support.js'

const RUNS = envInt('RUNS', 15)
const root = fileURLToPath(new URL('../..', import.meta.url))

function npm(cwd: string, args: string[]): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Bytes of every file under `dir`. */
function size(dir: string): number {
  let total = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    if (entry.isDirectory()) total += size(p)
    else if (entry.isFile()) total += statSync(p).size
  }
  return total
}

/** Package directories under node_modules (scoped and nested included). */
function packages(nodeModules: string): string[] {
  const found: string[] = []
  if (!existsSync(nodeModules)) return found
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue
    const dirs = entry.name.startsWith('@') ? readdirSync(join(nodeModules, entry.name)).map((n) => join(entry.name, n)) : [entry.name]
    for (const d of dirs) {
      found.push(d)
      found.push(...packages(join(nodeModules, d, 'node_modules')))
    }
  }
  return found
}

/** Installs `spec` into a fresh project (`--omit=optional --ignore-scripts`, or a plain `npm install`); returns its folder. */
function install(spec: string, plain = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'zkcloud-footprint-'))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'footprint', version: '1.0.0', private: true, type: 'module' }))
  npm(dir, ['install', ...(plain ? [] : ['--omit=optional', '--ignore-scripts']), '--no-audit', '--no-fund', '--prefer-offline', spec])
  return dir
}

/** Milliseconds to import `specifier` in a fresh process (the import alone, not Node's start-up); median of RUNS. */
function importTime(dir: string, specifier: string): number {
  const script = join(dir, 'measure-import.mjs')
  writeFileSync(script, `const t = performance.now(); await import(${JSON.stringify(specifier)}); console.log(performance.now() - t)`)
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`import ${specifier} failed: ${r.stderr}`)
    times.push(Number(r.stdout.trim()))
  }
  return median(times)
}

function main(): void {
  const packDir = mkdtempSync(join(tmpdir(), 'zkcloud-pack-'))
  const tarball = join(packDir, npm(root, ['pack', '--ignore-scripts', '--silent', '--pack-destination', packDir]).trim().split('\n').pop()!)
  const ours = install(tarball)
  const oursPlain = install(tarball, true)
  const peer = install('node-zookeeper-client@1')
  try {
    const plainPkgs = packages(join(oursPlain, 'node_modules'))
    const plainSize = size(join(oursPlain, 'node_modules'))
    const oursPkgs = packages(join(ours, 'node_modules'))
    const peerPkgs = packages(join(peer, 'node_modules'))
    const oursSize = size(join(ours, 'node_modules'))
    const peerSize = size(join(peer, 'node_modules'))
    const oursImport = importTime(ours, 'zkcloud/zk')
    const peerImport = importTime(peer, 'node-zookeeper-client')
    writeFileSync(join(ours, 'empty.mjs'), 'export {}')
    const floor = importTime(ours, './empty.mjs')
    const heavy = modulesLoadedBy(ours, 'zkcloud/zk').filter((url) => /msgpackr|runtime|cluster/.test(url))
    console.log(`\nFootprint: npm install --omit=optional of the packed tarball; import time is the median of ${RUNS} fresh processes\n`)
    table(
      ['figure', 'zkcloud', 'node-zookeeper-client', 'ratio'],
      [
        ['installed size (--omit=optional)', `${(oursSize / 1e6).toFixed(2)} MB`, `${(peerSize / 1e6).toFixed(2)} MB`, `${(oursSize / peerSize).toFixed(2)}x`],
        ['packages installed (--omit=optional)', `${oursPkgs.length} (${oursPkgs.sort().join(', ')})`, `${peerPkgs.length}`, `${(oursPkgs.length / peerPkgs.length).toFixed(2)}x`],
        ['installed size (plain npm install)', `${(plainSize / 1e6).toFixed(2)} MB`, '', ''],
        ['packages installed (plain npm install)', `${plainPkgs.length} (${plainPkgs.sort().join(', ')})`, '', ''],
        ['import time (`zkcloud/zk` vs the peer)', `${oursImport.toFixed(1)} ms`, `${peerImport.toFixed(1)} ms`, `${(oursImport / peerImport).toFixed(2)}x`],
        ['import time of an empty module (the floor on this machine now)', `${floor.toFixed(1)} ms`, '', ''],
        ['runtime/msgpackr modules loaded by `zkcloud/zk`', `${heavy.length}`, '-', '-'],
      ],
    )
    if (heavy.length > 0) console.log(`\nunexpected modules on the client path:\n${heavy.join('\n')}`)
  } finally {
    for (const d of [packDir, ours, oursPlain, peer]) rmSync(d, { recursive: true, force: true })
  }
}

main()
