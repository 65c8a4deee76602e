import * as assert from 'uvu/assert'
import { test } from 'uvu'
import { hideElectionAddress } from './quorum-links.js'

function initialMessage(version: bigint, sid: bigint, address: string): Buffer {
  const text = Buffer.from(address, 'utf8')
  const head = Buffer.alloc(20)
  head.writeBigInt64BE(version, 0)
  head.writeBigInt64BE(sid, 8)
  head.writeInt32BE(text.length, 16)
  return Buffer.concat([head, text])
}

test('an election connection announces a wildcard address instead of its own, so the peer dials back through its proxy', () => {
  const rest = Buffer.from([1, 2, 3])
  const out = hideElectionAddress(Buffer.concat([initialMessage(-65536n, 1n, '127.0.0.1:40123'), rest]))
  assert.equal(out, Buffer.concat([initialMessage(-65536n, 1n, '0.0.0.0:40123'), rest]))
  assert.equal(hideElectionAddress(initialMessage(-65535n, 2n, '127.0.0.1:1|127.0.0.2:2')), initialMessage(-65535n, 2n, '0.0.0.0:1|0.0.0.0:2'))
})

test('it waits for the whole initial message, and leaves the old protocol (a bare id) alone', () => {
  const whole = initialMessage(-65536n, 1n, '127.0.0.1:40123')
  for (let cut = 0; cut < whole.length; cut++) assert.is(hideElectionAddress(whole.subarray(0, cut)), null, `${cut} bytes`)
  const bare = Buffer.alloc(8)
  bare.writeBigInt64BE(3n)
  assert.equal(hideElectionAddress(bare), bare)
})

test.run()
