// The `kairo` command. Each subcommand lives in its own file; this one only wires them.
import { Command } from 'commander';
import { validateCommand } from './validate.js';
import { renderCommand } from './render.js';
import { schemaCommand } from './schema.js';

const program = new Command();
program.name('kairo').description('One declarative file that turns a Linux box into a router.').version('0.1.0');
program.exitOverride((err) => {
  process.exit(err.exitCode === 0 ? 0 : 1);
});

program.command('validate').argument('<file>', 'site file').description('check a site file; all problems at once').action(validateCommand);
program
  .command('render')
  .argument('<file>', 'site file')
  .option('--out <dir>', 'write each node\'s files under DIR/<node>/')
  .option('--only <what>', 'print one artifact kind to stdout: nftables, sysctl, networkd')
  .option('--node <name>', 'only this node')
  .description('render the files each router needs')
  .action(renderCommand);
program.command('schema').description('print the JSON Schema of the site file (for editors)').action(schemaCommand);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // A stack trace is a bug report, never a user's error message; say so plainly.
  console.error(`kairo: internal error: ${(e as Error).message}\n(this is a bug in kairo; please report it with the site file)`);
  process.exit(1);
}
