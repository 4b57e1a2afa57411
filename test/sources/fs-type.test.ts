import { describe, expect, it } from 'vitest';
import { DEFAULT_POLL_MS } from '../../src/config/index.js';
import { filesystemType, unreliableFilesystem, watchMode, watchModeOf } from '../../src/sources/fs-type.js';
import { tempDir } from '../helpers.js';

describe('unreliableFilesystem', () => {
  it.each([
    [0x6969, 'nfs'],
    [0x517b, 'smb'],
    [0xff534d42, 'cifs'],
    [0xfe534d42, 'smb2'],
    [0x01021997, '9p'],
    [0x65735546, 'fuse'],
    [0x00c36400, 'ceph'],
    [0x5346414f, 'afs'],
    [0x6b414653, 'afs'],
    [0x6a656a63, "Docker Desktop's host share (fakeowner)"],
  ])('maps %d to %s', (magic, name) => {
    expect(unreliableFilesystem(magic)).toBe(name);
    expect(unreliableFilesystem(BigInt(magic))).toBe(name);
  });

  it('takes a sign-extended 32-bit f_type as the same number', () => {
    expect(unreliableFilesystem(0xff534d42 - 2 ** 32)).toBe('cifs');
    expect(unreliableFilesystem(BigInt.asUintN(64, BigInt(0xfe534d42 - 2 ** 32)))).toBe('smb2');
  });

  it.each([
    ['ext4', 0xef53],
    ['xfs', 0x58465342],
    ['btrfs', 0x9123683e],
    ['tmpfs', 0x01021994],
    ['overlay', 0x794c7630],
    ['zero', 0],
  ])('trusts %s', (_name, magic) => {
    expect(unreliableFilesystem(magic)).toBeUndefined();
  });
});

describe('watchMode', () => {
  it('auto: polls every default interval on an unreliable filesystem, and says why; watches by events elsewhere, silently', () => {
    expect(watchMode(undefined, 'nfs', DEFAULT_POLL_MS)).toEqual({
      pollMs: DEFAULT_POLL_MS,
      why: `the folder is on nfs, where file events are unreliable: watching by polling every ${DEFAULT_POLL_MS} ms (--poll 0 turns it off)`,
    });
    expect(watchMode(undefined, undefined, DEFAULT_POLL_MS)).toEqual({ pollMs: 0 });
  });

  it('off (0): events, also on an unreliable filesystem, where it says what that costs', () => {
    expect(watchMode(0, undefined, DEFAULT_POLL_MS)).toEqual({ pollMs: 0 });
    expect(watchMode(0, '9p', DEFAULT_POLL_MS)).toEqual({
      pollMs: 0,
      why: 'the folder is on 9p, where file events are unreliable, but polling is off (--poll 0): changes may wait for the next reconcile',
    });
  });

  it('on: polls at the configured interval on any filesystem', () => {
    expect(watchMode(250, undefined, DEFAULT_POLL_MS)).toEqual({ pollMs: 250, why: 'watching by polling every 250 ms' });
    expect(watchMode(5000, 'cifs', DEFAULT_POLL_MS)).toEqual({
      pollMs: 5000,
      why: 'watching by polling every 5000 ms (the folder is on cifs, where file events are unreliable)',
    });
  });
});

describe('filesystemType', () => {
  it("reads this machine's folder on Linux, and nothing elsewhere or for a folder that is not there", async () => {
    const dir = await tempDir();
    if (process.platform === 'linux') expect(typeof (await filesystemType(dir))).toBe('bigint');
    expect(await filesystemType(dir, 'darwin')).toBeUndefined();
    expect(await filesystemType(dir, 'win32')).toBeUndefined();
    expect(await filesystemType(`${dir}/missing`)).toBeUndefined();
  });

  it('decides for a real folder (the test machine is not on a network filesystem)', async () => {
    const dir = await tempDir();
    const type = await filesystemType(dir);
    const expected = type === undefined || unreliableFilesystem(type) === undefined ? 0 : DEFAULT_POLL_MS;
    expect((await watchModeOf(dir, undefined, DEFAULT_POLL_MS)).pollMs).toBe(expected);
    expect((await watchModeOf(dir, 300, DEFAULT_POLL_MS)).pollMs).toBe(300);
    expect((await watchModeOf(dir, 0, DEFAULT_POLL_MS)).pollMs).toBe(0);
  });
});
