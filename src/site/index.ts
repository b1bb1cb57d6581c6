export * from './schema.js';
export { loadSite, parseSite, driverFolders, SiteFileError, formatIssue, type SiteIssue, MAX_SITE_FILE_BYTES } from './load.js';
export { siteJsonSchema } from './json-schema.js';
export { renderSiteYaml, type RenderOptions } from './write.js';
export { askSite, type Prompter, type Choice, type AskOptions, GoBack, InitInterrupted, type Answer } from './init.js';
export { inquirerPrompter } from './init-prompter.js';
export { draftPathFor, loadDraft, saveDraft, removeDraft } from './init-tape.js';
export * from './site-json.js';
