import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { digestIdentity, userOf } from '../../lib/dev-server/acl-check.js'
import { AuthInfo } from '../../lib/dev-server/auth-info.js'

const test = suite('identities of a connection')

function whoAmI(users: string[]): string[] {
  const info = new AuthInfo('127.0.0.1')
  for (const u of users) info.add({ scheme: 'digest', id: digestIdentity(u) })
  return [...info].map((id) => `${id.scheme} ${userOf(id)}`)
}

test('digest identities are user:base64(sha1(credentials)), as ZooKeeper derives them', () => {
  assert.is(digestIdentity('bob:pw'), 'bob:ikIaKsbtGweaHnb/jKn7OHqbunM=')
  assert.is(digestIdentity('nocolon').split(':')[0], 'nocolon')
  assert.is(digestIdentity('a:b:c').split(':')[0], 'a')
})

test('iteration follows ZooKeeper’s ConcurrentHashMap order (recorded with whoAmI from 3.8.0)', () => {
  assert.equal(whoAmI(['zed:pw', 'alice:pw', 'bob:pw', 'carol:pw', 'dave:pw', 'eve:pw', 'x:pw', 'yy:pw', 'nocolon']), [
    'digest bob',
    'digest x',
    'digest carol',
    'digest nocolon',
    'digest zed',
    'digest yy',
    'digest dave',
    'ip 127.0.0.1',
    'digest alice',
    'digest eve',
  ])
})

test('the order after the table grows past 12 entries matches too (recorded from 3.8.0)', () => {
  const users = ['user0a', 'user7b', 'user1c', 'user8d', 'user2e', 'user9f', 'user3g', 'user10h', 'user4i', 'user11j', 'user5k', 'user12l', 'user6m', 'user0n', 'user7o', 'user1p']
  assert.equal(whoAmI(users.map((u) => `${u}:pw`)), [
    'digest user1c',
    'digest user1p',
    'digest user11j',
    'digest user7b',
    'digest user9f',
    'digest user10h',
    'digest user8d',
    'digest user3g',
    'ip 127.0.0.1',
    'digest user0a',
    'digest user4i',
    'digest user2e',
    'digest user12l',
    'digest user5k',
    'digest user0n',
    'digest user7o',
    'digest user6m',
  ])
})

test('adding an identity twice keeps one', () => {
  assert.equal(whoAmI(['bob:pw', 'bob:pw', 'bob:other']).length, 3)
})

test.run()
