import type { Command } from 'commander';

// Placeholder until the command is built; replaced by its own module.
export function registerConsul(_program: Command): void {}
