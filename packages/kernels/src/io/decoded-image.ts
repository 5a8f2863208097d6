/** Row-major, 3 interleaved channels (R, G, B), one byte each. */
export interface DecodedImage {
  width: number;
  height: number;
  data: Uint8Array;
}
