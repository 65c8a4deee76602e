import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as assert from 'uvu/assert'
import { isProcessAlive } from './process-alive.js'
import { ensembleSuite } from './zookeeper.js'

const fixture = fileURLToPath(new URL('./fixtures/leave-a-server.js', import.meta.url))

/**
 * Run the fixture in its own node process with its own temp dir; `signal` is sent once it
 * printed the server's pid. Resolves with the pid, what was left in the temp dir and how
 * the process ended.
 */
async function runFixture(how: string, signal?: NodeJS.Signals) {
  const tmp = mkdtempSync(join(tmpdir(), 'zkcloud-hygiene-'))
  try {
    const child = spawn(process.execPath, [fixture, how], {
      env: { ...process.env, ZK_TEST_TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    const pid = new Promise<number>(resolve => child.stdout.on('data', chunk => {
      out += chunk
      const match = /"pid":(\d+)/.exec(out)
      if (match) resolve(Number(match[1]))
    }))
    child.stderr.on('data', chunk => { err += chunk })
    const exited = new Promise<string>(resolve => child.on('exit', (code, sig) => resolve(sig ?? `code ${code}`)))
    const serverPid = await Promise.race([pid, exited.then(how => { throw new Error(`fixture ended (${how}) before starting a server: ${err}`) })])
    if (signal) child.kill(signal)
    return { serverPid, ended: await exited, left: readdirSync(tmp), stderr: err }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

const test = ensembleSuite('process hygiene')

test('a test process that just ends leaves no server and no temp dir', async () => {
  const { serverPid, ended, left } = await runFixture('return')
  assert.is(ended, 'code 0')
  assert.not.ok(isProcessAlive(serverPid), 'java still running')
  assert.equal(left, [])
})

test('an uncaught exception leaves no server and no temp dir', async () => {
  const { serverPid, ended, left, stderr } = await runFixture('throw')
  assert.is(ended, 'code 1')
  assert.match(stderr, /fixture: uncaught/)
  assert.not.ok(isProcessAlive(serverPid), 'java still running')
  assert.equal(left, [])
})

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} leaves no server and no temp dir, and still ends the process by that signal`, async () => {
    const { serverPid, ended, left } = await runFixture('wait', signal)
    assert.is(ended, signal)
    assert.not.ok(isProcessAlive(serverPid), 'java still running')
    assert.equal(left, [])
  })
}

test.run()
