import { spawn, spawnSync } from 'node:child_process'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startDevServer } from '../../lib/dev-server/index.js'

/** The dev server as kazoo (python-zk) sees it: CREATOR_ALL_ACL as kazoo sends it (a null auth id), and SASL DIGEST-MD5. */
const PYTHON = '/usr/bin/python3'
const SCRIPT = `
import json, sys
from kazoo.client import KazooClient
from kazoo.security import CREATOR_ALL_ACL
hosts = sys.argv[1]
out = {}
zk = KazooClient(hosts=hosts, auth_data=[('digest', 'bob:pw')])
zk.start(timeout=10)
zk.create('/kazoo-creator', b'x', acl=CREATOR_ALL_ACL)
out['creator'] = [[a.id.scheme, a.id.id.split(':')[0], a.perms] for a in zk.get_acls('/kazoo-creator')[0]]
zk.stop()
sasl = KazooClient(hosts=hosts, sasl_options={'mechanism': 'DIGEST-MD5', 'username': 'alice', 'password': 'wonderland'})
sasl.start(timeout=10)
sasl.create('/kazoo-sasl', b'y', acl=CREATOR_ALL_ACL)
out['sasl'] = [[a.id.scheme, a.id.id, a.perms] for a in sasl.get_acls('/kazoo-sasl')[0]]
sasl.stop()
print(json.dumps(out))
`

/** Runs the script with kazoo against `hosts`; resolves to its exit code and output. */
function kazoo(hosts: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ['-c', SCRIPT, hosts], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr.on('data', (b: Buffer) => (err += b.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, out, err })
    })
  })
}

test('kazoo: CREATOR_ALL_ACL (its null auth id) creates the node; SASL DIGEST-MD5 authenticates', async () => {
  if (spawnSync(PYTHON, ['-c', 'import kazoo']).status !== 0) {
    console.log(`SKIPPED: kazoo is not importable with ${PYTHON} (apt-get install python3-kazoo)`)
    return
  }
  const server = await startDevServer({ port: 0, saslUsers: { alice: 'wonderland' } })
  try {
    const run = await kazoo(server.connectString)
    assert.is(run.code, 0, run.err)
    assert.equal(JSON.parse(run.out), { creator: [['digest', 'bob', 31]], sasl: [['sasl', 'alice', 31]] })
  } finally {
    await server.close()
  }
})

test.run()
