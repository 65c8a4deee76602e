import * as assert from 'uvu/assert'
import { ZooKeeper, digestACL } from '../../lib/zk-wire/index.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { cli } from './run-cli.js'
import { MARKER, zkCli, zkCliAvailable, zkCliSeconds, zkCliStat } from './zkcli.js'

/** zkcloud next to ZooKeeper's own zkCli, on the same nodes of a real ZooKeeper 3.8: the same answers. */
const test = await zkSuite('zkcloud and zkCli say the same')

/** zkCli's stat keys and ours. */
const STAT_KEYS: Record<string, string> = {
  cZxid: 'czxid',
  mZxid: 'mzxid',
  pZxid: 'pzxid',
  cversion: 'cversion',
  dataVersion: 'version',
  aclVersion: 'aversion',
  ephemeralOwner: 'ephemeralOwner',
  dataLength: 'dataLength',
  numChildren: 'numChildren',
}

/** Our JSON stat in zkCli's terms: hex zxids and owner, times in seconds. */
function asZkCli(stat: Record<string, string | number>): Record<string, string | number> {
  const hex = (v: string | number): string => `0x${BigInt(v).toString(16)}`
  const out: Record<string, string | number> = {}
  for (const [theirs, ours] of Object.entries(STAT_KEYS)) out[theirs] = /zxid|Owner/i.test(theirs) ? hex(stat[ours]!) : String(stat[ours])
  out.ctime = Math.floor(Number(stat.ctime) / 1000)
  out.mtime = Math.floor(Number(stat.mtime) / 1000)
  return out
}

function zkCliStatAsOurs(text: string): Record<string, string | number> {
  const s = zkCliStat(text)
  const out: Record<string, string | number> = {}
  for (const theirs of Object.keys(STAT_KEYS)) out[theirs] = s[theirs]!
  out.ctime = zkCliSeconds(s.ctime!)
  out.mtime = zkCliSeconds(s.mtime!)
  return out
}

/** zkCli's getAcl lines (`'world,'anyone` then `: cdrwa`) as ours (`world:anyone:cdrwa`). */
function zkCliAcl(text: string): string[] {
  return [...text.matchAll(/^'([^,]*),'(.*)\n: (\w+)$/gm)].map((m) => `${m[1]}:${m[2]}:${m[3]}`)
}

test('get -s, ls, ls -s, ls -R, stat, getAcl, getAllChildrenNumber, whoami, config', async ({ zk: server }) => {
  if (!zkCliAvailable()) return
  const root = chroot('zkcli')
  const admin = await ZooKeeper.connect(server.connectString)
  const host = server.connectString.split(',')[0]!
  try {
    await admin.create(MARKER).catch(() => undefined)
    await admin.create(root, 'top')
    await admin.create(`${root}/b`, 'bee')
    await admin.create(`${root}/a`, 'ay')
    await admin.create(`${root}/a/x`, 'deep')
    await admin.create(`${root}/acl`, 'locked', { acl: [digestACL('alice', 'pw', 31), { perms: 1, id: { scheme: 'world', id: 'anyone' } }] })
    const commands = [
      `get -s ${root}/a`,
      `ls ${root}`,
      `ls -s ${root}`,
      `ls -R ${root}`,
      `stat ${root}/a`,
      `getAcl ${root}/acl`,
      `getAllChildrenNumber ${root}`,
      'whoami',
      'config',
    ]
    const [getS, ls, lsS, lsR, stat, getAcl, count, whoami, config] = await zkCli(host, commands)
    const at = ['--server', host]
    const ours = async (args: string[]): Promise<string> => {
      const r = await cli([...at, ...args])
      assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
      return r.text
    }
    const json = async (args: string[]): Promise<Record<string, never>> => JSON.parse(await ours(['--json', ...args]))

    const got = await json(['get', '-s', `${root}/a`])
    assert.is(getS!.split('\n')[0], got.data)
    assert.equal(zkCliStatAsOurs(getS!), asZkCli(got.stat))
    assert.equal(ls!.trim(), `[${(await ours(['ls', root])).trim().split('\n').join(', ')}]`)
    const listed = await json(['ls', '-s', root])
    assert.equal(lsS!.split('\n')[0], `[${(listed.children as string[]).join(', ')}]`)
    assert.equal(zkCliStatAsOurs(lsS!), asZkCli(listed.stat))
    assert.equal(lsR!.trim().split('\n').sort(), (await ours(['ls', '-R', root])).trim().split('\n').sort())
    assert.equal(zkCliStatAsOurs(stat!), asZkCli((await json(['stat', `${root}/a`])).stat))
    assert.equal(zkCliAcl(getAcl!), (await ours(['getAcl', `${root}/acl`])).trim().split('\n'))
    assert.is(count!.trim(), (await ours(['getAllChildrenNumber', root])).trim())
    assert.equal(whoami!.replace(/^Auth scheme: User\n/, '').trim().split('\n').map((l) => l.replace(': ', ':')), (await ours(['whoami'])).trim().split('\n'))
    assert.is(config!.trim(), (await ours(['config'])).trim())
  } finally {
    await admin.close()
  }
})

test.run()
