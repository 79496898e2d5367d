// The parse stage's public face: load a configuration (includes resolved),
// parse a string, format diagnostics, and give crossplane's payload.
export type { Arg, Comment, Diagnostic, Directive, ParsedConfig, ParsedFile, SourcePos, Statement } from './ast.js';
export { argCount, argValue, argValues } from './args.js';
export { loadConfig, parseText, type LoadOptions, type ParseTextOptions } from './loader.js';
export { formatDiagnostic, formatDiagnostics } from './diagnostic.js';
export { toCrossplanePayload, type CrossplanePayload, type CrossplaneStatement } from './crossplane.js';
export { toTokens, type Token } from './tokens.js';
export type { ConfigContext } from './context.js';
