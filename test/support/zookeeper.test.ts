import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { containerRuntimeAnswers } from './container-runtime.js'
import { fourLetterWord } from './four-letter.js'
import { chroot, ensembleSuite, NO_ZOOKEEPER } from './zookeeper.js'

const fixture = fileURLToPath(new URL('./fixtures/zk-suite.js', import.meta.url))
const run = promisify(execFile)

/** Run the zkSuite fixture with exactly these ZooKeeper-related variables. */
async function runSuite(env: Record<string, string>) {
  const clean = Object.fromEntries(Object.entries(process.env)
    .filter(([key]) => !['ZK_TEST_HOSTS', 'ZK_TEST_SOURCE', 'CI', 'DOCKER_HOST'].includes(key)))
  try {
    const { stdout } = await run(process.execPath, [fixture], { env: { ...clean, ...env }, timeout: 60_000 })
    return { code: 0, stdout, stderr: '' }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

const test = suite('getZooKeeper and zkSuite')

test('ZK_TEST_HOSTS wins, and ZK_TEST_SOURCE names where the runner got it', async () => {
  const { stdout } = await runSuite({ ZK_TEST_HOSTS: '127.0.0.1:1', ZK_TEST_SOURCE: 'local' })
  assert.match(stdout, /GOT local 127\.0\.0\.1:1\n/)
  const plain = await runSuite({ ZK_TEST_HOSTS: '127.0.0.1:2' })
  assert.match(plain.stdout, /GOT env 127\.0\.0\.1:2\n/)
})

test('no ZooKeeper: one loud SKIPPED line and the tests are skipped', async () => {
  const { stdout, code } = await runSuite({ ZK_TEST_SOURCE: 'none' })
  assert.is(code, 0)
  assert.is(stdout.split(`SKIPPED: ${NO_ZOOKEEPER}`).length, 2, stdout)
  assert.match(stdout, /Skipped:\s+1/)
  assert.not.match(stdout, /GOT/)
})

test('no ZooKeeper under CI=true is a failure', async () => {
  const { stderr, code } = await runSuite({ ZK_TEST_SOURCE: 'none', CI: 'true' })
  assert.is.not(code, 0)
  assert.match(stderr, /CI=true but no ZooKeeper/)
})

test('container engine detection: a missing socket answers false at once', async () => {
  const started = Date.now()
  assert.is(await containerRuntimeAnswers(300, { DOCKER_HOST: 'unix:///nonexistent/docker.sock' }), false)
  assert.ok(Date.now() - started < 100)
})

test('container engine detection: a socket that pings OK answers true; a silent one false in ~300 ms', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zkcloud-docker-'))
  const socketPath = join(dir, 'docker.sock')
  let silent = false
  const engine = createServer((req, res) => {
    if (silent) return
    res.statusCode = req.url === '/_ping' ? 200 : 404
    res.end('OK')
  })
  await new Promise<void>(resolve => engine.listen(socketPath, resolve))
  try {
    const env = { DOCKER_HOST: `unix://${socketPath}` }
    assert.is(await containerRuntimeAnswers(300, env), true)
    silent = true
    const started = Date.now()
    assert.is(await containerRuntimeAnswers(300, env), false)
    const took = Date.now() - started
    assert.ok(took >= 250 && took < 1000, `took ${took} ms`)
  } finally {
    engine.closeAllConnections()
    await new Promise(resolve => engine.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  }
})

test('chroot() gives each test its own valid, unique prefix', () => {
  const a = chroot('child watch fires once!')
  const b = chroot('child watch fires once!')
  assert.match(a, /^\/t-child-watch-fires-once-[0-9a-f]{8}$/)
  assert.is.not(a, b)
  assert.match(chroot(), /^\/t-[0-9a-f]{8}$/)
})

test.run()

const local = ensembleSuite('getZooKeeper with a local install')

local('without hosts or a container engine, a local server is started', async () => {
  const { stdout, code } = await runSuite({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' })
  assert.is(code, 0)
  const [, connectString] = /GOT local (\S+)\n/.exec(stdout) ?? []
  assert.ok(connectString, stdout)
  const [host, port] = connectString!.split(':')
  const ruok = await fourLetterWord(host!, Number(port), 'ruok').catch(() => 'gone')
  assert.is(ruok, 'gone', 'the local server outlived its test process')
})

local.run()
