import { EXPLAIN_OPTION_NAMES, EXPLAIN_OPTIONS, optionDefault } from './explain-options.ts';

/**
 * The option table as the Markdown of docs/options.md: a test keeps that page equal to this,
 * so the documented defaults and choices are the ones the code uses.
 */
export function explainOptionsMarkdown(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const shown = (value: unknown) => (value === undefined ? '' : `\`${String(value)}\``);
  const rows = EXPLAIN_OPTION_NAMES.map((name) => {
    const o = EXPLAIN_OPTIONS[name];
    const flag = `\`--${o.key}${o.valueName ? ` <${o.valueName}>` : ''}\``;
    const values = o.choices ? o.choices.map((c) => `\`${c}\``).join(', ') : { integer: `whole number >= ${o.min ?? 0}`, fraction: 'number in [0, 1]', switch: 'on / off', class: 'index or label name', choice: '' }[o.kind];
    const explainDefault = shown(optionDefault(name)) || (o.defaultText ?? '');
    const evaluationDefault = o.evaluationDefault === undefined ? '' : shown(optionDefault(name, 'evaluation'));
    return `| \`${name}\` | ${flag} | ${cell(o.methods)} | ${cell(values)} | ${cell(explainDefault)} | ${evaluationDefault} | ${cell(o.help)} |`;
  });
  return [
    '# Explanation options',
    '',
    '<!-- Generated from packages/attrib/src/explain-options.ts; `MOXI_UPDATE_DOCS=1 pnpm --filter @moxi/attrib exec vitest run test/explain-options-doc.test.ts` rewrites it. -->',
    '',
    'Every option of an explanation, as `moxi explain` (and, where they apply, `moxi evaluate`,',
    '`moxi predict` and `moxi setsum evaluate`) and the browser page take it. The library',
    '(`ExplainSpec`) names it as in the first column; the CLI flag and the page field are the',
    'second. An option given to a method it does not apply to is refused, not ignored.',
    '',
    '| option | flag | applies to | values | default | evaluation default | what it does |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'The evaluation defaults follow the paper\'s protocol: its Shapley sampling baseline is the',
    'shared-size sampler of the official code with 16 samples per image.',
    '',
    'Rules between options (`validateExplainSpec`), the same in the CLI and the page:',
    '',
    '- `contrast` needs `target`, and is defined on log-odds only (another `reward` is refused);',
    '- `minConfidence` is part of `stop correct` and is refused with `stop full`;',
    '- `fromLayer` needs `maskMode attention` and must be one of the model\'s blocks;',
    '- `token` and `attention` masking need a ViT; `rollout` and `chefer` need a ViT and take no `grid`.',
    '',
  ].join('\n');
}
