import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { InputError } from '@moxi/kernels';

/** One image of a data set: its path relative to the data set (absolute where a CSV gives it so) and its class index. */
export interface DataSetEntry {
  file: string;
  label: number;
}

export interface DataSet {
  /** The folder image paths are relative to. */
  root: string;
  entries: DataSetEntry[];
  /** How class indices were found, for the log. */
  labelSource: string;
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;

/**
 * Lists an ImageFolder (one subfolder per class, images anywhere below it) or a CSV with
 * the columns file,label (relative paths relative to the CSV's folder, absolute ones as they
 * are; label a class index or one of
 * the model's label names). A folder's class index is the model's own label index where
 * every folder name is one of the model's labels, else the folder's rank in sorted order.
 */
export function readDataSet(path: string, numClasses: number, labelNames: readonly string[] | undefined): DataSet {
  if (!existsSync(path)) throw new InputError(path, 'no such file or folder (give an ImageFolder with one subfolder per class, or a CSV file,label)');
  if (statSync(path).isFile()) return readCsv(path, numClasses, labelNames);
  return readImageFolder(path, numClasses, labelNames);
}

function readImageFolder(root: string, numClasses: number, labelNames: readonly string[] | undefined): DataSet {
  const classes = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
  if (classes.length === 0) {
    throw new InputError(root, 'has no class subfolders (an ImageFolder holds one subfolder of images per class; or give a CSV file,label)');
  }
  const { index, source } = classIndices(root, classes, numClasses, labelNames);
  const entries: DataSetEntry[] = [];
  for (const name of classes) {
    for (const file of imagesBelow(join(root, name))) entries.push({ file: relative(root, file), label: index.get(name)! });
  }
  if (entries.length === 0) throw new InputError(root, 'has class subfolders but no .png / .jpg images in them');
  return { root, entries, labelSource: source };
}

function classIndices(root: string, classes: string[], numClasses: number, labelNames: readonly string[] | undefined): { index: Map<string, number>; source: string } {
  const byName = new Map(labelNames?.map((l, i) => [l, i]));
  const matching = classes.filter((c) => byName.has(c));
  if (labelNames && matching.length === classes.length) {
    return { index: new Map(classes.map((c) => [c, byName.get(c)!])), source: "folder names matched to the model's labels" };
  }
  if (matching.length > 0) {
    const missing = classes.filter((c) => !byName.has(c));
    throw new InputError(root, `folders ${list(missing)} are not among the model's labels while ${list(matching)} are; rename them to label names, or give a CSV file,label`);
  }
  if (classes.length > numClasses) {
    throw new InputError(root, `has ${classes.length} class folders but the model has ${numClasses} classes; give a CSV file,label to map them`);
  }
  return { index: new Map(classes.map((c, i) => [c, i])), source: 'sorted folder order (folder k is class k)' };
}

function list(names: string[]): string {
  const shown = names.slice(0, 3).map((n) => `"${n}"`).join(', ');
  return names.length > 3 ? `${shown} and ${names.length - 3} more` : shown;
}

function imagesBelow(folder: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    // Hidden entries are tools' leftovers (.ipynb_checkpoints, macOS ._x.png), never images.
    if (d.name.startsWith('.')) continue;
    const path = join(folder, d.name);
    if (d.isDirectory()) out.push(...imagesBelow(path));
    else if (IMAGE_FILE.test(d.name)) out.push(path);
  }
  return out;
}

function readCsv(csv: string, numClasses: number, labelNames: readonly string[] | undefined): DataSet {
  const lines = readFileSync(csv, 'utf8').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const unknown = header.filter((h) => h !== 'file' && h !== 'label');
  if (unknown.length > 0) throw new InputError(csv, `unknown column ${list(unknown)}: the header must be exactly file,label`);
  if (header.length !== 2 || header[0] !== 'file' || header[1] !== 'label') throw new InputError(csv, 'the header must be exactly file,label');
  const root = dirname(csv);
  const byName = new Map(labelNames?.map((l, i) => [l, i]));
  const entries = lines.slice(1).map((line, k): DataSetEntry => {
    const at = `${csv} line ${k + 2}`;
    const comma = line.lastIndexOf(',');
    const file = line.slice(0, comma).trim();
    const label = line.slice(comma + 1).trim();
    if (comma < 0 || file === '' || label === '') throw new InputError(at, `"${line}" is not file,label`);
    const index = /^\d+$/.test(label) ? Number(label) : byName.get(label);
    if (index === undefined) throw new InputError(at, `label "${label}" is neither a class index nor one of the model's label names`);
    if (index >= numClasses) throw new InputError(at, `label ${index} is outside the model's classes (0..${numClasses - 1})`);
    // Relative paths are relative to the CSV's folder (wherever moxi runs); absolute ones stay.
    if (!existsSync(resolve(root, file))) throw new InputError(at, `${resolve(root, file)} does not exist${isAbsolute(file) ? '' : ` (relative paths are relative to the CSV's folder, ${resolve(root)})`}`);
    return { file, label: index };
  });
  if (entries.length === 0) throw new InputError(csv, 'lists no images (expected a header file,label and one line per image)');
  return { root, entries, labelSource: 'the CSV' };
}

/** Where an entry's image is: its path resolved against the data set's folder (an absolute path stays). */
export function entryPath(dataSet: DataSet, entry: DataSetEntry): string {
  return resolve(dataSet.root, entry.file);
}
