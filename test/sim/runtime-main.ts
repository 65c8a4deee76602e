/** The runtime world's command line and regressions: `npm run sim -- --world runtime …` (see world-cli.ts). */
import { describeRuntimeFault, runRuntimeSeed } from './runtime-world.js'
import { worldCli } from './world-cli.js'

export const runtimeCli = worldCli({
  name: 'runtime',
  run: runRuntimeSeed,
  describe: describeRuntimeFault,
  defaultSeeds: 100,
  tally: { label: 'messages sent', of: (result) => result.stats.sent },
})
