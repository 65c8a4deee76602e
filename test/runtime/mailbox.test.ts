import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Mailbox, NOTHING } from '../../lib/runtime/mailbox.js'

const test = suite('mailbox')

test('takes in arrival order', () => {
  const mailbox = new Mailbox()
  for (let i = 0; i < 3000; i++) mailbox.push(i)
  const out: unknown[] = []
  for (let m = mailbox.take(); m !== NOTHING; m = mailbox.take()) out.push(m)
  assert.equal(out, Array.from({ length: 3000 }, (_, i) => i))
  assert.is(mailbox.size, 0)
})

test('a selective take leaves the other messages in order', () => {
  const mailbox = new Mailbox()
  for (const m of ['a', 1, 'b', 2, 'c']) mailbox.push(m)
  assert.is(mailbox.take(m => typeof m === 'number'), 1)
  assert.is(mailbox.take(m => m === 'nope'), NOTHING)
  assert.is(mailbox.take(m => typeof m === 'number'), 2)
  assert.equal([mailbox.take(), mailbox.take(), mailbox.take(), mailbox.take()], ['a', 'b', 'c', NOTHING])
})

test('discard removes every match', () => {
  const mailbox = new Mailbox()
  for (const m of [1, 2, 3, 4, 5]) mailbox.push(m)
  mailbox.take()
  assert.is(mailbox.discard(m => (m as number) % 2 === 0), 2)
  assert.equal([mailbox.take(), mailbox.take(), mailbox.take()], [3, 5, NOTHING])
})

test('a throwing matcher leaves the mailbox unchanged', () => {
  const mailbox = new Mailbox()
  mailbox.push('x')
  assert.throws(() => mailbox.take(() => {
    throw new Error('bad matcher')
  }), /bad matcher/)
  assert.is(mailbox.take(), 'x')
})

test.run()
