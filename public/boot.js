// Starts the wasm app. Kept in a file (not inline) so the page runs under
// `script-src 'self'`; trunk writes the hashed file names into data attributes.
const boot = document.querySelector("script[data-strata-boot]");
const { default: init } = await import(boot.dataset.js);
await init({ module_or_path: boot.dataset.wasm });
