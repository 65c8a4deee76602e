// test-timeout: 240
/**
 * Every code block of README.md and docs/*.md that claims to run does run. A block fenced
 * ```ts or ```js (typescript, javascript, mjs) is extracted, type-checked under `strict`
 * (tsc, NodeNext, against the built package as `zkcloud`), stripped of its types (nothing
 * else: `await using` stays, as Node 20 would see it in a .mjs file) and run with Node, each
 * against a fresh dev server; it must exit 0 by itself within 20 s.
 *
 * Markers, after the language on the fence line:
 * - `illustrative`: a fragment that is not a program (shown in the output, not run);
 * - `zookeeper`: needs real ZooKeeper — runs against the test kit's, in a fresh chroot.
 * Shell blocks (```sh) are commands, not run here.
 *
 * Addresses: a snippet shows the addresses of a production deployment. Before it runs, each
 * connect-string literal (`'zk1:2181,zk2:2181/app'`) becomes the server's address (keeping
 * the chroot), `host: '<address>'` becomes 127.0.0.1 and `port: <n>` becomes 0 (any free
 * port); a snippet with another address left in it fails rather than reach outside.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import ts from 'typescript'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startDevServer } from '../../lib/dev-server/index.js'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { makeTempDir } from '../support/cleanup.js'
import { requireZooKeeper } from '../support/zookeeper.js'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const run = promisify(execFile)
const LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs'])

/** One fenced code block. */
interface Snippet {
  doc: string
  /** 1-based line of the first code line. */
  line: number
  lang: string
  markers: Set<string>
  code: string
}

/** The ts/js blocks of a Markdown text. */
function snippetsOf(doc: string, text: string): Snippet[] {
  const out: Snippet[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^(```+|~~~+)\s*([\w-]*)(.*)$/.exec(lines[i]!)
    if (!open) continue
    const fence = open[1]!
    let end = i + 1
    while (end < lines.length && !lines[end]!.startsWith(fence)) end++
    const lang = open[2]!.toLowerCase()
    if (LANGUAGES.has(lang)) {
      out.push({ doc, line: i + 2, lang, markers: new Set(open[3]!.trim().split(/\s+/).filter(Boolean)), code: lines.slice(i + 1, end).join('\n') })
    }
    i = end
  }
  return out
}

/** The snippet with its addresses pointed at `connectString`; throws if another address is left. */
function localise(code: string, connectString: string): string {
  const out = code
    .replace(/(['"`])((?:[A-Za-z0-9.-]+:\d+)(?:,[A-Za-z0-9.-]+:\d+)*)(\/[^'"`\s]*)?\1/g, (_, q: string, _hosts: string, chroot: string | undefined) => `${q}${connectString}${chroot ?? ''}${q}`)
    .replace(/\bhost:\s*(['"`])[^'"`]*\1/g, `host: '127.0.0.1'`)
    .replace(/\bport:\s*\d+/g, 'port: 0')
  const stray = /\b(?!127\.)\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b|\bzk\d*:\d+/.exec(out.replaceAll(connectString, ''))
  if (stray) throw new Error(`the snippet still names ${stray[0]} after its addresses were replaced: it would reach outside this machine`)
  return out
}

const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
const snippets = docs.flatMap((doc) => snippetsOf(doc, readFileSync(join(root, doc), 'utf8')))
const runnable = snippets.filter((s) => !s.markers.has('illustrative'))
const fileOf = (s: Snippet, i: number): string => `${s.doc.replace(/[^A-Za-z0-9]+/g, '-')}-${s.line}-${i}.${s.lang.startsWith('j') || s.lang === 'mjs' ? 'mjs' : 'mts'}`
/** Lines tsc reports are the block's own; this header (none) keeps them so. */
const where = (s: Snippet, line = 1): string => `${s.doc}:${s.line + line - 1}`

interface State {
  dir: string
  /** tsc's diagnostics per snippet file. */
  diagnostics: Map<string, string[]>
}
const test = suite<State>('README and docs code blocks type-check and run', { dir: '', diagnostics: new Map() })

test.before(async (state) => {
  state.dir = makeTempDir('snippets')
  const modules = join(state.dir, 'node_modules')
  mkdirSync(join(modules, '@types'), { recursive: true })
  symlinkSync(root, join(modules, 'zkcloud'), 'dir')
  symlinkSync(join(root, 'node_modules/@types/node'), join(modules, '@types/node'), 'dir')
  writeFileSync(join(state.dir, 'package.json'), JSON.stringify({ name: 'snippets', private: true, type: 'module' }))
  writeFileSync(
    join(state.dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2023'], types: ['node'], noEmit: true, allowJs: true, checkJs: true, skipLibCheck: true },
      include: ['*.mts', '*.mjs'],
    }),
  )
  runnable.forEach((s, i) => writeFileSync(join(state.dir, fileOf(s, i)), s.code + '\n'))
  const tsc = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', state.dir, '--pretty', 'false'], { cwd: state.dir }).catch((e) => e)
  for (const line of String(tsc.stdout ?? '').split('\n')) {
    const m = /^(\S+?)\((\d+),(\d+)\): (.*)$/.exec(line)
    if (!m) continue
    const list = state.diagnostics.get(m[1]!) ?? []
    list.push(`line ${m[2]}: ${m[4]}`)
    state.diagnostics.set(m[1]!, list)
  }
})

/** Runs `file` with Node in `dir`; resolves with its exit code and output, or a timeout. */
function runNode(dir: string, file: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let timedOut = false
    child.stdout.on('data', (c) => (output += c))
    child.stderr.on('data', (c) => (output += c))
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, 20_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output, timedOut })
    })
  })
}

/** A fresh place to run against: a dev server, or a new chroot on the test kit's ZooKeeper. */
async function target(s: Snippet): Promise<{ connectString: string; close(): Promise<void> } | null> {
  if (!s.markers.has('zookeeper')) {
    const server = await startDevServer({ port: 0 })
    return { connectString: server.connectString, close: () => server.close() }
  }
  const zk = await requireZooKeeper()
  if (!zk) return null
  const chroot = `/snippets-${process.pid}-${s.line}`
  const client = await ZooKeeper.connect(zk.connectString)
  await client.create(chroot).finally(() => client.close())
  return { connectString: `${zk.connectString}${chroot}`, close: async () => {} }
}

runnable.forEach((s, i) => {
  test(`${where(s)} (${s.lang}${s.markers.size ? ` ${[...s.markers].join(' ')}` : ''})`, async (state) => {
    const file = fileOf(s, i)
    const errors = state.diagnostics.get(file) ?? []
    assert.equal(errors, [], `${where(s)} does not type-check under strict:\n${errors.join('\n')}\n\n${s.code}`)
    const server = await target(s)
    if (!server) return // no ZooKeeper: the kit said so (and fails under CI=true)
    try {
      const code = localise(s.code, server.connectString)
      const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ESNext } }).outputText
      const out = join(state.dir, file.replace(/\.m?ts$|\.mjs$/, '.run.mjs'))
      writeFileSync(out, js)
      const env: NodeJS.ProcessEnv = { ...process.env, ZK_HOSTS: server.connectString }
      delete env.DEBUG
      const result = await runNode(state.dir, out, env)
      assert.ok(!result.timedOut, `${where(s)} did not end within 20 s (something it opened stays open):\n${result.output.slice(-2000)}`)
      assert.is(result.code, 0, `${where(s)} failed:\n${result.output.slice(-3000)}`)
    } finally {
      await server.close()
    }
  })
})

test('illustrative blocks are few and marked', () => {
  const illustrative = snippets.filter((s) => s.markers.has('illustrative'))
  for (const s of illustrative) console.log(`  illustrative (not run): ${where(s)}`)
  assert.ok(runnable.length > 0, 'there are runnable snippets')
  assert.ok(illustrative.length <= runnable.length, `${illustrative.length} illustrative blocks, ${runnable.length} runnable: most blocks should run`)
})

test('the address rewrite keeps chroots and refuses what it cannot rewrite', () => {
  assert.is(localise(`connect('zk1:2181,zk2:2181/app')`, '127.0.0.1:5'), `connect('127.0.0.1:5/app')`)
  assert.is(localise(`{ host: '10.0.0.5', port: 4000 }`, '127.0.0.1:5'), `{ host: '127.0.0.1', port: 0 }`)
  assert.throws(() => localise(`fetch('http://10.1.2.3/')`, '127.0.0.1:5'), /reach outside/)
})

test.run()
