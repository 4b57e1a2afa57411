import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BIN, type SinkKind, children } from '../children.js';
import { ROOT, TINY_MODEL, tempDir } from '../helpers.js';

const ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
const clients: Array<{ client: Client; stderr: () => string }> = [];

afterEach(async (ctx) => {
  for (const c of clients.splice(0)) {
    if (ctx.task.result?.state === 'fail') process.stderr.write(`--- mcp stderr ---\n${c.stderr().slice(-4000)}\n`);
    await c.client.close();
  }
});

/** A real `ragsync mcp` child, driven by the SDK's own client over stdio. */
async function connect(args: string[]): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', ...args],
    env: ENV,
    cwd: ROOT,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  const client = new Client({ name: 'ragsync-test', version: '1.0.0' });
  clients.push({ client, stderr: () => stderr });
  await client.connect(transport);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

function textOf(res: CallToolResult): string {
  return res.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

interface Hit {
  rank: number;
  path: string;
  id: string;
  docId: string;
  heading?: string;
  lines?: number[];
  page?: number;
  text: string;
  modality: string;
}

async function hits(client: Client, args: Record<string, unknown>): Promise<Hit[]> {
  const res = await call(client, 'search', args);
  expect(res.isError, textOf(res)).toBeFalsy();
  return (res.structuredContent as { hits: Hit[] }).hits;
}

describe.each<[SinkKind]>([['LanceDB'], ['Milvus Lite']])('ragsync mcp on %s', (kind) => {
  const { cli, setup } = children();

  it('lists search and status with their schemas; search finds the expected file first, as `search --json` does; status counts as `status --json`', async () => {
    const e = setup(kind, await tempDir(), undefined, 'local');
    const indexed = await cli(['index', 'examples/corpus', ...e.sink, ...e.model]);
    expect(indexed.code, indexed.stderr).toBe(0);
    const client = await connect([...e.sink, ...e.model]);

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['search', 'status']);
    const search = tools.find((t) => t.name === 'search')!;
    expect(search.inputSchema.required).toEqual(['query']);
    const props = search.inputSchema.properties as Record<
      string,
      { enum?: string[]; minimum?: number; maximum?: number; properties?: object }
    >;
    expect(props.mode!.enum).toEqual(['hybrid', 'keyword', 'dense']);
    expect([props.k!.minimum, props.k!.maximum]).toEqual([1, 50]);
    expect(Object.keys(props.filter!.properties!).sort()).toEqual(['doc', 'modality', 'path', 'source']);
    expect(search.outputSchema?.properties).toHaveProperty('hits');
    expect(tools.find((t) => t.name === 'status')!.outputSchema?.properties).toHaveProperty('sources');

    for (const mode of ['hybrid', 'keyword', 'dense']) {
      const query = 'how do I shape and proof the loaf';
      const got = await hits(client, { query, mode, k: 3 });
      expect(got[0]!.path, mode).toBe('sourdough-bread.md');
      const cliHits = JSON.parse((await cli(['search', query, '--mode', mode, '-k', '3', '--json', ...e.sink, ...e.model])).stdout);
      // The fields of `search --json` the tool returns, equal: the same hits, the same order, the same scores.
      const fields = ({ rank, id, docId, path, section, modality, heading, lines, page, title, text, score }: Record<string, unknown>) =>
        JSON.parse(JSON.stringify({ rank, id, docId, path, section, modality, heading, lines, page, title, text, score }));
      expect(got.map((h) => fields({ ...h }))).toEqual(cliHits.map(fields));
    }
    const res = await call(client, 'search', { query: 'shape the loaf basket', mode: 'keyword', k: 1 });
    expect(res.structuredContent).toMatchObject({ query: 'shape the loaf basket', mode: 'keyword' });
    const [bread] = (res.structuredContent as { hits: Hit[] }).hits;
    expect(bread).toMatchObject({ rank: 1, path: 'sourdough-bread.md', lines: [23, 25], heading: 'Proofing and baking' });
    expect(bread!.text).toContain('basket');
    expect(textOf(res)).toMatch(
      /^1 result for "shape the loaf basket" \(keyword\):\n\n1\. Proofing and baking — sourdough-bread\.md:23-25 /m,
    );
    const [pdf] = await hits(client, { query: 'purge the steam wand', mode: 'keyword', k: 1 });
    expect(pdf).toMatchObject({ path: 'espresso-guide.pdf', page: 2 });
    expect(pdf).not.toHaveProperty('lines');
    const images = await hits(client, { query: 'bread and coffee', k: 10, filter: { modality: 'image' } });
    expect(images.map((h) => [h.path, h.modality])).toEqual([['images/red-square.png', 'image']]);
    expect(await hits(client, { query: 'bread', filter: { path: 'x" or id != "' } })).toEqual([]);

    const status = await call(client, 'status');
    expect(status.isError).toBeFalsy();
    const expected = JSON.parse((await cli(['status', '--json', ...e.sink])).stdout);
    const got = status.structuredContent as {
      documents: number;
      chunks: number;
      indexed: boolean;
      model: { dim: number };
      sources: object[];
    };
    expect([got.documents, got.chunks, got.indexed]).toEqual([expected.docs, expected.chunks, true]);
    expect(got.model.dim).toBe(expected.fingerprint.dim);
    expect(got.sources).toEqual(
      expected.sources.map((s: Record<string, unknown>) => ({
        name: s.name,
        root: s.root,
        documents: s.documents,
        chunks: s.chunks,
        lastSyncAt: s.lastSyncAt,
      })),
    );
    expect(textOf(status)).toContain(`documents: ${expected.docs}, chunks: ${expected.chunks}`);
  });

  it('bad arguments are error results naming the field, and the server keeps serving', async () => {
    const e = setup(kind, await tempDir(), undefined, 'local');
    expect((await cli(['index', 'examples/corpus', ...e.sink, ...e.model])).code).toBe(0);
    const client = await connect([...e.sink, ...e.model]);
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ query: 'bread', k: 0 }, /\bk\b/],
      [{ query: 'bread', k: 51 }, /\bk\b/],
      [{ query: 'bread', mode: 'fuzzy' }, /mode/],
      [{}, /query/],
      [{ query: '   ' }, /query/],
      [{ query: 'bread', filter: { text: 'x' } }, /filter|text/],
      [{ query: 'bread', filter: { modality: 'video' } }, /modality/],
    ];
    for (const [args, field] of bad) {
      const res = await call(client, 'search', args);
      expect(res.isError, JSON.stringify(args)).toBe(true);
      expect(textOf(res), JSON.stringify(args)).toMatch(field);
    }
    const together = await Promise.all(['bread', 'espresso', 'solar panels', 'fsync'].map((query) => hits(client, { query, k: 1 })));
    expect(together.map(([h]) => h!.path)).toEqual([
      'sourdough-bread.md',
      'espresso-guide.pdf',
      'guides/solar-panels.md',
      'redis-persistence.md',
    ]);
  });
});

describe('ragsync mcp', () => {
  const { cli } = children();

  it('a store with no index yet: search is an error result saying so, status says so; indexing later makes search work', async () => {
    const store = await tempDir();
    const client = await connect(['--store', store, '--model-dir', TINY_MODEL]);
    const res = await call(client, 'search', { query: 'bread' });
    expect(res.isError).toBe(true);
    expect(textOf(res)).toMatch(/holds no index yet: run `ragsync index DIR` first/);
    const status = await call(client, 'status');
    expect(status.isError).toBeFalsy();
    expect(status.structuredContent).toMatchObject({ indexed: false, documents: 0, chunks: 0, model: null, sources: [] });
    expect(textOf(status)).toMatch(/holds no index yet/);
    expect((await cli(['index', 'examples/corpus', '--store', store, '--model-dir', TINY_MODEL])).code).toBe(0);
    expect((await hits(client, { query: 'how do I shape and proof the loaf' }))[0]!.path).toBe('sourdough-bread.md');
  });

  it('finds what another process indexes after the server started (a new file, an edit, a deletion)', async () => {
    const dir = await tempDir();
    const store = await tempDir();
    await cp(path.join(ROOT, 'examples/corpus'), dir, { recursive: true });
    const index = async () => expect((await cli(['index', dir, '--store', store, '--model-dir', TINY_MODEL])).code).toBe(0);
    await index();
    const client = await connect(['--store', store, '--model-dir', TINY_MODEL]);
    const paths = async (query: string) => (await hits(client, { query, mode: 'keyword' })).map((h) => h.path);
    expect(await paths('zebrafish')).toEqual([]);
    await writeFile(path.join(dir, 'new.md'), '# Aquarium\n\nThe zebrafish tank needs a heater.\n');
    await index();
    expect(await paths('zebrafish')).toEqual(['new.md']);
    await writeFile(path.join(dir, 'new.md'), '# Aquarium\n\nThe guppy tank needs a heater.\n');
    await index();
    expect(await paths('zebrafish')).toEqual([]);
    expect(await paths('guppy')).toEqual(['new.md']);
    await rm(path.join(dir, 'new.md'));
    await index();
    expect(await paths('guppy')).toEqual([]);
  });

  it('keeps the model loaded across calls: searches go on after its directory is removed', async () => {
    const store = await tempDir();
    const model = path.join(await tempDir(), 'model');
    await cp(TINY_MODEL, model, { recursive: true });
    expect((await cli(['index', 'examples/corpus', '--store', store, '--model-dir', model])).code).toBe(0);
    const client = await connect(['--store', store, '--model-dir', model]);
    const query = 'how do I shape and proof the loaf';
    expect((await hits(client, { query, mode: 'dense' }))[0]!.path).toBe('sourdough-bread.md');
    await rm(model, { recursive: true });
    expect((await hits(client, { query, mode: 'dense' }))[0]!.path).toBe('sourdough-bread.md');
    expect((await cli(['search', query, '--store', store, '--model-dir', model])).code).not.toBe(0);
  });

  it('writes only protocol messages to stdout, logs to stderr, and exits 0 when stdin closes or on SIGTERM', async () => {
    const store = await tempDir();
    for (const end of ['stdin', 'SIGTERM', 'SIGINT'] as const) {
      const child = spawn(process.execPath, [BIN, 'mcp', '--store', store, '--log-level', 'info'], { env: ENV, cwd: ROOT });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const exited = once(child, 'exit');
      const request = (id: number, method: string, params: object) =>
        child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
      request(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } });
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
      request(2, 'tools/call', { name: 'status', arguments: {} });
      while (!stdout.includes('"id":2')) await new Promise((r) => setTimeout(r, 50));
      if (end === 'stdin') child.stdin.end();
      else child.kill(end);
      const [code] = await exited;
      expect(code, `${end}: ${stderr}`).toBe(0);
      const messages = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { jsonrpc: string; id: number });
      expect(messages.map((m) => [m.jsonrpc, m.id])).toEqual([
        ['2.0', 1],
        ['2.0', 2],
      ]);
      expect(stderr).toContain('MCP server on stdio');
    }
  });
});
