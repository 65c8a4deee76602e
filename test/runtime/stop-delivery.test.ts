// Found while building the cluster layer: a message sent just before node.stop() is lost
// when the connection to its node is still being dialed. docs/runtime.md says stop()
// "flushes what is queued"; Transport.close() destroys connections that are not open yet,
// with their queued frames. The seed's requestor (send a job, then exit) hits it.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Node } from '../../lib/runtime/index.js'
import { collector, withNodes } from './support.js'

const test = suite('node.stop() delivers what was sent before it')

test('BUG: a message sent just before stop() reaches a node the sender was still connecting to', () =>
  withNodes([{}], async ({ node: receiver }) => {
    const out = collector(receiver)
    const sender = await Node.start()
    sender.send(out.pid, 'sent before stop')
    await sender.stop()
    assert.is(await out.next(2000), 'sent before stop')
  }))

test.run()
