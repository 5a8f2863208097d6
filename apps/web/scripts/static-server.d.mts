import type { Server, ServerResponse } from 'node:http';

export function mountedFile(mounts: Record<string, string>, urlPath: string): string | undefined;
export function sendFile(res: ServerResponse, file: string | undefined): void;
export function serveFolders(mounts: Record<string, string>): Promise<{ url: string; server: Server }>;
