import * as assert from 'uvu/assert'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { cli } from './run-cli.js'

const test = await zkSuite('zkcloud command line against ZooKeeper 3.8')

test('the commands work the same against a real server', async ({ zk: server }) => {
  const root = chroot('cli')
  const admin = await ZooKeeper.connect(server.connectString)
  try {
    await admin.create(root)
    const at = ['--server', `${server.connectString}${root}`]
    assert.is((await cli([...at, 'create', '-s', '/job-', 'a'])).text, '/job-0000000000\n')
    assert.is((await cli([...at, 'create', '-c', '/box'])).code, 0)
    assert.is((await cli([...at, 'create', '-t', '60000', '/box/t', 'x'])).code, 0)
    assert.is((await cli([...at, 'set', '-v', '0', '/job-0000000000', 'b'])).code, 0)
    assert.is((await cli([...at, 'get', '/job-0000000000'])).text, 'b')
    assert.equal(JSON.parse((await cli([...at, '--json', 'ls', '/'])).text), { path: '/', children: ['box', 'job-0000000000'] })
    assert.is((await cli([...at, 'tree'])).text, '/\n├── box\n│   └── t\n└── job-0000000000\n')
    assert.is((await cli([...at, 'stat', '/nope'])).code, 1)
    assert.is((await cli([...at, 'rm', '-r', '/box'])).code, 0)
    assert.equal(await admin.getChildren(root), ['job-0000000000'])
  } finally {
    await admin.close()
  }
})

test.run()
