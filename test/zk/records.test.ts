import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Code, ZkError, type ZkErrorName } from '../../lib/zk-wire/errors.js'
import { JuteReader, JuteWriter } from '../../lib/zk-wire/jute.js'
import { readStat, writeStat, type Stat, type StatJson } from '../../lib/zk-wire/records.js'

const test = suite('public record types tell the truth: Stat and ZkError')

const fields: Stat = {
  czxid: 0x1_0000_0002n,
  mzxid: 0x7fff_ffff_0000_0001n, // epoch in the top 32 bits: past 2^53, a number would round it
  ctime: 1_700_000_000_000,
  mtime: 1_700_000_000_001,
  version: 2,
  cversion: 4,
  aversion: 0,
  ephemeralOwner: 0x0100_003a_3c8c_0001n, // server id 1 in the top byte
  dataLength: 5,
  numChildren: 0,
  pzxid: 9n,
}

function decoded(): Stat {
  const w = new JuteWriter()
  writeStat(w, fields)
  return readStat(new JuteReader(w.take()))
}

test('a Stat read off the wire JSON-serialises: 64-bit ids as exact decimal strings, times as numbers', () => {
  const json = JSON.parse(JSON.stringify(decoded())) as StatJson
  assert.equal(json, {
    czxid: '4294967298',
    mzxid: '9223372032559808513',
    ctime: 1_700_000_000_000,
    mtime: 1_700_000_000_001,
    version: 2,
    cversion: 4,
    aversion: 0,
    ephemeralOwner: '72057844161839105',
    dataLength: 5,
    numChildren: 0,
    pzxid: '9',
  })
  assert.is(BigInt(json.mzxid), fields.mzxid, 'BigInt(text) reads a zxid back exactly')
  assert.is(BigInt(json.ephemeralOwner), fields.ephemeralOwner)
})

test('times are epoch milliseconds: new Date(stat.mtime) is that instant', () => {
  const stat = decoded()
  assert.is(new Date(stat.mtime).toISOString(), '2023-11-14T22:13:20.001Z')
  assert.type(stat.ctime, 'number')
})

test('a Stat is still the plain object it looks like (toJSON is not an own or enumerable field)', () => {
  const stat = decoded()
  assert.equal(stat, fields)
  assert.equal(Object.keys(stat), Object.keys(fields))
  assert.equal({ ...stat }, fields)
})

test('ZkError.name is the code name, typed as the union of them', () => {
  const err = new ZkError(Code.NONODE, { op: 'getData', path: '/a' })
  const name: ZkErrorName = err.name
  assert.is(name, 'NONODE')
  // @ts-expect-error a name that is no code: the compiler refuses the comparison (it would accept it if name were a string)
  assert.not.ok(err.name === 'NO_SUCH_NODE')
  assert.is(new ZkError(-9999).name, 'UNKNOWN(-9999)')
})

test.run()
