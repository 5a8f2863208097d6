import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { explainOptionsMarkdown } from '../src/explain-options-doc.ts';

const DOC = new URL('../../../docs/options.md', import.meta.url);

describe('docs/options.md', () => {
  it('is the option table as the code has it (MOXI_UPDATE_DOCS=1 rewrites it)', () => {
    if (process.env.MOXI_UPDATE_DOCS === '1') writeFileSync(DOC, explainOptionsMarkdown());
    expect(readFileSync(DOC, 'utf8')).toBe(explainOptionsMarkdown());
    // A page that reads the table, not one that merely exists: a default the code uses.
    expect(readFileSync(DOC, 'utf8')).toContain('| `stop` | `--stop <rule>` | moxi-insertion and moxi-deletion | `correct`, `full` | `correct` |');
  });
});
