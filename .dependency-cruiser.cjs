// Layering: the arrows point inward. The pure core (config, model, features, render, trace, lib)
// never reaches the layers that touch a system (lab, apply, targets) or the CLI; the lab and
// apply never reach the CLI. `npm run depcheck` (and the unit tier) enforce it.
const core = '^src/(config|model|features|render|trace|lib|pipeline\\.ts)';
module.exports = {
  forbidden: [
    {
      name: 'core-stays-pure',
      comment: 'load → verify → model → render → trace are pure: they must not import the lab, apply, targets or the CLI',
      severity: 'error',
      from: { path: core },
      to: { path: '^src/(lab|apply|targets|cli)/' },
    },
    {
      name: 'edges-below-cli',
      comment: 'lab, apply and targets are libraries the CLI calls, never the other way round',
      severity: 'error',
      from: { path: '^src/(lab|apply|targets)/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'no-circular-across-layers',
      severity: 'error',
      from: { path: '^src/(apply|targets)/' },
      to: { path: '^src/lab/' },
      comment: 'apply and targets must not depend on the lab (the lab is a test bed that uses them)',
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js'] },
  },
};
