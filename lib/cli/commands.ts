import { addauth, getAcl, setAcl, whoami } from './acl-commands.js'
import { clusterCommand } from './cluster-status.js'
import type { Command } from './command.js'
import { deleteCommand, deleteall, rm } from './delete-commands.js'
import { demo } from './demo.js'
import { devServer } from './dev-server-command.js'
import { cp, exportCommand, importCommand } from './dump-commands.js'
import { config, getAllChildrenNumber, getConfig, getEphemerals } from './info-commands.js'
import { create, get, ls, set, stat, sync } from './node-commands.js'
import { tree } from './tree.js'
import { removewatches, watch } from './watch-commands.js'

/**
 * Every `zkcloud` subcommand, in the order `help` lists them. To add one,
 * write a {@link Command} in a file of its kind and add it here.
 */
export const commands = new Map<string, Command>([
  ['ls', ls],
  ['get', get],
  ['set', set],
  ['create', create],
  ['rm', rm],
  ['delete', deleteCommand],
  ['deleteall', deleteall],
  ['stat', stat],
  ['tree', tree],
  ['watch', watch],
  ['sync', sync],
  ['getAcl', getAcl],
  ['setAcl', setAcl],
  ['addauth', addauth],
  ['whoami', whoami],
  ['getEphemerals', getEphemerals],
  ['getAllChildrenNumber', getAllChildrenNumber],
  ['config', config],
  ['getConfig', getConfig],
  ['removewatches', removewatches],
  ['cp', cp],
  ['export', exportCommand],
  ['import', importCommand],
  ['cluster', clusterCommand],
  ['dev-server', devServer],
  ['demo', demo],
])
