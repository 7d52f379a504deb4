import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EGRESS_PATTERN_SOURCE, EgressPolicy, normalizeAddress, parseEgressPattern } from './index.js';

describe('egress policy', () => {
  const open = new EgressPolicy([], []);

  test('public addresses are allowed; special ones are denied with their reason', () => {
    assert.equal(open.check('example.com', 443, '93.184.215.14'), null);
    assert.equal(open.check('example.com', 443, '2606:2800:21f:cb07:6820:80da:af6b:8b2c'), null);
    const cases: [string, string][] = [
      ['127.0.0.1', 'loopback address'],
      ['127.255.0.9', 'loopback address'],
      ['::1', 'loopback address'],
      ['10.1.2.3', 'private address'],
      ['172.16.0.1', 'private address'],
      ['172.31.255.255', 'private address'],
      ['192.168.1.1', 'private address'],
      ['fd12:3456::1', 'private address'],
      ['fc00::1', 'private address'],
      ['169.254.10.10', 'link-local address'],
      ['fe80::1%eth0', 'link-local address'],
      ['169.254.169.254', 'cloud metadata address'],
      ['fd00:ec2::254', 'cloud metadata address'],
      ['0.0.0.0', 'unspecified address'],
      ['0.1.2.3', 'unspecified address'],
      ['::', 'unspecified address'],
      ['100.64.0.1', 'shared (CGNAT) address'],
      ['100.127.255.254', 'shared (CGNAT) address'],
      ['224.0.0.1', 'multicast address'],
      ['255.255.255.255', 'reserved address'],
      // IPv4 inside IPv6 reaches the IPv4 address.
      ['::ffff:127.0.0.1', 'loopback address'],
      ['::ffff:7f00:1', 'loopback address'],
      ['::ffff:169.254.169.254', 'cloud metadata address'],
      ['::ffff:a9fe:a9fe', 'cloud metadata address'],
      ['::ffff:10.0.0.1', 'private address'],
      ['64:ff9b::192.168.0.1', 'private address'],
      ['::127.0.0.1', 'loopback address'],
      ['64:ff9b::7f00:1', 'loopback address'],
      // 6to4 and Teredo route to the IPv4 address they carry.
      ['2002:7f00:1::1', 'loopback address'],
      ['2002:7fff:ffff::', 'loopback address'],
      ['2002:a9fe:a9fe::1', 'cloud metadata address'],
      ['2002:c0a8:101::1', 'private address'],
      ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback address'],
      ['2001:0:4136:e378:8000:63bf:f5ff:fffe', 'private address'],
      ['64:ff9b:1::a00:1', 'reserved address'],
    ];
    for (const [address, reason] of cases) assert.equal(open.check('h', 80, address), reason, address);
    assert.equal(open.check('h', 80, '172.32.0.1'), null);
    assert.equal(open.check('h', 80, '100.128.0.1'), null);
    assert.equal(open.check('h', 80, '::ffff:8.8.8.8'), null);
    assert.equal(open.check('h', 80, '2002:808:808::1'), null);
    assert.equal(open.check('h', 80, '2001:0:4136:e378:8000:63bf:f7f7:f7f7'), null);
    assert.equal(open.check('h', 80, 'not-an-ip'), 'not an IP address');
  });

  test('normalizeAddress unwraps IPv4-mapped addresses', () => {
    assert.deepEqual(normalizeAddress('::ffff:c0a8:0101'), { address: '192.168.1.1', family: 'ipv4' });
    assert.deepEqual(normalizeAddress('::1'), { address: '::1', family: 'ipv6' });
    assert.equal(normalizeAddress('example.com'), null);
  });

  test("a function's allow list opens named hosts, suffixes, addresses, CIDRs and ports", () => {
    const policy = new EgressPolicy(
      ['127.0.0.1:9999', 'db.internal', '*.corp.example:8443', '10.1.0.0/16', '[::1]:7000', '[fd00::]/8:*'],
      [],
    );
    assert.equal(policy.check('127.0.0.1', 9999, '127.0.0.1'), null);
    assert.equal(policy.check('127.0.0.1', 9998, '127.0.0.1'), 'loopback address');
    // An address pattern covers names that resolve to it.
    assert.equal(policy.check('localhost', 9999, '127.0.0.1'), null);
    assert.equal(policy.check('localhost', 9999, '::1'), 'loopback address');
    assert.equal(policy.check('db.internal', 5000, '10.9.9.9'), null);
    assert.equal(policy.check('DB.Internal.', 5000, '10.9.9.9'), null);
    assert.equal(policy.check('x.db.internal', 5000, '10.9.9.9'), 'private address');
    assert.equal(policy.check('a.b.corp.example', 8443, '192.168.0.5'), null);
    assert.equal(policy.check('corp.example', 8443, '192.168.0.5'), 'private address');
    assert.equal(policy.check('a.corp.example', 443, '192.168.0.5'), 'private address');
    assert.equal(policy.check('h', 1, '10.1.200.3'), null);
    assert.equal(policy.check('h', 1, '10.2.0.1'), 'private address');
    assert.equal(policy.check('h', 7000, '::1'), null);
    assert.equal(policy.check('h', 1, 'fd99::1'), null);
    // The allow list never opens the metadata address by accident of a broad pattern elsewhere.
    assert.equal(policy.check('h', 80, '169.254.169.254'), 'cloud metadata address');
  });

  test("the node's deny list wins over the allow list and covers public addresses too", () => {
    const policy = new EgressPolicy(['127.0.0.1', '*'], ['*:4222', '*:5432', 'nats.example.com']);
    assert.equal(policy.check('127.0.0.1', 8080, '127.0.0.1'), null);
    assert.equal(
      policy.check('127.0.0.1', 4222, '127.0.0.1'),
      "reserved for the node's own services (*:4222)",
    );
    assert.equal(
      policy.check('db.example.com', 5432, '93.184.215.14'),
      "reserved for the node's own services (*:5432)",
    );
    assert.equal(
      policy.check('nats.example.com', 443, '93.184.215.14'),
      "reserved for the node's own services (nats.example.com)",
    );
  });

  test('pattern syntax: valid and invalid patterns, in the parser and in the API regex', () => {
    const regex = new RegExp(EGRESS_PATTERN_SOURCE);
    const valid = [
      '*',
      '*:80',
      'example.com',
      'EXAMPLE.com:443',
      '*.example.com',
      '127.0.0.1:9999',
      '10.0.0.0/8',
      '[::1]',
      '[fd00::]/8:5432',
      'localhost:*',
      'host.',
    ];
    for (const p of valid) {
      assert.ok(regex.test(p), `regex: ${p}`);
      assert.doesNotThrow(() => parseEgressPattern(p), p);
    }
    const invalid = [
      '',
      'http://example.com',
      'example.com/path',
      'a b',
      '*.',
      '::1',
      '[::1',
      'host:0',
      'host:70000',
      '10.0.0.0/33',
      '[::1]/129',
      '1.2.3/8',
      'ex*ample.com',
    ];
    for (const p of invalid) assert.throws(() => parseEgressPattern(p), /invalid egress pattern/, p);
    // The regex (the API's check) rejects them too, except what only parsing the address finds.
    assert.deepEqual(
      invalid.filter((p) => regex.test(p)),
      ['1.2.3/8'],
    );
    assert.ok(regex.test('[1:2:3]'));
    assert.throws(() => parseEgressPattern('[1:2:3]'), /invalid egress pattern/);
  });
});
