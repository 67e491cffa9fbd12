// The official SDK core require()s 'uuid' (for v4 only) without declaring it as a
// dependency; this stand-in lets it bundle. It is smaller than the real package, which
// only flatters the SDK's figures.
export { randomUUID as v4 } from 'node:crypto';
