import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Admission } from '../../lib/runtime/transport/admission.js'

const test = suite('admission of unauthenticated connections')

/** Admits `count` connections named `${prefix}0…` from `address`. */
function admit(admission: Admission<string>, prefix: string, count: number, address = '10.0.0.1'): string[] {
  return Array.from({ length: count }, (_, i) => {
    admission.admit(`${prefix}${i}`, address)
    return `${prefix}${i}`
  })
}

test('under the bounds nothing is shed', () => {
  const admission = new Admission<string>({ total: 10, perAddress: 5 })
  admit(admission, 'a', 5)
  admit(admission, 'b', 5, '10.0.0.2')
  assert.equal(admission.shed(), { victims: [], again: false })
  assert.is(admission.size, 10)
})

test('over the per-address bound the oldest silent connections of that address go, not those of others', () => {
  const admission = new Admission<string>({ total: 100, perAddress: 3 })
  admit(admission, 'other', 3, '10.0.0.2')
  admit(admission, 'old', 5)
  admission.shed() // a turn passes: all have had a chance to say hello
  admit(admission, 'new', 1)
  assert.equal(admission.shed(), { victims: ['old0', 'old1', 'old2'], again: false })
  assert.is(admission.size, 6)
})

test('over the total bound the oldest silent connections go, whatever their address', () => {
  const admission = new Admission<string>({ total: 4, perAddress: 100 })
  admit(admission, 'a', 2, '10.0.0.1')
  admit(admission, 'b', 2, '10.0.0.2')
  assert.equal(admission.shed().victims, [])
  admit(admission, 'c', 2, '10.0.0.3')
  assert.equal(admission.shed().victims, ['a0', 'a1'])
})

test('connections admitted in this turn are kept for one turn, then shed if still silent', () => {
  const admission = new Admission<string>({ total: 100, perAddress: 2 })
  admit(admission, 'x', 5)
  assert.equal(admission.shed(), { victims: [], again: true })
  admission.greeted('x4')
  assert.equal(admission.shed(), { victims: ['x0', 'x1', 'x2'], again: false })
  assert.is(admission.size, 2)
})

test('a greeted connection outlives any number of silent ones, older or newer', () => {
  const admission = new Admission<string>({ total: 8, perAddress: 4 })
  admit(admission, 'old', 4)
  admission.shed()
  admission.admit('peer', '10.0.0.1')
  admission.shed()
  admission.greeted('peer')
  for (let turn = 0; turn < 50; turn++) {
    admit(admission, `flood${turn}-`, 20)
    const { victims } = admission.shed()
    assert.not.ok(victims.includes('peer'), `turn ${turn}`)
  }
  admission.release('peer')
  assert.is(admission.shed().victims.length > 0, true)
})

test('only when greeted connections alone exceed a bound are the oldest of them shed', () => {
  const admission = new Admission<string>({ total: 100, perAddress: 2 })
  const [first, second, third] = admit(admission, 'g', 3)
  for (const item of [first, second, third]) admission.greeted(item as string)
  assert.equal(admission.shed(), { victims: ['g0'], again: false })
})

test('released connections no longer count', () => {
  const admission = new Admission<string>({ total: 2, perAddress: 2 })
  admit(admission, 'a', 3)
  admission.release('a0')
  admission.release('a1')
  admission.shed()
  assert.equal(admission.shed(), { victims: [], again: false })
  assert.is(admission.size, 1)
})

test.run()
