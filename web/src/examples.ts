// The example queries `harmonia demo` prints (src/cli/commands/demo.ts), put in at build time by
// web/build.mjs, so the page and the terminal always show the same ones.

declare const __HARMONIA_EXAMPLES__: { title: string; sparql: string }[];

export const EXAMPLES: { title: string; sparql: string }[] = __HARMONIA_EXAMPLES__;
