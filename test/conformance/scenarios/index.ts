import type { Scenario } from '../harness.js'
import { aclScenarios } from './acl.js'
import { multiScenarios } from './multi.js'
import { nodeScenarios } from './nodes.js'
import { sessionScenarios } from './sessions.js'
import { watchScenarios } from './watches.js'

/** Every hand-written scenario. */
export const scenarios: Scenario[] = [...nodeScenarios, ...multiScenarios, ...aclScenarios, ...watchScenarios, ...sessionScenarios]
