// The zkcloud/recipes entry point as users import it (the bundled package).
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { modulesLoadedBy } from '../support/module-trace.js'

const test = suite('zkcloud/recipes entry')
const root = fileURLToPath(new URL('../../..', import.meta.url))

test('zkcloud/recipes loads the client and the recipes only: no runtime, no msgpackr', () => {
  const loaded = modulesLoadedBy(root, 'zkcloud/recipes')
  assert.ok(loaded.some((u) => u.includes('/dist/pkg/recipes.js')), loaded.join('\n'))
  // Matched below the package root: a checkout's own path may contain these words (a worktree named simcluster).
  assert.equal(loaded.filter((u) => /msgpackr|runtime|cluster/.test(u.replace(pathToFileURL(root).href, ''))), [])
})

test('zkcloud/recipes exports the recipes; zkcloud re-exports them', async () => {
  const recipes = await import('zkcloud/recipes')
  assert.type(recipes.Lock, 'function')
  assert.type(recipes.RecipeError, 'function')
  const all = await import('zkcloud')
  assert.is(all.Lock, recipes.Lock)
  const zk = await import('zkcloud/zk')
  assert.type(zk.ZooKeeper.prototype.mkdirp, 'function')
  assert.type(zk.ZooKeeper.prototype.deleteRecursive, 'function')
})

test('require("zkcloud/recipes") gives the same API to CommonJS', () => {
  const require = createRequire(import.meta.url)
  const recipes = require('zkcloud/recipes') as typeof import('../../lib/recipes/index.js')
  assert.type(recipes.Lock, 'function')
  assert.is(require('zkcloud').Lock, recipes.Lock)
})

test.run()
