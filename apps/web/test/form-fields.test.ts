import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXPLAIN_OPTION_NAMES, EXPLAIN_OPTIONS } from '@moxi/attrib';

// The form finds each option's field by the option's key as an element id (explain-form.ts):
// a key that is also another element's id would make the form read, show and hide that
// element instead (`steps` once hid the MoXI step-through panel).
const html = readFileSync(new URL('../index.html', import.meta.url), 'utf8');
const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!);

describe('the page has one field per explanation option', () => {
  it.each(EXPLAIN_OPTION_NAMES.map((name) => [name, EXPLAIN_OPTIONS[name].key]))('%s: exactly one element has id "%s", and it is a form field', (_, key) => {
    expect(ids.filter((id) => id === key)).toHaveLength(1);
    expect(html).toMatch(new RegExp(`<(input|select)[^>]*\\sid="${key}"`));
  });
});
