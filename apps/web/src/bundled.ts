/** The trained models the page ships with (the build copies `models/` next to it). */
export const BUNDLED_MODELS = [
  { id: 'setsum-vit', url: 'models/setsum-vit/', label: 'SET-SUM ViT: four 28 px tokens, one per digit (trained)' },
  { id: 'setsum-resnet18', url: 'models/setsum-resnet18/', label: 'SET-SUM ResNet-18, the paper\'s CNN (trained)' },
  { id: 'setsum-vit-patch7', url: 'models/setsum-vit-patch7/', label: 'SET-SUM ViT with 7 px tokens, 8x8 players, 4x4 per digit (trained)' },
  { id: 'tiny-vit', url: 'examples/tiny-vit/', label: 'Tiny Hugging Face ViT with random weights (a pipeline check, not a classifier)' },
] as const;

export interface GalleryImage {
  url: string;
  file: string;
  /** The sum the image shows (its class). */
  label: string;
  /** The four digits, row-major. */
  digits: string[];
}

/** The bundled SET-SUM test images and their labels (examples/setsum/labels.csv). */
export async function loadGallery(): Promise<GalleryImage[]> {
  const response = await fetch('examples/setsum/labels.csv');
  if (!response.ok) throw new Error(`examples/setsum/labels.csv could not be fetched (${response.status})`);
  const [header, ...rows] = (await response.text()).trim().split(/\r?\n/);
  const columns = header!.split(',');
  return rows.map((row) => {
    const cells = row.split(',');
    const get = (name: string) => cells[columns.indexOf(name)]!;
    return { url: `examples/setsum/${get('file')}`, file: get('file'), label: get('label'), digits: ['d0', 'd1', 'd2', 'd3'].map(get) };
  });
}
