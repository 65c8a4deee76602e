import type { Command } from './command.js'
import { demo } from './demo.js'
import { devServer } from './dev-server-command.js'
import { create, get, ls, rm, set, stat, tree, watch } from './zk-commands.js'

/**
 * Every `zkcloud` subcommand, in the order `help` lists them. To add one
 * (`demo`, say), write a {@link Command} in its own file and add it here.
 */
export const commands = new Map<string, Command>([
  ['ls', ls],
  ['get', get],
  ['set', set],
  ['create', create],
  ['rm', rm],
  ['stat', stat],
  ['tree', tree],
  ['watch', watch],
  ['dev-server', devServer],
  ['demo', demo],
])
