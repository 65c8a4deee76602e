// test-timeout: 240
/**
 * The packed package as its users get it: `npm pack` once, installed into two throwaway
 * consumers (`--ignore-scripts --omit=optional`, and a plain `npm install`), then one
 * consumer program (consumer/body.js: the dev server, the client, the runtime and the
 * cluster, through every entry point) run in each form a user can load it — ESM, CommonJS
 * `require`, esbuild ESM and CJS bundles (with DEBUG unset, `zkcloud:*` and another
 * namespace), a rollup bundle, Node 22, Bun and Deno — and each must print the same result.
 * Bundles run from a folder without node_modules, as in a serverless function.
 * The tarball itself is checked too: its files, publint and arethetypeswrong.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { makeTempDir } from '../support/cleanup.js'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const run = promisify(execFile)
const CI = process.env.CI === 'true'

/** What consumer/body.js prints in every form (`native`: shared objects of msgpackr-extract loaded). */
const EXPECTED = {
  data: 'hello',
  stat: { version: 0, czxid: 'string', mtimeIsRecent: true },
  error: { name: 'NONODE', zkError: true, sameClass: true },
  reply: { n: 42, self: true },
  capable: true,
  native: [],
}
const ENTRIES = ['zkcloud', 'zkcloud/zk', 'zkcloud/runtime', 'zkcloud/cluster', 'zkcloud/dev-server']
const BINDINGS = ['root', 'zk', 'runtime', 'cluster', 'devServer']
const body = readFileSync(join(root, 'test/package/consumer/body.js'), 'utf8')
const esmSource = BINDINGS.map((b, i) => `import * as ${b} from '${ENTRIES[i]}'`).join('\n') + '\n' + body
const cjsSource = BINDINGS.map((b, i) => `const ${b} = require('${ENTRIES[i]}')`).join('\n') + '\n' + body

/** Node 22, Bun and Deno: scripts/install-tools.mjs installs them once per machine (pinned npm platform packages) and says where. */
interface Tools {
  node22?: { path: string }
  bun?: { path: string }
  deno?: { path: string }
}
let tools: Tools = {}
let toolsProblem = ''

interface Form {
  name: string
  /** The program and its arguments, run in `cwd`. */
  argv: string[]
  cwd: string
  debug?: string
}
interface Outcome {
  code: number | null
  stdout: string
  stderr: string
}

function runForm(form: Form): Promise<Outcome> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', DEBUG_COLORS: 'no' }
    delete env.DEBUG
    if (form.debug !== undefined) env.DEBUG = form.debug
    const child = spawn(form.argv[0]!, form.argv.slice(1), { cwd: form.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Runs `tasks` with at most `limit` at a time; resolves with their results in order. */
async function pool<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++
      results[i] = await tasks[i]!()
    }
  }
  await Promise.all(Array.from({ length: limit }, worker))
  return results
}

async function npmInstall(dir: string, tarball: string, flags: string[]): Promise<void> {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...flags, tarball], { cwd: dir })
  writeFileSync(join(dir, 'consumer.mjs'), esmSource)
  writeFileSync(join(dir, 'consumer.cjs'), cjsSource)
}

/** esbuild (platform node, as serverless toolchains use it) and rollup bundles of the consumer, in `into`; resolves with their warnings. */
async function bundle(from: string, into: string): Promise<string[]> {
  const { build, stop } = await import('esbuild-wasm')
  const common = { absWorkingDir: from, bundle: true, platform: 'node' as const, target: 'node20', logLevel: 'silent' as const }
  const results = [
    await build({ ...common, entryPoints: ['consumer.mjs'], format: 'esm', outfile: join(into, 'esbuild-esm.mjs') }),
    await build({ ...common, entryPoints: ['consumer.mjs'], format: 'cjs', outfile: join(into, 'esbuild-cjs.cjs') }),
    await build({ ...common, entryPoints: ['consumer.cjs'], format: 'cjs', outfile: join(into, 'esbuild-require.cjs') }),
  ]
  await stop()
  const warnings = results.flatMap((r) => r.warnings.map((w) => `esbuild: ${w.text}`))

  const { rollup } = await import('@rollup/wasm-node')
  const { nodeResolve } = await import('@rollup/plugin-node-resolve')
  // (its types declare the default export for a CJS reader; under NodeNext it is the namespace's default)
  const commonjs = (await import('@rollup/plugin-commonjs')).default as unknown as () => import('@rollup/wasm-node').Plugin
  const built = await rollup({
    input: join(from, 'consumer.mjs'),
    external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
    plugins: [nodeResolve({ exportConditions: ['node'], preferBuiltins: true, rootDir: from }), commonjs()],
    onwarn: (w) => void warnings.push(`rollup: ${w.message}`),
  })
  await built.write({ file: join(into, 'rollup.cjs'), format: 'cjs', inlineDynamicImports: true })
  await built.close()
  return warnings
}

interface State {
  dir: string
  tarball: string
  omit: string
  plain: string
  bundles: string
  bundleWarnings: string[]
  outcomes: Map<string, Promise<Outcome>>
  /** Why packing, installing or bundling failed (uvu would swallow a throwing before hook). */
  setupError?: unknown
}
const test = suite<State>('the packed package in every form a user loads it', {} as State)

test.before(async (state) => {
  try {
    await setUp(state)
  } catch (error) {
    state.setupError = error
  }
})
test.before.each((state) => {
  if (state.setupError !== undefined) throw state.setupError
})

async function setUp(state: State): Promise<void> {
  const installing = run(process.execPath, [join(root, 'scripts/install-tools.mjs')], { cwd: root }).then(
    ({ stdout }) => void (tools = JSON.parse(stdout)),
    (error) => void (toolsProblem = `scripts/install-tools.mjs failed: ${error.stderr || error.message}`),
  )
  state.dir = makeTempDir('package')
  const packed = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', state.dir], { cwd: root })
  state.tarball = join(state.dir, packed.stdout.trim().split('\n').pop()!)
  state.omit = join(state.dir, 'omit-optional')
  state.plain = join(state.dir, 'plain')
  state.bundles = join(state.dir, 'bundles') // no node_modules here: bundles must stand alone
  for (const d of [state.omit, state.plain, state.bundles]) mkdirSync(d)
  await Promise.all([
    npmInstall(state.omit, state.tarball, ['--ignore-scripts', '--omit=optional']),
    npmInstall(state.plain, state.tarball, []),
  ])
  state.bundleWarnings = await bundle(state.omit, state.bundles)
  await installing

  const node = process.execPath
  const forms: Form[] = [
    { name: 'ESM import', argv: [node, 'consumer.mjs'], cwd: state.omit },
    { name: 'CommonJS require', argv: [node, 'consumer.cjs'], cwd: state.omit },
    { name: 'ESM import, DEBUG=zkcloud:*', argv: [node, 'consumer.mjs'], cwd: state.omit, debug: 'zkcloud:*' },
    { name: 'plain install: ESM import', argv: [node, 'consumer.mjs'], cwd: state.plain },
    { name: 'plain install: CommonJS require', argv: [node, 'consumer.cjs'], cwd: state.plain },
    { name: 'rollup bundle (CJS)', argv: [node, 'rollup.cjs'], cwd: state.bundles },
    { name: 'rollup bundle (CJS), DEBUG=zkcloud:*', argv: [node, 'rollup.cjs'], cwd: state.bundles, debug: 'zkcloud:*' },
    { name: 'esbuild bundle of require()s (CJS)', argv: [node, 'esbuild-require.cjs'], cwd: state.bundles, debug: 'zkcloud:*' },
  ]
  for (const [file, format] of [['esbuild-esm.mjs', 'ESM'], ['esbuild-cjs.cjs', 'CJS']] as const) {
    forms.push({ name: `esbuild bundle (${format})`, argv: [node, file], cwd: state.bundles })
    forms.push({ name: `esbuild bundle (${format}), DEBUG=zkcloud:*`, argv: [node, file], cwd: state.bundles, debug: 'zkcloud:*' })
    forms.push({ name: `esbuild bundle (${format}), DEBUG=express:*`, argv: [node, file], cwd: state.bundles, debug: 'express:*' })
  }
  if (tools.node22) {
    forms.push({ name: 'Node 22: ESM import', argv: [tools.node22.path, 'consumer.mjs'], cwd: state.omit })
    forms.push({ name: 'Node 22: CommonJS require', argv: [tools.node22.path, 'consumer.cjs'], cwd: state.omit })
  }
  if (tools.bun) {
    forms.push({ name: 'Bun: ESM import', argv: [tools.bun.path, 'consumer.mjs'], cwd: state.omit })
    forms.push({ name: 'Bun: CommonJS require', argv: [tools.bun.path, 'consumer.cjs'], cwd: state.omit, debug: 'zkcloud:*' })
  }
  if (tools.deno) {
    forms.push({ name: 'Deno: ESM import (node_modules)', argv: [tools.deno.path, 'run', '-A', 'consumer.mjs'], cwd: state.omit })
    forms.push({ name: 'Deno: CommonJS require', argv: [tools.deno.path, 'run', '-A', 'consumer.cjs'], cwd: state.omit, debug: 'zkcloud:*' })
  }
  const results = pool(forms.map((f) => () => runForm(f)), 3)
  state.outcomes = new Map(forms.map((f, i) => [f.name, results.then((r) => r[i]!)]))
}

/** The form's RESULT line, and what its DEBUG setting must have printed. */
async function check(state: State, name: string, debug: string | undefined): Promise<void> {
  const outcome = await state.outcomes.get(name)
  assert.ok(outcome, `${name} was run`)
  const { code, stdout, stderr } = outcome!
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '))
  assert.ok(code === 0 && line !== undefined, `${name}: exit ${code}\n${stdout}\n${stderr.slice(-3000)}`)
  assert.equal(JSON.parse(line!.slice(7)), EXPECTED, name)
  if (debug === 'zkcloud:*') {
    for (const ns of ['zkcloud:wire', 'zkcloud:runtime', 'zkcloud:cluster']) assert.ok(stderr.includes(` ${ns} `), `${name}: no ${ns} log line on stderr:\n${stderr.slice(0, 2000)}`)
  } else {
    assert.not.ok(stderr.includes('zkcloud:'), `${name}: logged although DEBUG=${debug ?? ''}:\n${stderr.slice(0, 2000)}`)
  }
}

test('esbuild and rollup bundle the package without a warning', (state) => {
  assert.equal(state.bundleWarnings, [])
})

const FORMS: Array<[name: string, debug?: string]> = [
  ['ESM import'],
  ['CommonJS require'],
  ['ESM import, DEBUG=zkcloud:*', 'zkcloud:*'],
  ['plain install: ESM import'],
  ['plain install: CommonJS require'],
  ['esbuild bundle (ESM)'],
  ['esbuild bundle (ESM), DEBUG=zkcloud:*', 'zkcloud:*'],
  ['esbuild bundle (ESM), DEBUG=express:*', 'express:*'],
  ['esbuild bundle (CJS)'],
  ['esbuild bundle (CJS), DEBUG=zkcloud:*', 'zkcloud:*'],
  ['esbuild bundle (CJS), DEBUG=express:*', 'express:*'],
  ['esbuild bundle of require()s (CJS)', 'zkcloud:*'],
  ['rollup bundle (CJS)'],
  ['rollup bundle (CJS), DEBUG=zkcloud:*', 'zkcloud:*'],
]
for (const [name, debug] of FORMS) test(name, (state) => check(state, name, debug))

const TOOL_FORMS: Array<[tool: keyof Tools, name: string, debug?: string]> = [
  ['node22', 'Node 22: ESM import'],
  ['node22', 'Node 22: CommonJS require'],
  ['bun', 'Bun: ESM import'],
  ['bun', 'Bun: CommonJS require', 'zkcloud:*'],
  ['deno', 'Deno: ESM import (node_modules)'],
  ['deno', 'Deno: CommonJS require', 'zkcloud:*'],
]
for (const [tool, name, debug] of TOOL_FORMS) {
  test(name, async (state) => {
    if (!tools[tool]) {
      const why = `${tool} is not installed: ${toolsProblem}`
      if (CI) assert.unreachable(`${name}: ${why}`)
      console.log(`  SKIPPING ${name}: ${why}`)
      return
    }
    await check(state, name, debug)
  })
}

test('a plain install brings msgpackr-extract (native, flagged install script), which no form loads', (state) => {
  assert.ok(existsSync(join(state.plain, 'node_modules/msgpackr-extract')), 'a plain install has the optional accelerator')
  assert.not.ok(existsSync(join(state.omit, 'node_modules/msgpackr-extract')), '--omit=optional leaves it out')
  // EXPECTED.native = [] above: the plain-install forms ran with it present and never loaded it.
})

test('the tarball: README, LICENSE, docs, bundles and types for every entry; no tests, benchmarks or maps', async (state) => {
  const { stdout } = await run('tar', ['-tzf', state.tarball])
  const files = stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''))
  for (const f of ['README.md', 'LICENSE', 'package.json', 'docs/runtime.md', 'docs/cluster.md', 'docs/dev-server.md']) assert.ok(files.includes(f), `${f} is in the tarball`)
  for (const [entry, types] of [['index', 'index'], ['zk', 'zk-wire/index'], ['runtime', 'runtime/index'], ['cluster', 'cluster/index'], ['dev-server', 'dev-server/index']]) {
    for (const f of [`dist/pkg/${entry}.js`, `dist/pkg/${entry}.cjs`, `dist/lib/${types}.d.ts`, `dist/lib/${types}.d.cts`]) assert.ok(files.includes(f), `${f} is in the tarball`)
  }
  assert.equal(files.filter((f) => /(^|\/)(test|bench)\/|\.map$|\.test\.|^lib\/|\.tsbuildinfo$/.test(f)), [], 'nothing but the package')
})

test('publint and arethetypeswrong find no problem (types resolve under node10, node16 CJS/ESM and bundler)', async (state) => {
  const bin = (name: string): string => join(root, 'node_modules/.bin', name)
  const lint = await run(bin('publint'), ['run', state.tarball, '--strict']).catch((e) => e)
  assert.ok(!(lint instanceof Error), `publint: ${lint.stdout ?? ''}${lint.stderr ?? ''}`)
  const attw = await run(bin('attw'), [state.tarball, '--format', 'table-flipped']).catch((e) => e)
  assert.ok(!(attw instanceof Error), `attw: ${attw.stdout ?? ''}${attw.stderr ?? ''}`)
})

test.run()
