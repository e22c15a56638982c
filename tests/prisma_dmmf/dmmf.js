// Prisma's DMMF of a schema file, as Prisma itself parses it: node dmmf.js FILE.
// Prints the DMMF as JSON; on a schema Prisma refuses, its error on stderr and exit 1.
const { get_dmmf } = require('@prisma/prisma-schema-wasm');
const schema = require('fs').readFileSync(process.argv[2], 'utf8');
try {
  process.stdout.write(get_dmmf(JSON.stringify({ prismaSchema: schema })));
} catch (error) {
  process.stderr.write(String(error.message || error) + '\n');
  process.exit(1);
}
