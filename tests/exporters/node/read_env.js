'use strict'
// Read an exported file with one real Node reader and write the variables it sees as JSON.
//   node read_env.js dotenv|dotenvx|json FILE OUT PREFIX
//   node --env-file=FILE read_env.js env-file FILE OUT PREFIX
//   node --env-file=FILE read_env.js all FILE OUT PREFIX   (the three dotenv readers at once)
// dotenv and dotenvx are loaded from $ENVMAN_NODE_TOOLS (see install.sh).
const fs = require('fs')
const path = require('path')
const { createRequire } = require('module')

const [reader, file, out, prefix] = process.argv.slice(2)

function tool (name) {
  return createRequire(path.join(process.env.ENVMAN_NODE_TOOLS, 'package.json'))(name)
}

const readers = {
  dotenv () {
    // What dotenv.config() would put into process.env, into a fresh object instead.
    const result = {}
    const { error } = tool('dotenv').config({ path: file, processEnv: result, quiet: true })
    if (error) throw error
    return result
  },
  dotenvx () {
    // dotenvx's parse: expansion and command substitution run against an empty environment.
    return tool('@dotenvx/dotenvx').parse(fs.readFileSync(file), { processEnv: {} })
  },
  'env-file' () {
    // Loaded by node itself before this script started (--env-file).
    const result = {}
    for (const [key, value] of Object.entries(process.env)) {
      if (key.startsWith(prefix)) result[key] = value
    }
    return result
  },
  json () {
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  }
}

let result
if (reader === 'all') {
  result = { dotenv: readers.dotenv(), dotenvx: readers.dotenvx(), 'env-file': readers['env-file']() }
} else if (reader in readers) {
  result = readers[reader]()
} else {
  throw new Error(`unknown reader ${reader}`)
}
fs.writeFileSync(out, JSON.stringify(result))
