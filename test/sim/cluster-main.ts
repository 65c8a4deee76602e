/** The cluster world's command line and regressions: `npm run sim -- --world cluster …` (see world-cli.ts). */
import { describeClusterFault, runClusterSeed } from './cluster-world.js'
import { worldCli } from './world-cli.js'

export const clusterCli = worldCli({
  name: 'cluster',
  run: runClusterSeed,
  describe: describeClusterFault,
  defaultSeeds: 1000,
  tally: { label: 'elections', of: (result) => result.stats.elections },
})
