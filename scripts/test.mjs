#!/usr/bin/env node
// The test runner behind `npm test` (after tsc): runs every dist/test/**/*.test.js in its
// own node process, one at a time, against one shared ZooKeeper, and exits non-zero if
// any file failed, timed out or hung.
//
//   node scripts/test.mjs [filter…]   only files whose path contains one of the filters
//
// Env: ZK_TEST_HOSTS (use this ZooKeeper instead of finding one), TEST_TIMEOUT (seconds
// per file, default 180; a file may say `// test-timeout: 300` instead), CI=true (no
// ZooKeeper is a failure, not a skip).
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { constants, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const testRoot = join(root, 'dist', 'test')
const kit = join(testRoot, 'support', 'zookeeper.js')
const defaultTimeoutS = Number(process.env.TEST_TIMEOUT ?? 180)
// uvu prints its summary ("Duration: …") when every test is done; a file that is still
// alive this long after it has open handles (a client, socket, timer or server) left over.
const exitGraceMs = 10_000

/** Every `*.test.js` under `dir`, sorted by path. */
function discover(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter(entry => entry.isFile() && entry.name.endsWith('.test.js'))
    .map(entry => join(entry.parentPath ?? entry.path, entry.name))
    .sort()
}

function timeoutOf(file) {
  const match = /^\/\/ test-timeout: (\d+)/m.exec(readFileSync(file, 'utf8'))
  return (match ? Number(match[1]) : defaultTimeoutS) * 1000
}

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // the group is already gone
  }
}

const seconds = ms => `${(ms / 1000).toFixed(1)} s`

/**
 * What a failed file said about its failure, for the summary at the end (CI logs are often
 * read from their tail): each uvu `FAIL` block, or the last lines when there is none.
 */
function excerptOf(output) {
  const lines = output.replace(/\x1b\[[0-9;]*m/g, '').split('\n')
  const blocks = []
  lines.forEach((line, i) => {
    if (/^\s*FAIL\s/.test(line)) blocks.push(...lines.slice(i, i + 25), '')
  })
  const picked = blocks.length > 0 ? blocks.slice(0, 100) : lines.slice(-30)
  return picked.map(line => `    | ${line}`).join('\n')
}

let current // the running child, for Ctrl-C
let runTmp

/**
 * Run one file; resolve with { status: 'passed' | 'failed' | 'timed out' | 'hung', detail }.
 * The child leads its own process group, so everything it started (servers included)
 * is killed with it.
 */
function runFile(file, env) {
  return new Promise(resolve => {
    const timeoutMs = timeoutOf(file)
    const child = spawn(process.execPath, ['--enable-source-maps', file], {
      cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    })
    current = child
    let verdict
    let graceTimer
    let tail = ''
    let summary = ''
    let output = '' // the last 64 KiB of both streams, for the excerpt in the final summary
    const keep = chunk => { output = (output + chunk.toString()).slice(-65536) }
    const stop = (status, detail) => {
      verdict ??= { status, detail }
      killGroup(child.pid)
    }
    const timer = setTimeout(() => stop('timed out', `still running after ${seconds(timeoutMs)}`), timeoutMs)
    child.stdout.on('data', chunk => {
      process.stdout.write(chunk)
      keep(chunk)
      tail = (tail + chunk.toString()).slice(-100)
      summary = (summary + chunk.toString()).slice(-400)
      if (!graceTimer && /Duration:/.test(tail)) {
        graceTimer = setTimeout(() => stop('hung',
          `its tests finished but the process did not exit within ${seconds(exitGraceMs)}: ` +
          'something is still open (a client, socket, timer, child process or server) — close it in an after hook'),
        exitGraceMs)
      }
    })
    child.stderr.on('data', chunk => {
      process.stderr.write(chunk)
      keep(chunk)
    })
    // Whatever the file left behind in its group goes too; that also closes the pipes a
    // leftover grandchild would otherwise hold open, delaying 'close'.
    // If something outside the group still holds the pipes, 'close' would wait for it: once
    // the file itself has exited, give its output a moment to drain, then stop waiting.
    let settled = false
    const settle = (code, signal) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(graceTimer)
      current = undefined
      // uvu exits 0 when a before/after hook throws (its runner's `finally` swallows the
      // error): every test of that suite is then neither passed nor failed. Count them.
      const counts = /Total:\s+(\d+)\s+Passed:\s+(\d+)\s+Skipped:\s+(\d+)/.exec(summary.replace(/\x1b\[[0-9;]*m/g, ''))
      if (!verdict && code === 0 && counts && Number(counts[2]) + Number(counts[3]) < Number(counts[1])) {
        verdict = { status: 'failed', detail: `${Number(counts[1]) - Number(counts[2]) - Number(counts[3])} of ${counts[1]} tests did not run to the end (a before or after hook threw?)` }
      }
      if (!verdict && code === 0) verdict = { status: 'passed' }
      verdict ??= { status: 'failed', detail: signal ? `killed by ${signal}` : `exit code ${code}` }
      resolve({ ...verdict, excerpt: verdict.status === 'passed' ? '' : excerptOf(output) })
    }
    child.on('exit', (code, signal) => {
      killGroup(child.pid)
      setTimeout(() => {
        child.stdout.destroy()
        child.stderr.destroy()
        settle(code, signal)
      }, 2000).unref()
    })
    child.on('close', settle)
  })
}

function cleanup() {
  if (current) killGroup(current.pid)
  if (runTmp) rmSync(runTmp, { recursive: true, force: true })
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the test run`)
    cleanup()
    process.exit(128 + constants.signals[signal])
  })
}

async function main() {
  if (!existsSync(kit)) {
    console.error(`${relative(root, kit)} is missing: compile first (npx tsc -p tsconfig.json; npm test does both)`)
    return 1
  }
  const filters = process.argv.slice(2)
  const files = discover(testRoot).filter(file => filters.length === 0 || filters.some(f => relative(root, file).includes(f)))
  if (files.length === 0) {
    console.error(`No test files under ${relative(root, testRoot)}${filters.length ? ` match ${filters.join(', ')}` : ''}`)
    return 1
  }

  const { getZooKeeper, NO_ZOOKEEPER } = await import(pathToFileURL(kit).href)
  const started = Date.now()
  const problems = []
  let zk = null
  try {
    zk = await getZooKeeper()
  } catch (err) {
    console.error(`Could not start the shared ZooKeeper: ${err.message}`)
  }
  if (zk) {
    console.log(`ZooKeeper for the tests: ${zk.connectString} (${zk.source})`)
  } else {
    console.log(`\n  ${process.env.CI === 'true' ? 'FAILING' : 'SKIPPING'} ZooKeeper tests: ${NO_ZOOKEEPER}\n`)
    if (process.env.CI === 'true') problems.push(`no ZooKeeper under CI=true: ${NO_ZOOKEEPER}`)
  }

  runTmp = mkdtempSync(join(tmpdir(), 'zkcloud-test-run-'))
  const env = {
    ...process.env,
    ZK_TEST_SOURCE: zk ? zk.source : 'none',
    ZK_TEST_TMPDIR: runTmp,
    ...(zk && { ZK_TEST_HOSTS: zk.connectString }),
    ...(process.stdout.isTTY && { FORCE_COLOR: '1' }),
  }
  const results = []
  for (const file of files) {
    const name = relative(root, file)
    console.log(`\n▶ ${name}`)
    const fileStarted = Date.now()
    const { status, detail, excerpt } = await runFile(file, env)
    const took = Date.now() - fileStarted
    results.push({ name, status, detail, took, excerpt })
    if (status === 'passed') {
      console.log(`✔ ${name} (${seconds(took)})`)
      continue
    }
    console.log(`✘ ${name}: ${status}${detail ? ` — ${detail}` : ''} (${seconds(took)})`)
    console.log(`  rerun alone: node scripts/test.mjs ${name}` +
      (zk ? `   or: ZK_TEST_HOSTS=${zk.connectString} node --enable-source-maps ${name}` : ''))
    if (zk?.ensemble) console.log(zk.ensemble.logs(30))
  }

  await zk?.stop()
  rmSync(runTmp, { recursive: true, force: true })

  const count = status => results.filter(r => r.status === status).length
  const bad = results.filter(r => r.status !== 'passed')
  console.log('\n' + '─'.repeat(72))
  console.log(`Test files: ${count('passed')} passed, ${count('failed')} failed, ` +
    `${count('timed out')} timed out, ${count('hung')} hung, of ${results.length} — ${seconds(Date.now() - started)}`)
  for (const r of bad) console.log(`  ${r.status.toUpperCase().padEnd(9)} ${r.name}${r.detail ? ` — ${r.detail}` : ''}`)
  for (const r of bad) if (r.excerpt) console.log(`\n  ${r.name}:\n${r.excerpt}`)
  for (const problem of problems) console.log(`  FAILED    ${problem}`)
  return bad.length + problems.length > 0 ? 1 : 0
}

process.exitCode = await main()
