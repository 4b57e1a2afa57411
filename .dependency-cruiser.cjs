// dependency-cruiser: which folder of src/ may import which. Run: npx depcruise src --config .dependency-cruiser.cjs
// Only imports of modules inside src/ are restricted; Node built-ins and npm packages are not.
// Type-only imports count too (options.tsPreCompilationDeps).

/** The pipeline stages: each may use its own folder, core and ids, and nothing else in src. */
const STAGES = '(sink|queue|sources|chunking|embed|parse)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-only-core-and-ids',
      comment: 'A module under src/core/ may import only modules under src/core/ and src/ids/.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/(core|ids)/' },
    },
    {
      name: 'ids-imports-only-ids',
      comment: 'A module under src/ids/ may import only modules under src/ids/.',
      severity: 'error',
      from: { path: '^src/ids/' },
      to: { path: '^src/', pathNot: '^src/ids/' },
    },
    {
      name: 'config-imports-only-config-core-ids',
      comment: 'A module under src/config/ may import only modules under src/config/, src/core/ and src/ids/.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: '^src/(config|core|ids)/' },
    },
    {
      name: 'stage-imports-only-itself-core-ids',
      comment:
        'A module of a stage (src/sink/, src/queue/, src/sources/, src/chunking/, src/embed/, src/parse/) may import only modules ' +
        'of its own top folder (src/sink/lancedb/x.ts may import anything under src/sink/), src/core/ and src/ids/: ' +
        'not another stage, not src/config/, src/app/ or src/cli/, nor a file at the root of src/.',
      severity: 'error',
      // $1 in `to` is the stage folder that `from` matched.
      from: { path: `^src/${STAGES}/` },
      to: { path: '^src/', pathNot: '^src/($1|core|ids)/' },
    },
    {
      name: 'app-does-not-import-cli',
      comment: 'A module under src/app/ may import anything in src/ except the CLI (src/cli/, and the old src/cli.ts).',
      severity: 'error',
      from: { path: '^src/app/' },
      to: { path: '^src/cli(/|\\.ts$)' },
    },
    {
      name: 'app-does-not-import-front-ends',
      comment: 'A module under src/app/ may not import the servers (src/serve/, src/mcp/): they are front ends of the app, as the CLI is.',
      severity: 'error',
      from: { path: '^src/app/' },
      to: { path: '^src/(serve|mcp)/' },
    },
    {
      name: 'servers-import-only-app-index-config-core-ids',
      comment:
        'A module under src/serve/ or src/mcp/ may import only its own folder, src/config/, src/core/, src/ids/ and of the ' +
        'app layer only its entry point src/app/index.ts (as src/cli/ does).',
      severity: 'error',
      from: { path: '^src/(serve|mcp)/' },
      to: { path: '^src/', pathNot: '^src/($1|config|core|ids)/|^src/app/index\\.ts$' },
    },
    {
      name: 'cli-imports-only-app-index-config-core-ids',
      comment:
        'A module under src/cli/ may import only modules under src/cli/, src/config/, src/core/ and src/ids/, and of the ' +
        'app layer only its entry point src/app/index.ts (cli -> app -> everything else).',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/', pathNot: '^src/(cli|config|core|ids)/|^src/(app|serve|mcp)/index\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'No module in src/ may depend on itself through a chain of imports (type-only imports included).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment:
        'Every import must resolve to a file, a Node built-in or an installed package (a moved or deleted module, a missing dependency).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|test/fixtures|bench/peer)/' },
    // Count `import type` and other imports that vanish when compiled.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
