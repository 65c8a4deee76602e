import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Layout, nameProblem, parseCandidate, sortCandidates, validateName } from '../../lib/cluster/paths.js'
import { NodeId, ProcessId } from '../../lib/runtime/index.js'

const test = suite('znode layout and names')

test('the layout of DESIGN.md under the prefix', () => {
  const layout = new Layout('/zkcloud')
  const node = new NodeId('127.0.0.1', 4000, 7)
  const pid = new ProcessId(node, 3)
  assert.is(layout.node(node), '/zkcloud/nodes/127.0.0.1:4000:7')
  assert.is(layout.service('worker'), '/zkcloud/services/worker')
  assert.is(layout.member('worker', pid), '/zkcloud/services/worker/127.0.0.1:4000:7:3')
  assert.is(layout.candidates('boss'), '/zkcloud/global/boss')
  assert.is(layout.candidatePrefix('boss', 'g'), '/zkcloud/global/boss/g-n_')
})

test('the default prefix is /zkcloud; "/" is allowed (with a chroot)', () => {
  assert.is(new Layout().root, '/zkcloud')
  assert.is(new Layout('/').nodes, '/nodes')
  assert.is(new Layout('/a/b').global, '/a/b/global')
})

test('bad prefixes are refused', () => {
  for (const prefix of ['', 'zkcloud', '/zkcloud/', '/a//b', '/a/../b', '/a\u0000']) {
    assert.throws(() => new Layout(prefix), (e: Error) => e instanceof TypeError && /invalid prefix/.test(e.message), prefix)
  }
})

test('names: non-empty, no "/", not "." or "..", no characters ZooKeeper refuses', () => {
  for (const good of ['worker', 'zk:worker', 'a.b', 'with space', 'ünïcode', '...']) assert.is(nameProblem(good), null, good)
  assert.is(nameProblem(''), 'empty')
  assert.is(nameProblem('a/b'), 'contains "/"')
  assert.is(nameProblem('.'), '"." is reserved')
  assert.is(nameProblem('..'), '".." is reserved')
  assert.ok(nameProblem('tab\there'))
  assert.ok(nameProblem('nul\u0000'))
  assert.is(nameProblem(42), 'not a string')
  assert.throws(() => validateName('service', 'a/b'), /invalid service "a\/b": contains "\/"/)
  assert.throws(() => validateName('global name', ''), /invalid global name "": empty/)
})

test('candidate names: guid and sequence read back; others ignored', () => {
  assert.equal(parseCandidate('0f8e-n_0000000012'), { child: '0f8e-n_0000000012', guid: '0f8e', seq: 12 })
  assert.equal(parseCandidate('a-n_b-n_0000000003')?.guid, 'a-n_b')
  assert.is(parseCandidate('n_0000000001'), null)
  assert.is(parseCandidate('-n_0000000001'), null)
  assert.is(parseCandidate('x-n_'), null)
  assert.is(parseCandidate('x-n_12a'), null)
  assert.is(parseCandidate('lock-0000000001'), null)
})

test('candidates sort by sequence number, not by name', () => {
  const sorted = sortCandidates(['zz-n_0000000002', 'junk', 'aa-n_0000000010', 'mm-n_0000000001'])
  assert.equal(sorted.map(c => c.seq), [1, 2, 10])
})

test.run()
