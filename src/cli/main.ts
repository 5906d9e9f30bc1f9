// The `kairo` command. Each subcommand lives in its own file; this one only wires them.
import { Command } from 'commander';
import { validateCommand } from './validate.js';
import { renderCommand } from './render.js';
import { schemaCommand } from './schema.js';
import { applyCommand, confirmCommand, planCommand, rollbackCommand, statusCommand, watchdogCommand, bootCommand } from './apply.js';
import { collect, traceCommand } from './trace.js';
import { diagramCommand } from './diagram.js';
import { exporterCommand } from './exporter.js';
import { logsDropsCommand } from './logs.js';
import { flowsCommand } from './flows.js';
import { labDownCommand, labRunCommand, labScanCommand, labTestCommand, labUpCommand } from './lab.js';

const program = new Command();
program.name('kairo').description('One declarative file that turns a Linux box into a router.').version('0.1.0');
program.exitOverride((err) => {
  process.exit(err.exitCode === 0 ? 0 : 1);
});

program.command('validate').argument('<file>', 'site file').option('--json', 'one JSON document on stdout: ok, diagnostics, nodes (for CI and editors)')
  .description('check a site file; all problems at once').action(validateCommand);
program
  .command('render')
  .argument('<file>', 'site file')
  .option('--out <dir>', 'write each node\'s files under DIR/<node>/')
  .option('--only <what>', 'print one artifact kind to stdout: nftables, sysctl, networkd')
  .option('--node <name>', 'only this node')
  .description('render the files each router needs')
  .action(renderCommand);
const lab = program.command('lab').description('prove the site on a real kernel, in network namespaces (root)');
lab.command('up').argument('<file>').description('build the topology and apply the rendered files').action(labUpCommand);
lab.command('test').argument('<file>').description("run the site's lab checks (brings the lab up and down if it is not running)").action(labTestCommand);
lab.command('scan').argument('<file>').description('nmap from the ISP side; compare open ports with what the site declares').action(labScanCommand);
lab.command('down').argument('[file]').option('--all', 'remove every lab namespace (after a crash)').description('remove what up made').action(labDownCommand);
lab.command('run').argument('<file>').description('up, test, down: the whole proof in one go').action(labRunCommand);
program
  .command('trace')
  .argument('<file>', 'site file')
  .option('--iif <dev>', 'input device the packet arrives on')
  .option('--from <zone>', 'arrive on the first device of this zone (instead of --iif)')
  .requiredOption('--src <addr>', 'source address')
  .requiredOption('--dst <addr>', 'destination address')
  .requiredOption('--proto <proto>', 'tcp, udp, icmp, icmpv6, vrrp, ipip, esp, ...')
  .option('--sport <port>', 'source port')
  .option('--dport <port>', 'destination port')
  .option('--icmp-type <type>', "icmp type by its nft name, e.g. echo-request")
  .option('--state <state>', 'conntrack state: new, established, related, invalid', 'new')
  .option('--node <name>', 'node to trace on (default: the first)')
  .option('--local <addr>', 'an address the router holds dynamically (DHCP, SLAAC); repeatable', collect, [])
  .option('--json', 'print the trace as JSON')
  .description('show which rule decides a packet, offline; exit 0 accept, 3 drop or reject')
  .action(traceCommand);
const targetHelp = 'host (default), lab:NODE or lab:SITE:NODE (a router of a running lab), netns:NAME:ROOT or dir:PATH';
program.command('plan').argument('<file>').option('--target <spec>', targetHelp).option('--node <name>')
  .option('--diff', 'after the summary, the differences file by file, line by line').option('--json', 'the summary, the items and every change with its diff, as JSON')
  .option('--detailed-exitcode', 'exit 2 when there are changes')
  .description('what apply would change, against the live target').action(planCommand);
program.command('apply').argument('<file>').option('--target <spec>', targetHelp).option('--node <name>')
  .option('--confirm <duration>', 'revert unless `kairo confirm` runs within this time (e.g. 2m)')
  .option('--health-cmd <command>', 'a command run on the target after apply; failure reverts')
  .option('--wait <duration>', 'wait this long for another transaction to finish')
  .description('apply as one transaction; any failure reverts to the previous generation').action(applyCommand);
program.command('confirm').option('--target <spec>', targetHelp).description('keep a commit-confirm apply').action(confirmCommand);
program.command('rollback').argument('[generation]').option('--target <spec>', targetHelp).option('--wait <duration>').description('return to an earlier generation (default: the previous one)').action(rollbackCommand);
program.command('status').option('--target <spec>', targetHelp).option('--json').description('live generation, pending confirm, generations').action(statusCommand);
program.command('boot').description('at start-up (kairo-boot.service): the last confirmed generation, its ruleset, then forwarding').action(bootCommand);
program.command('_watchdog', { hidden: true }).requiredOption('--target <spec>').action(watchdogCommand);
const logs = program.command('logs').description("what the router's daemons log, with the site's names");
logs.command('drops').option('--target <spec>', targetHelp).option('-f, --follow', 'keep printing new lines').option('--since <when>', 'only lines after this: 10m, 2h, 1d, or a date')
  .option('--json', 'one JSON object a line')
  .description('the drop log: time, devices, addresses, protocol and port, zone pair, and the rule or policy (config path) that dropped it').action(logsDropsCommand);
program.command('diagram').argument('<file>', 'site file').option('--out <file>', 'write the SVG (or DOT) here instead of stdout').option('--dot', 'print the Graphviz source instead of SVG')
  .description('draw the site as SVG: nodes, links, zones, addresses, uplinks, published services').action(diagramCommand);
program.command('exporter').requiredOption('--config <file>', 'the exporter file kairo renders (/etc/kairo/exporter.json)')
  .description('serve Prometheus metrics (run by kairo-exporter.service)').action(exporterCommand);
program.command('flows').option('--target <spec>', 'host (default), lab:NODE or lab:SITE:NODE').option('--top <n>', 'this many flows (or talkers), most bytes first', '20')
  .option('--host <addr>', 'only flows from or to this address').option('--port <port>', 'only flows from or to this port').option('--since <time>', 'only flows seen in this last while, e.g. 10m')
  .option('--talkers', 'bytes per address (sent and received) instead of single flows').option('--json', 'print as JSON')
  .description("the local flow collector's records (flows: local), through nfdump").action(flowsCommand);
program.command('schema').description('print the JSON Schema of the site file (for editors)').action(schemaCommand);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // A stack trace is a bug report, never a user's error message; say so plainly.
  console.error(`kairo: internal error: ${(e as Error).message}\n(this is a bug in kairo; please report it with the site file)`);
  process.exit(1);
}
