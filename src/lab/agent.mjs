#!/usr/bin/env node
// The lab's traffic agent. It runs inside lab namespaces, so it is plain JavaScript with no
// dependencies: it starts in ~40 ms, where the TypeScript loader would take ~300 ms per probe.
//
//   agent.mjs serve NAME tcp:80 udp:53 ...   answer every TCP connection / UDP datagram with one
//                                             JSON line saying who answered and whom it saw
//   agent.mjs probe tcp|udp HOST PORT [MS] [BIND]   connect / send (from BIND), print what came back as JSON
//   agent.mjs dns SERVER NAME A|AAAA|PTR [BIND]   one DNS query (PTR: NAME is an address), print the answer as JSON
//   agent.mjs hold HOST PORT SECONDS          keep one TCP connection to an echo:PORT server busy
//                                             (a line every 100 ms) and report whether it ever broke
//
// What a server saw is the observation the lab checks need: which namespace answered, on which
// address, and the source address after NAT.
import net from 'node:net';
import dgram from 'node:dgram';
import dns from 'node:dns';

const [, , cmd, ...args] = process.argv;

function serve(name, specs) {
  const hello = (local, peer) => JSON.stringify({ server: name, local, peer }) + '\n';
  const fmt = (a, p) => (a.includes(':') ? `[${a.replace(/^::ffff:/, '')}]:${p}` : `${a}:${p}`).replace(/^\[(\d+\.\d+\.\d+\.\d+)\]/, '$1');
  for (const spec of specs) {
    const [proto, portText] = spec.split(':');
    const port = Number(portText);
    if (proto === 'echo') {
      const srv = net.createServer((sock) => {
        sock.on('error', () => {});
        sock.pipe(sock);
      });
      srv.on('error', (e) => console.error(`${name}: echo ${port}: ${e.message}`));
      srv.listen({ port, host: '::', ipv6Only: false });
    } else if (proto === 'tcp') {
      const srv = net.createServer((sock) => {
        sock.on('error', () => {});
        sock.end(hello(fmt(sock.localAddress ?? '', sock.localPort), fmt(sock.remoteAddress ?? '', sock.remotePort)));
      });
      srv.on('error', (e) => console.error(`${name}: tcp ${port}: ${e.message}`));
      srv.listen({ port, host: '::', ipv6Only: false });
    } else if (proto === 'udp') {
      for (const type of ['udp4', 'udp6']) {
        const s = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
        s.on('error', (e) => console.error(`${name}: ${type} ${port}: ${e.message}`));
        // Reply from the address the datagram was sent to: bind per family on the wildcard, and
        // report the local port; the local address is filled in by the prober's view.
        s.on('message', (_msg, rinfo) => {
          const local = fmt(type === 'udp4' ? '0.0.0.0' : '::', port);
          s.send(hello(local, fmt(rinfo.address, rinfo.port)), rinfo.port, rinfo.address);
        });
        s.bind(port, type === 'udp4' ? '0.0.0.0' : '::');
      }
    }
  }
  console.log(`${name}: serving ${specs.join(' ')}`);
}

function done(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

function probe(proto, host, port, ms, bind) {
  const t0 = Date.now();
  const timer = setTimeout(() => done({ outcome: 'timeout', ms: Date.now() - t0 }), ms);
  const answered = (text) => {
    clearTimeout(timer);
    try {
      done({ outcome: 'answer', ms: Date.now() - t0, ...JSON.parse(text.split('\n')[0]) });
    } catch {
      done({ outcome: 'answer', ms: Date.now() - t0, raw: text.slice(0, 200) });
    }
  };
  if (proto === 'tcp') {
    let buf = '';
    const sock = net.connect({ host, port, ...(bind ? { localAddress: bind } : {}) });
    sock.on('data', (d) => (buf += d));
    sock.on('end', () => answered(buf));
    sock.on('error', (e) => {
      clearTimeout(timer);
      // ECONNREFUSED = a TCP reset (router reject or nothing listening); EHOSTUNREACH/ENETUNREACH = ICMP.
      done({ outcome: e.code === 'ECONNREFUSED' ? 'refused' : 'unreachable', error: e.code, ms: Date.now() - t0 });
    });
  } else {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.on('message', (m) => answered(String(m)));
    s.on('error', (e) => {
      clearTimeout(timer);
      done({ outcome: e.code === 'ECONNREFUSED' ? 'refused' : 'unreachable', error: e.code, ms: Date.now() - t0 });
    });
    // connect() so ICMP port/admin unreachable comes back as an error instead of silence.
    const go = () => s.connect(port, host, () => s.send('kairo-lab probe'));
    if (bind) s.bind(0, bind, go);
    else go();
  }
}

// The DNS status behind each error code c-ares gives: NXDOMAIN is an answer of its own.
const RCODES = { ENOTFOUND: 'nxdomain', EREFUSED: 'refused', ESERVFAIL: 'servfail', ENODATA: 'nodata' };

function query(server, name, type, bind) {
  const r = new dns.promises.Resolver({ timeout: 1000, tries: 2 });
  r.setServers([server.includes(':') ? `[${server}]` : server]);
  if (bind) r.setLocalAddress(...(bind.includes(':') ? ['0.0.0.0', bind] : [bind]));
  (type === 'PTR' ? r.reverse(name) : type === 'AAAA' ? r.resolve6(name) : r.resolve4(name)).then(
    (addresses) => done({ outcome: 'answer', server: 'dns', addresses }),
    (e) => done(e.code === 'ETIMEOUT' ? { outcome: 'timeout', error: e.code } : RCODES[e.code] ? { outcome: 'answer', server: 'dns', rcode: RCODES[e.code], addresses: [] } : { outcome: 'error', error: e.code }),
  );
}

function hold(host, port, seconds) {
  let sent = 0;
  let received = 0;
  let buf = '';
  let broken = '';
  const sock = net.connect({ host, port });
  sock.setNoDelay(true);
  sock.on('data', (d) => {
    buf += d;
    received += buf.split('\n').length - 1;
    buf = buf.slice(buf.lastIndexOf('\n') + 1);
  });
  sock.on('error', (e) => (broken ||= e.code ?? e.message));
  sock.on('close', () => (broken ||= 'closed'));
  sock.on('connect', () => {
    console.log(JSON.stringify({ event: 'connected' }));
    const t = setInterval(() => {
      if (!broken) sock.write(`ping ${++sent}\n`);
    }, 100);
    setTimeout(() => {
      clearInterval(t);
      // Give the last echoes a moment, then report.
      setTimeout(() => done({ outcome: broken ? 'broken' : 'held', sent, received, broken }), 300);
    }, seconds * 1000);
  });
}

if (cmd === 'serve') serve(args[0], args.slice(1));
else if (cmd === 'hold') hold(args[0], Number(args[1]), Number(args[2]));
else if (cmd === 'probe') probe(args[0], args[1], Number(args[2]), Number(args[3] ?? 1500), args[4]);
else if (cmd === 'dns') query(args[0], args[1], args[2] ?? 'A', args[3]);
else {
  console.error('usage: agent.mjs serve NAME tcp:PORT udp:PORT ... | probe tcp|udp HOST PORT [MS]');
  process.exit(2);
}
