import type { Server } from 'node:http';

export function serveFolders(mounts: Record<string, string>): Promise<{ url: string; server: Server }>;
